import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { emitResult, isBenchResult, machineInfo, parseResults, RESULT_PREFIX, renderReport, type BenchRun } from './report.js';
import { memlockShimPrefix } from '../test/helpers/peers.js';

/**
 * `npm run bench [-- FILTER...] [--report[=FILE]] [--no-report]`: runs every `bench/*.bench.ts`,
 * each through its exported `main()` in a child process of its own (so one bench's memory,
 * crash or `process.exit` cannot touch the next one's figures), and writes BENCHMARKS.md from
 * what they printed and handed over (see bench/report.ts for the BENCH_RESULT format).
 *
 * A FILTER keeps the benchmarks whose file name contains it; a filtered run writes no report
 * unless `--report` asks for one, so a partial run never overwrites the full one. A bench that
 * fails or runs past BENCH_TIMEOUT_S (default 3600 s) is reported as such and the rest still
 * run; the exit code says one failed. Benchmarks print figures and never fail on time.
 */
const here = dirname(fileURLToPath(import.meta.url));
const CHILD_ENV = 'PILOTLIGHT_BENCH_CHILD';

if (process.env[CHILD_ENV]) await runChild(process.env[CHILD_ENV]);
else await runAll(process.argv.slice(2));

/** In the child: import one bench, run its main(), hand on what it returns. */
async function runChild(file: string): Promise<void> {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { main?: () => unknown };
  if (typeof mod.main !== 'function') throw new Error(`${file} exports no main()`);
  const result = await mod.main();
  if (isBenchResult(result)) emitResult(result);
}

async function runAll(args: string[]): Promise<void> {
  const filters = args.filter((a) => !a.startsWith('-'));
  const reportArg = args.find((a) => a === '--report' || a.startsWith('--report='));
  const all = readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort();
  const selected = filters.length === 0 ? all : all.filter((f) => filters.some((x) => f.includes(x)));
  if (selected.length === 0) {
    console.error(`no benchmark matches ${filters.map((f) => JSON.stringify(f)).join(', ')} (have: ${all.join(', ') || 'none'})`);
    process.exit(2);
  }
  const writeReport = !args.includes('--no-report') && (filters.length === 0 || reportArg !== undefined);
  const reportPath = reportArg?.includes('=') ? resolve(reportArg.slice('--report='.length)) : join(here, '..', 'BENCHMARKS.md');
  const timeoutS = Number(process.env.BENCH_TIMEOUT_S ?? 3600);

  const machine = machineInfo();
  const date = new Date();
  const runs: BenchRun[] = [];
  for (const file of selected) {
    const name = file.replace(/\.bench\.ts$/, '');
    console.log(`\n=== ${name} ${'='.repeat(Math.max(3, 70 - name.length))}`);
    const run = await runOne(file, name, timeoutS);
    runs.push(run);
    if (run.status === 'ok') console.log(`--- ${name}: done in ${run.seconds.toFixed(1)} s`);
    else console.error(`--- ${name}: ${run.status.toUpperCase()} after ${run.seconds.toFixed(1)} s\n${run.error ?? ''}`);
  }
  machine.loadEnd = loadavg()[0];

  const failed = runs.filter((r) => r.status !== 'ok').map((r) => r.name);
  console.log(`\n${runs.length - failed.length}/${runs.length} benchmarks ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
  if (writeReport) {
    writeFileSync(reportPath, renderReport(runs, machine, date));
    console.log(`report written to ${reportPath}`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

/** Runs one bench in a child node (same loader flags), echoing its output as it comes. */
function runOne(file: string, name: string, timeoutS: number): Promise<BenchRun> {
  const started = performance.now();
  return new Promise((done) => {
    // Under the memlock shim where the eBPF profiler needs it (the stacks bench runs it in-process).
    const [cmd, ...args] = [...memlockShimPrefix(), process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)];
    const child = spawn(cmd, args, {
      env: { ...process.env, [CHILD_ENV]: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith(RESULT_PREFIX)) console.log(`(result handed to the report: ${line.length} bytes)`);
        else console.log(line);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      stderr = (stderr + chunk).slice(-4000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial) lines.push(partial);
      const seconds = (performance.now() - started) / 1000;
      const output = lines.filter((l) => !l.startsWith(RESULT_PREFIX)).join('\n');
      const results = parseResults(lines);
      if (timedOut) {
        done({ name, status: 'timeout', seconds, results, output, error: `stopped after BENCH_TIMEOUT_S = ${timeoutS} s\n${tail(stderr)}` });
      } else if (code !== 0) {
        done({ name, status: 'failed', seconds, results, output, error: `exit ${code ?? `signal ${signal}`}\n${tail(stderr)}` });
      } else {
        done({ name, status: 'ok', seconds, results, output });
      }
    });
  });
}

function tail(text: string, n = 25): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
