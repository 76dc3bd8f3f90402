import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';

/**
 * How benchmarks hand figures to BENCHMARKS.md.
 *
 * `npm run bench` (bench/run-all.ts) runs each `bench/*.bench.ts` in its own child process and
 * collects, from the child's stdout, every line of the form
 *
 *     BENCH_RESULT {"title": "...", "figures": [...], "notes": [...]}
 *
 * A bench emits one by returning a BenchResult from its `main()` (run-all prints it for it), or
 * by calling `emitResult()` itself (several calls are fine; standalone runs print them too).
 * A bench that hands over nothing still gets its printed output in the report, verbatim.
 * Every figure should carry the baseline measured in the same run, so the report can say
 * "N× the baseline" without comparing numbers from different machines or days.
 */

export interface BenchFigure {
  /** What was measured, e.g. "aggregateEncoded, 2 MB fleet request". */
  name: string;
  value: number;
  /** e.g. "ms", "MB/s", "inputs/s", "MiB". */
  unit: string;
  /** Which way is good; sets how the ratio to the baseline reads. */
  better?: 'higher' | 'lower';
  /** The same quantity for the plain way of doing it, measured in the same run. */
  baseline?: { name: string; value: number };
  note?: string;
}

export interface BenchResult {
  title?: string;
  figures: BenchFigure[];
  /** Free text under the table: counts, caveats, what the figures mean. */
  notes?: string[];
}

export const RESULT_PREFIX = 'BENCH_RESULT ';

export function emitResult(result: BenchResult): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

export function isBenchResult(x: unknown): x is BenchResult {
  return x !== null && typeof x === 'object' && Array.isArray((x as BenchResult).figures);
}

/** The BENCH_RESULT lines of a bench's output; malformed ones are reported as notes. */
export function parseResults(lines: readonly string[]): BenchResult[] {
  const out: BenchResult[] = [];
  for (const line of lines) {
    if (!line.startsWith(RESULT_PREFIX)) continue;
    try {
      const r: unknown = JSON.parse(line.slice(RESULT_PREFIX.length));
      if (isBenchResult(r)) out.push(r);
      else out.push({ figures: [], notes: ['a BENCH_RESULT line without a figures array was ignored'] });
    } catch {
      out.push({ figures: [], notes: ['a BENCH_RESULT line that is not JSON was ignored'] });
    }
  }
  return out;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  /** 1-minute load average when the run started and ended: how busy the machine was. */
  loadStart: number;
  loadEnd?: number;
}

export function machineInfo(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() || 'unknown',
    cores: c.length,
    memoryGiB: totalmem() / 2 ** 30,
    os: `${osType()} ${release()}`,
    node: process.version,
    loadStart: loadavg()[0],
  };
}

export interface BenchRun {
  name: string;
  status: 'ok' | 'failed' | 'timeout';
  seconds: number;
  results: BenchResult[];
  /** The bench's stdout without BENCH_RESULT lines. */
  output: string;
  /** Why it failed (exit code, signal, last lines of stderr). */
  error?: string;
}

/** BENCHMARKS.md: the machine and date, a summary, then each bench's figures and output. */
export function renderReport(runs: readonly BenchRun[], machine: Machine, date: Date): string {
  const md: string[] = [];
  md.push('# Benchmarks', '');
  md.push(`Written by \`npm run bench\` on ${date.toISOString().replace(/\.\d+Z$/, 'Z')}. Do not edit by hand: run it again.`, '');
  md.push('| machine | |', '|---|---|');
  md.push(`| CPU | ${esc(machine.cpu)} × ${machine.cores} |`);
  md.push(`| memory | ${machine.memoryGiB.toFixed(1)} GiB |`);
  md.push(`| OS | ${esc(machine.os)} |`);
  md.push(`| Node.js | ${machine.node} |`);
  md.push(
    `| load average (1 min) | ${machine.loadStart.toFixed(2)} at start${machine.loadEnd === undefined ? '' : `, ${machine.loadEnd.toFixed(2)} at end`} |`,
  );
  md.push('');
  if (machine.loadStart > machine.cores || (machine.loadEnd ?? 0) > machine.cores) {
    md.push(
      `> The machine was busy (load above its ${machine.cores} cores): absolute figures are noisy; ratios to a baseline measured in the same run hold better.`,
      '',
    );
  }
  md.push('Each figure is shown with its baseline, measured in the same run on the same machine; the ratio reads as "times better than the baseline".', '');
  md.push('| benchmark | status | time | figures |', '|---|---|---:|---:|');
  for (const r of runs) {
    const n = r.results.reduce((s, x) => s + x.figures.length, 0);
    md.push(`| [${r.name}](#${anchor(r.name)}) | ${r.status === 'ok' ? 'ok' : `**${r.status}**`} | ${r.seconds.toFixed(1)} s | ${n || '(output only)'} |`);
  }
  md.push('');
  for (const r of runs) {
    md.push(`## ${r.name}`, '');
    md.push(`\`bench/${r.name}.bench.ts\` — ${r.status}, ${r.seconds.toFixed(1)} s.`, '');
    if (r.error) md.push('```text', r.error.trimEnd(), '```', '');
    for (const res of r.results) {
      if (res.title) md.push(`### ${esc(res.title)}`, '');
      if (res.figures.length > 0) {
        md.push('| figure | value | baseline | baseline value | vs baseline |', '|---|---:|---|---:|---:|');
        for (const f of res.figures) {
          const base = f.baseline;
          md.push(
            `| ${esc(f.name)}${f.note ? ` (${esc(f.note)})` : ''} | ${num(f.value)} ${esc(f.unit)} | ${base ? esc(base.name) : '—'} | ${base ? `${num(base.value)} ${esc(f.unit)}` : ''} | ${ratio(f)} |`,
          );
        }
        md.push('');
      }
      for (const note of res.notes ?? []) md.push(`- ${esc(note)}`);
      if (res.notes?.length) md.push('');
    }
    if (r.output.trim()) {
      md.push('<details><summary>output</summary>', '', '```text', r.output.replace(/```/g, "'''").trimEnd(), '```', '', '</details>', '');
    }
  }
  return md.join('\n');
}

/** How many times better than the baseline (by `better`; default: a smaller value is better). */
export function ratio(f: BenchFigure): string {
  const b = f.baseline?.value;
  if (b === undefined || !Number.isFinite(b) || !Number.isFinite(f.value) || f.value === 0 || b === 0) return '';
  const r = f.better === 'higher' ? f.value / b : b / f.value;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}×`;
}

function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return Number(n.toPrecision(3)).toString();
}

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function anchor(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}
