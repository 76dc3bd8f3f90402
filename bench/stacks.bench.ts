import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { EbpfProfilerSampler } from '../src/node/ebpf-profiler/sampler.js';
import { NodeSampler } from '../src/node/sampler.js';
import { foldedStacks } from '../src/profile/folded.js';
import { buildCLeafBurner, buildGoLeafBurner, goBinary, hasGcc } from '../test/burners/build.js';
import { buildFivePrograms, chainShare, FIVE_LANGS, type FiveLang } from '../test/burners/five.js';
import { profilesByWorkload } from '../test/helpers/ebpf.js';
import { ebpfProfilerBinary, rerunUnderMemlockShim } from '../test/helpers/peers.js';
import { table } from './measure.js';
import type { BenchFigure, BenchResult } from './report.js';

/**
 * How whole the stacks are: both samplers side by side, in one run, on the same busy
 * machine, sampling the same programs. The programs are the five of test/burners/five.ts
 * (Python 3.11, Java, Node.js, Go and C built -O2 without frame
 * pointers, each burning in outer → middle → hot, run with NO profiling flags, each under its
 * own service name) and the frameless-leaf burners (test/burners/leaf.c at -O2 WITH frame
 * pointers, test/burners/leaf.go), whose hot leaf has no frame of its own.
 *
 *   node --import tsx bench/stacks.bench.ts [--seconds 20] [--hz 20] [--warmup 5] [--nice 0] [--stacks N]
 *   STACKS_BENCH_SECONDS=10 npm run bench -- stacks
 *
 * --nice N: the programs' nice value (default 0: they compete with the machine's other work as
 *   any service would; a higher value leaves fewer samples). --stacks N: also print each
 *   program's N heaviest stacks per sampler, root first.
 *
 * The samplers: bpftrace (NodeSampler, src/node/sampler.ts: frame-pointer walks in the kernel,
 * the leaf's caller read at the stack pointer) and the OpenTelemetry eBPF profiler
 * (EbpfProfilerSampler, src/node/ebpf-profiler/sampler.ts, what `pilotlight node --sampler
 * ebpf-profiler` runs: .eh_frame and interpreter unwinding), found as the tests find it
 * (test/helpers/peers.ts ebpfProfilerBinary). Both run at once, each with a pid filter for the
 * programs and a collecting consumer in this process, for the same --seconds after the
 * programs' --warmup (JIT compilation) and after both samplers have started. One that cannot
 * run here says why in one line and the other still runs.
 *
 * Per sampler, per program:
 *  - samples: all samples of the program's workload (every thread);
 *  - hot: samples through the hot function; chain %: of those, the share whose two callers
 *    sit right above it, in order (five.ts chainShare, what the test asserts);
 *  - entry %: the share of all samples whose root frame (the outermost, first in the folded
 *    form) is where that runtime's threads start, i.e. the walk reached the bottom of the stack:
 *      C, the C leaf burner: `_start`, `__libc_start_main`, `__libc_start_call_main` or `main`
 *        (single-threaded; glibc is built without frame pointers, so a frame-pointer walk
 *        that reaches main and goes no further counts);
 *      Go, the Go leaf burner: `runtime.goexit` (goroutines), `runtime.main`, `runtime.mstart`
 *        (threads of the runtime), `runtime.rt0_go`, `_rt0_amd64_linux` (names with an
 *        `.abi0` suffix alike);
 *      Python, Java, Node.js: the main thread's `_start`, `__libc_start_main`,
 *        `__libc_start_call_main` or `main`, and for the runtime's other threads (the JVM's
 *        Java main thread is not the process's first thread; JIT, GC, V8 platform and libuv
 *        workers) glibc's thread start: `start_thread`, `clone`, `clone3` (`__`-prefixed and
 *        `@GLIBC_…`-versioned names alike);
 *  - unnamed leaf %: the share of samples whose leaf frame has no name (`binary+0x…`, JIT code
 *    as `[anon]+0x…`, or `0x…` outside any mapping, as the UI shows it).
 * Under each table, the commonest roots that are not an entry, per program below 95 %.
 * The sampler's own counters follow: leafCallers (samples whose frameless leaf got its caller
 * back; bpftrace only), and its symbolizer's invalidFrames (return addresses in no executable
 * mapping, left out) and unnamedFrames (distinct addresses with no name).
 *
 * Needs root; bpftrace for the one, CAP_SYS_RESOURCE (or an unlimited memlock limit) and the
 * profiler built by `npm run setup` for the other. Figures only, never pass/fail.
 */

interface Options {
  seconds: number;
  hz: number;
  warmupSeconds: number;
  nice: number;
  /** Heaviest folded stacks printed per program and sampler. */
  stacks: number;
}

function options(argv: string[]): Options {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  };
  return {
    seconds: Number(flag('seconds') ?? process.env.STACKS_BENCH_SECONDS ?? 20),
    hz: Number(flag('hz') ?? process.env.STACKS_BENCH_HZ ?? 20),
    warmupSeconds: Number(flag('warmup') ?? process.env.STACKS_BENCH_WARMUP ?? 5),
    nice: Number(flag('nice') ?? process.env.STACKS_BENCH_NICE ?? 0),
    stacks: Number(flag('stacks') ?? process.env.STACKS_BENCH_STACKS ?? 0),
  };
}

type Runtime = FiveLang;

/** One program under measurement. */
interface Program {
  name: string;
  runtime: Runtime;
  service: string;
  cmd: string;
  args: string[];
  chain: [string, string, string];
  child?: ChildProcess;
}

const MAIN_ENTRY = ['_start', '__libc_start_main', '__libc_start_call_main', 'main'];
const THREAD_ENTRY = ['start_thread', 'clone', 'clone3'];
const GO_ENTRY = ['runtime.goexit', 'runtime.main', 'runtime.mstart', 'runtime.rt0_go', '_rt0_amd64_linux', '_rt0_amd64'];

/** Root frames that mean the walk reached the bottom of a thread's stack, per runtime (see the file comment). */
const ENTRY: Record<Runtime, ReadonlySet<string>> = {
  c: new Set(MAIN_ENTRY),
  go: new Set(GO_ENTRY),
  python: new Set([...MAIN_ENTRY, ...THREAD_ENTRY]),
  java: new Set([...MAIN_ENTRY, ...THREAD_ENTRY]),
  node: new Set([...MAIN_ENTRY, ...THREAD_ENTRY]),
};

function isEntry(runtime: Runtime, root: string): boolean {
  // Go's assembly functions carry an ABI suffix in the symbol table; glibc's debug names may be `__`-prefixed.
  const name = root.replace(/@.*$/, '').replace(/\.abi0$/, '');
  return ENTRY[runtime].has(name) || ENTRY[runtime].has(name.replace(/^__(GI_)?_*/, ''));
}

/** A frame with no name, as the profile engine shows one: `binary+0xoffset`, or `0xaddress` outside any file. */
function isUnnamed(frame: string): boolean {
  return /\+0x[0-9a-f]+$/.test(frame) || /^0x[0-9a-f]+$/.test(frame);
}

interface Row {
  samples: number;
  hot: number;
  chained: number;
  entry: number;
  unnamedLeaf: number;
  /** Roots that are not an entry, with their samples. */
  otherRoots: Map<string, number>;
}

function measureFolded(p: Program, folded: string): Row {
  const row: Row = { samples: 0, hot: 0, chained: 0, entry: 0, unnamedLeaf: 0, otherRoots: new Map() };
  const share = chainShare(folded, p.chain);
  row.hot = share.hot;
  row.chained = share.chained;
  for (const line of folded.split('\n')) {
    if (line === '') continue;
    const sp = line.lastIndexOf(' ');
    const frames = line.slice(0, sp).split(';');
    const n = Number(line.slice(sp + 1));
    row.samples += n;
    if (isEntry(p.runtime, frames[0])) row.entry += n;
    else row.otherRoots.set(frames[0], (row.otherRoots.get(frames[0]) ?? 0) + n);
    if (isUnnamed(frames[frames.length - 1])) row.unnamedLeaf += n;
  }
  return row;
}

function heaviestStacks(folded: string, n: number): string[] {
  const lines = folded.split('\n').filter((l) => l !== '');
  const count = (l: string): number => Number(l.slice(l.lastIndexOf(' ') + 1));
  // Long C++ stacks are cut in the middle: the root and the leaf end are what this bench is about.
  const cut = (l: string): string => (l.length <= 300 ? l : `${l.slice(0, 100)} … ${l.slice(-190)}`);
  return lines
    .sort((a, b) => count(b) - count(a))
    .slice(0, n)
    .map(cut);
}

const pct = (n: number, of: number): string => (of === 0 ? '-' : `${((100 * n) / of).toFixed(1)}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A sampler under measurement: started alike, its requests kept while `measuring`. */
interface Run {
  name: string;
  requests: ExportProfilesServiceRequest[];
  sampler?: { start(): Promise<void>; stop(): Promise<void> };
  /** Its counters that matter here, read after it stopped. */
  statsLine?: () => string;
  /** Why it did not run. */
  why?: string;
  stopped?: boolean;
}

export async function main(argv = process.argv.slice(2)): Promise<BenchResult> {
  const o = options(argv);
  const log = pino({ level: process.env.STACKS_BENCH_LOG ?? 'silent' });
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'pl-stacks-'));
  // The programs run until this bench stops them; their own deadline only guards against a leak.
  const lifetime = o.warmupSeconds + o.seconds + 300;

  const programs: Program[] = buildFivePrograms(dir, tag, lifetime).map((p) => ({
    name: p.lang,
    runtime: p.lang,
    service: p.service,
    cmd: p.cmd,
    args: p.args,
    chain: p.chain,
  }));
  const built = new Set(programs.map((p) => p.runtime));
  const missing = FIVE_LANGS.filter((l) => !built.has(l));
  if (hasGcc()) {
    programs.push({
      name: 'leaf C -O2 +fp',
      runtime: 'c',
      service: `${tag}-leaf-c`,
      cmd: buildCLeafBurner(),
      args: [String(lifetime * 10)],
      chain: ['pl_leaf_outer', 'pl_leaf_middle', 'pl_leaf_hot'],
    });
  }
  const go = goBinary();
  if (go) {
    programs.push({
      name: 'leaf Go',
      runtime: 'go',
      service: `${tag}-leaf-go`,
      cmd: buildGoLeafBurner(go),
      args: [String(lifetime)],
      chain: ['main.gxOuter', 'main.gxMiddle', 'main.gxHot'],
    });
  }

  console.log(
    `stacks: ${programs.length} programs (${programs.map((p) => p.name).join(', ')}), run without profiling flags at nice ${o.nice}, sampled at ${o.hz} Hz for ${o.seconds} s by each sampler at once after ${o.warmupSeconds} s of warm-up`,
  );
  if (missing.length > 0) console.log(`not built (toolchain missing here): ${missing.join(', ')}`);

  const children: ChildProcess[] = [];
  const stopChildren = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', stopChildren);
  const runs: Run[] = [];
  try {
    for (const p of programs) {
      // `nice` execs the program: the pid is the program's, and every thread it starts inherits the nice value.
      const child = spawn('nice', ['-n', String(o.nice), p.cmd, ...p.args], { env: { ...process.env, OTEL_SERVICE_NAME: p.service }, stdio: 'ignore' });
      child.on('error', () => {});
      children.push(child);
      p.child = child;
    }
    const pids = children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
    await sleep(o.warmupSeconds * 1000);

    let measuring = false;
    const collect = (requests: ExportProfilesServiceRequest[]) => consumerOf((b) => void (measuring && requests.push(b.request)));
    const common = { hz: o.hz, intervalMs: 1000, pids, kubernetes: 'off' as const };

    const bpf: Run = { name: 'bpftrace', requests: [] };
    const bpfSampler = new NodeSampler(common, collect(bpf.requests), log);
    bpf.sampler = bpfSampler;
    bpf.statsLine = () => {
      const s = bpfSampler.stats();
      return `samples ${s.samples}, leafCallers ${s.leafCallers} (symbolizer: ${s.symbolizer.leafCallers} stacks, ${s.symbolizer.leafCallersRejected} stale words rejected), invalidFrames ${s.symbolizer.invalidFrames}, unnamedFrames ${s.symbolizer.unnamedFrames}, lostStacks ${s.bpftrace.lostStacks}, restarts ${s.bpftrace.restarts}`;
    };
    runs.push(bpf);

    const ebpf: Run = { name: 'eBPF profiler', requests: [] };
    const found = ebpfProfilerBinary();
    if (found.path) {
      const ebpfSampler = new EbpfProfilerSampler({ ...common, profiler: found.path }, collect(ebpf.requests), log);
      ebpf.sampler = ebpfSampler;
      ebpf.statsLine = () => {
        const s = ebpfSampler.stats();
        return `samples ${s.samples}, Go callers found skipped under a frameless leaf ${s.symbolizer.skippedCallers}, invalidFrames ${s.symbolizer.invalidFrames}, unnamedFrames ${s.symbolizer.unnamedFrames}, requests ${s.received} (${s.refused} refused), restarts ${s.profiler.restarts}`;
      };
    } else {
      ebpf.why = found.why;
    }
    runs.push(ebpf);

    const started = await Promise.allSettled(runs.map(async (r) => r.sampler?.start()));
    for (const [i, s] of started.entries()) {
      if (s.status === 'rejected') {
        runs[i].why = s.reason instanceof Error ? s.reason.message : String(s.reason);
        runs[i].sampler = undefined;
      }
    }
    const live = runs.filter((r) => r.sampler);
    for (const r of runs) if (r.why) console.log(`${r.name}: not run: ${r.why}`);
    if (live.length > 0) {
      measuring = true;
      await sleep(o.seconds * 1000);
      await Promise.all(live.map((r) => r.sampler!.stop()));
      measuring = false;
      for (const r of live) r.stopped = true;
    }

    const gone = programs.filter((p) => p.child!.exitCode !== null || p.child!.signalCode !== null);
    if (gone.length > 0)
      console.log(`exited before the end (figures cover less): ${gone.map((p) => `${p.name} (${p.child!.exitCode ?? p.child!.signalCode})`).join(', ')}`);

    const figures: BenchFigure[] = [];
    const notes: string[] = [];
    const rowsOf = new Map<string, Map<string, Row>>();
    for (const r of live) {
      const profiles = profilesByWorkload(r.requests);
      const rows = new Map<string, Row>();
      const heaviest: string[] = [];
      for (const p of programs) {
        const profile = profiles.get(`host/Service/${p.service}`);
        const folded = profile ? foldedStacks(profile.tree) : '';
        rows.set(p.name, measureFolded(p, folded));
        if (o.stacks > 0) heaviest.push(`  ${p.name}:`, ...heaviestStacks(folded, o.stacks).map((l) => `    ${l}`));
      }
      rowsOf.set(r.name, rows);
      console.log(`\n${r.name}, ${o.seconds} s at ${o.hz} Hz:`);
      console.log(
        table(
          ['program', 'samples', 'hot', 'chain %', 'entry %', 'unnamed leaf %'],
          programs.map((p) => {
            const x = rows.get(p.name)!;
            return [p.name, String(x.samples), String(x.hot), pct(x.chained, x.hot), pct(x.entry, x.samples), pct(x.unnamedLeaf, x.samples)];
          }),
        ),
      );
      for (const p of programs) {
        const x = rows.get(p.name)!;
        if (x.samples === 0 || x.entry >= 0.95 * x.samples) continue;
        const top = [...x.otherRoots].sort((a, b) => b[1] - a[1]).slice(0, 3);
        console.log(`  ${p.name}: roots not at the entry: ${top.map(([name, n]) => `${name} ${pct(n, x.samples)} %`).join(', ')}`);
      }
      if (heaviest.length > 0) console.log(`  heaviest stacks, root first:\n${heaviest.join('\n')}`);
      const stats = r.statsLine!();
      console.log(`  sampler: ${stats}`);
      notes.push(`${r.name}: ${stats}`);
    }
    for (const r of runs) if (r.why) notes.push(`${r.name} not run: ${r.why}`);

    // Figures for the report: each sampler's entry and chain shares, the other sampler's in the same run as the baseline.
    for (const [name, rows] of rowsOf) {
      const other = [...rowsOf].find(([n]) => n !== name);
      for (const p of programs) {
        const x = rows.get(p.name)!;
        const y = other?.[1].get(p.name);
        for (const [what, value, base] of [
          ['stacks reaching the entry', x.samples ? (100 * x.entry) / x.samples : NaN, y?.samples ? (100 * y.entry) / y.samples : NaN],
          ['hot samples with both callers', x.hot ? (100 * x.chained) / x.hot : NaN, y?.hot ? (100 * y.chained) / y.hot : NaN],
        ] as const) {
          if (!Number.isFinite(value)) continue;
          figures.push({
            name: `${name}: ${p.name}, ${what}`,
            value: Math.round(value * 10) / 10,
            unit: '%',
            better: 'higher',
            ...(other && Number.isFinite(base) ? { baseline: { name: other[0], value: Math.round(base * 10) / 10 } } : {}),
          });
        }
      }
    }

    console.log('\nchain % = of the samples through the hot function, those with both callers right above it, in order.');
    console.log(
      "entry % = of all the program's samples, those whose root frame is where its threads start (see the file comment, per runtime); goal ≥ 95 % on the five.",
    );
    console.log("unnamed leaf % = of all the program's samples, those whose leaf frame has no name (binary+0x… in the UI).");
    console.log('Both samplers ran at once on this shared 2-core machine: compare rows of one run.');
    return { title: `stacks: ${programs.length} programs, ${o.seconds} s at ${o.hz} Hz`, figures, notes };
  } finally {
    await Promise.allSettled(runs.filter((r) => !r.stopped).map(async (r) => r.sampler?.stop()));
    stopChildren();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href && !rerunUnderMemlockShim()) await main();
