import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import { PreflightError, preflight } from '../src/node/preflight.js';
import { buildCBurner } from '../test/burners/build.js';
import { ebpfProfilerBinary } from '../test/helpers/peers.js';
import { cpuSecondsOf } from '../test/helpers/processes.js';
import { table } from './measure.js';

/**
 * The node sampler's own cost, for each sampler (profiling.node.sampler: bpftrace and the
 * OpenTelemetry eBPF profiler, one after the other in one run): CPU time of `pilotlight node`
 * plus its sampler child (read from /proc/PID/stat) while both cores are busy with N burner
 * processes, at 20 Hz and 99 Hz. The sampler runs as the real command in a child process and exports through
 * the real exporter (OTLP/HTTP as by default, gzip) to a loopback receiver in this process, which counts the
 * samples and the bytes on the wire.
 *
 * The eBPF probe itself runs in the sampled processes' context and is charged to them, so the
 * burners' total throughput is also compared with a run without the sampler.
 *
 *   node --import tsx bench/sampler.bench.ts [--seconds 60] [--burners 100] [--hz 20,99] [--grpc-hz 20]
 *
 * --warmup N: seconds of each run before measuring (default twice --seconds, at most 120: see options()).
 * Runs sample only the burners (a kernel pid filter: the machine as if it ran nothing else);
 * --all-hz: rates also run sampling every process, other jobs' on this shared machine included.
 * --grpc-hz: rates also run with the gRPC transport, for a same-run comparison; "" for none.
 * --repeat N: each --hz rate runs N times and its median and range are printed (a single 60 s run
 *   on a shared machine is noisy; default 1).
 *   SAMPLER_BENCH_SECONDS=10 npm run bench -- sampler      (a quick run; the default is 60 s)
 *   npm run build && node --import tsx bench/sampler.bench.ts --built   (the compiled command, as the image runs it)
 *
 * The burners run at nice 19 by default (--burner-nice 0 to change): CPU time consumed does not
 * depend on priority, but at equal priority in one cgroup, 100 busy processes delay every
 * wake-up of the sampler and of this process's receiver so much that gRPC sends time out.
 *
 * --samplers bpftrace,ebpf-profiler: which samplers run (default both; the eBPF profiler's rows
 *   say why when it cannot run here). bpftrace filters the burners' pids in the kernel; the
 *   profiler unwinds every process and the agent keeps the burners' samples, so its "burners"
 *   rows carry the cost of whatever else runs on the machine (little, on a quiet one).
 *
 * Needs root and bpftrace; prints why and returns otherwise. Figures only, never pass/fail.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The compiled command (`npm run build`), as the image runs it. */
const BUILT_COMMAND = join(ROOT, 'dist', 'cli', 'node-command.js');

/**
 * `pilotlight node`, loading only its own command (not the whole CLI, so the figures do not
 * carry the other commands' modules, and other work in progress cannot break the run): the
 * TypeScript sources through tsx, or with --built the compiled JavaScript under plain node.
 */
function nodeMain(built: boolean): string {
  const command = pathToFileURL(built ? BUILT_COMMAND : join(ROOT, 'src', 'cli', 'node-command.ts')).href;
  return `const { nodeCommand } = await import(${JSON.stringify(command)});
try { await nodeCommand().parseAsync(process.argv.slice(1), { from: 'user' }); }
catch (err) { process.stderr.write('pilotlight: ' + (err instanceof Error ? err.message : String(err)) + '\\n'); process.exitCode = 1; }`;
}

interface Options {
  seconds: number;
  burners: number;
  rates: number[];
  /** Runs per --hz rate (median and range printed). */
  repeat: number;
  /** Rates run once more over OTLP/gRPC, as a same-run baseline for the default (HTTP). */
  grpcRates: number[];
  /** Rates run once more sampling every process on the machine (other jobs' too), not only the burners. */
  allRates: number[];
  warmupSeconds: number;
  /** Nice value of the burners (see the file comment). */
  burnerNice: number;
  /** Run the compiled command (dist/, `npm run build`) with plain node instead of tsx. */
  built: boolean;
  samplers: Sampler[];
}

type Sampler = 'bpftrace' | 'ebpf-profiler';

function options(argv: string[]): Options {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  };
  const seconds = Number(flag('seconds') ?? process.env.SAMPLER_BENCH_SECONDS ?? 60);
  return {
    seconds,
    burners: Number(flag('burners') ?? process.env.SAMPLER_BENCH_BURNERS ?? 100),
    rates: (flag('hz') ?? process.env.SAMPLER_BENCH_HZ ?? '20,99').split(',').filter(Boolean).map(Number),
    repeat: Math.max(1, Math.trunc(Number(flag('repeat') ?? process.env.SAMPLER_BENCH_REPEAT ?? 1))),
    allRates: (flag('all-hz') ?? process.env.SAMPLER_BENCH_ALL_HZ ?? '20').split(',').filter(Boolean).map(Number),
    grpcRates: (flag('grpc-hz') ?? process.env.SAMPLER_BENCH_GRPC_HZ ?? '20').split(',').filter(Boolean).map(Number),
    built: argv.includes('--built') || process.env.SAMPLER_BENCH_BUILT === '1',
    samplers: (flag('samplers') ?? process.env.SAMPLER_BENCH_SAMPLERS ?? 'bpftrace,ebpf-profiler')
      .split(',')
      .filter((x): x is Sampler => x === 'bpftrace' || x === 'ebpf-profiler'),
    burnerNice: Number(flag('burner-nice') ?? process.env.SAMPLER_BENCH_BURNER_NICE ?? 19),
    // Measure the steady state, after start-up. The sampler has one-off costs in its first one
    // to two minutes: a maps read, an ELF load and a workload resolve per new pid; the caches
    // filling (keys and dictionary entries are kept for 60 flushes), which grows the heap; V8's
    // memory reducer then running a few full GCs. Any of these inside a 60 s window shows in
    // its figure. The warm-up CPU is printed too.
    warmupSeconds: Number(flag('warmup') ?? Math.min(120, Math.max(2, seconds * 2))),
  };
}

const TICKS_PER_SECOND = 100; // USER_HZ: /proc/PID/stat times are in these on Linux

/** CPU seconds per thread name (threads of one name summed: V8 workers, libuv pool, …). */
function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '#');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND);
    } catch {
      // the thread ended
    }
  }
  return out;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function childrenOf(ppid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid)
        out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // gone
    }
  }
  return out;
}

const progress = (msg: string): void => void process.stderr.write(`[sampler bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts `n` burner processes for `seconds` (one launcher forks them all); resolves to their total iterations. */
function runBurners(bin: string, n: number, seconds: number, nice: number): { done: Promise<number>; child: ChildProcess } {
  const child = spawn('nice', ['-n', String(nice), bin, String(seconds), String(n)], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, OTEL_SERVICE_NAME: 'burner' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<number>((resolve) => {
    child.on('exit', () => resolve([...out.matchAll(/iterations (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0)));
  });
  return { done, child };
}

/** What the loopback gateway has received so far. */
interface Received {
  requests: number;
  samples: number;
}

function sampleCount(req: ExportProfilesServiceRequest): number {
  let n = 0;
  for (const rp of req.resourceProfiles)
    for (const sp of rp.scopeProfiles) for (const p of sp.profiles) for (const s of p.samples) n += Number(s.values[0] ?? 0n);
  return n;
}

async function receiverBytes(receiver: Receiver): Promise<number> {
  const metric = await receiver.registry.getSingleMetric('pilotlight_receiver_bytes_total')?.get();
  return (metric?.values ?? []).reduce((a, v) => a + v.value, 0);
}

interface RunFigures {
  hz: string;
  cpuPercent: number;
  nodeCpuPercent: number;
  /** The sampler child's (bpftrace's or the eBPF profiler's). */
  samplerCpuPercent: number;
  startCpuSeconds: number;
  /** CPU % of a core (agent + sampler) during the warm-up, after start-up. */
  warmupCpuPercent: number;
  rssMiB: number;
  samplerRssMiB: number;
  samplesPerSecond: number;
  bytesPerSecond: number;
  flushesPerSecond: number;
  throughput: string;
  /** CPU % of a core per thread of pilotlight node. */
  threads: string;
}

/** How a sampler is started: its flags, the executable that stands before node (the memlock shim, where needed), its child's name. */
interface SamplerRun {
  sampler: Sampler;
  args: string[];
  prefix: string[];
  comm: string;
}

/** Starts `pilotlight node`; resolves once it says it is running (its sampler started). */
async function startNode(args: string[], built: boolean, how: SamplerRun): Promise<{ child: ChildProcess; sampler: number; log: () => string }> {
  // SAMPLER_BENCH_NODE_FLAGS: extra Node.js flags for the sampler, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.SAMPLER_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const argv = [process.execPath, ...extra, ...(built ? [] : ['--import', 'tsx']), '--input-type=module', '-e', nodeMain(built), '--', ...how.args, ...args];
  const [cmd, ...rest] = [...how.prefix, ...argv];
  const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (log.includes('"msg":"node sampler running"')) {
        clearInterval(check);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(check);
        reject(new Error(`pilotlight node exited: ${log}`));
      }
    }, 50);
  });
  const sampler = childrenOf(child.pid!).find((c) => c.comm === how.comm);
  if (!sampler) throw new Error(`no ${how.comm} child found`);
  return { child, sampler: sampler.pid, log: () => log };
}

async function stopNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** What a run samples besides its flags: the burners only (a kernel pid filter), or every process. */
type Scope = 'burners' | 'all';

async function run(
  o: Options,
  label: string,
  nodeArgs: string[],
  how: SamplerRun,
  received: Received,
  receiver: Receiver,
  burner?: { bin: string; baseline: number; scope: Scope },
): Promise<RunFigures> {
  let burners: ReturnType<typeof runBurners> | undefined;
  if (burner?.scope === 'burners') {
    // The burners first, so their pids can be given to the sampler (at nice 19 they do not
    // slow bpftrace's start). Only they are sampled: the machine as if it ran nothing else.
    burners = runBurners(burner.bin, o.burners, o.seconds + o.warmupSeconds + 10, o.burnerNice);
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length < o.burners; i++) {
      await sleep(100);
      // `nice` execs the launcher, which forks the burners.
      pids = childrenOf(burners.child.pid!).map((c) => c.pid);
    }
    nodeArgs = [...nodeArgs, ...pids.flatMap((p) => ['--pid', String(p)])];
    progress(`${label}: ${pids.length} burners running; starting pilotlight node for them only`);
  } else progress(`${label}: starting pilotlight node`);
  // Otherwise started before the burners: compiling the program under 100 busy processes at equal priority takes minutes.
  const node = await startNode(nodeArgs, o.built, how);
  const startCpu = cpuSecondsOf(node.child.pid!) + cpuSecondsOf(node.sampler);
  try {
    if (burner && !burners) {
      // bpftrace loads the kernel symbol table at its first print: let that happen before the
      // cores are saturated (it is a start-up cost, not the steady state measured here).
      const first = received.requests;
      while (received.requests === first && node.child.exitCode === null) await sleep(50);
      progress(`${label}: running; starting ${o.burners} burners`);
      burners = runBurners(burner.bin, o.burners, o.seconds + o.warmupSeconds + 10, o.burnerNice);
    }
    // From here, not from start-up: an "all" run first waits for the sampler's first request.
    const w0 = { t: performance.now(), cpu: cpuSecondsOf(node.child.pid!) + cpuSecondsOf(node.sampler) };
    await sleep(o.warmupSeconds * 1000);
    const c0 = { node: cpuSecondsOf(node.child.pid!), bt: cpuSecondsOf(node.sampler), threads: threadCpuSeconds(node.child.pid!) };
    const warmupCpuPercent = (100 * (c0.node + c0.bt - w0.cpu)) / ((performance.now() - w0.t) / 1000);
    const r0 = { ...received, bytes: await receiverBytes(receiver) };
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const nodeCpu = cpuSecondsOf(node.child.pid!) - c0.node;
    const btCpu = cpuSecondsOf(node.sampler) - c0.bt;
    const threads = [...threadCpuSeconds(node.child.pid!)]
      .map(([name, secs]) => [name, (100 * (secs - (c0.threads.get(name) ?? 0))) / elapsed] as const)
      .filter(([, pct]) => pct > 0)
      .sort((a, b) => b[1] - a[1])
      .map(([name, pct]) => `${name} ${pct.toFixed(2)}`)
      .join(', ');
    const bytes = (await receiverBytes(receiver)) - r0.bytes;
    const figures: RunFigures = {
      hz: label,
      cpuPercent: (100 * (nodeCpu + btCpu)) / elapsed,
      nodeCpuPercent: (100 * nodeCpu) / elapsed,
      samplerCpuPercent: (100 * btCpu) / elapsed,
      startCpuSeconds: startCpu,
      warmupCpuPercent,
      rssMiB: statusKiB(node.child.pid!, 'VmRSS') / 1024,
      samplerRssMiB: statusKiB(node.sampler, 'VmRSS') / 1024,
      samplesPerSecond: (received.samples - r0.samples) / elapsed,
      bytesPerSecond: bytes / elapsed,
      flushesPerSecond: (received.requests - r0.requests) / elapsed,
      throughput: '-',
      threads,
    };
    if (burners && burner) {
      progress(`${label}: measured; waiting for the burners to finish`);
      figures.throughput = `${((100 * (await burners.done)) / burner.baseline).toFixed(1)} %`;
    }
    return figures;
  } finally {
    await stopNode(node.child);
    if (burners && burners.child.exitCode === null) burners.child.kill('SIGKILL');
    const problems = node
      .log()
      .split('\n')
      .filter((l) => /"level":(40|50|60)/.test(l) && !l.includes('"stderr"'));
    if (process.env.SAMPLER_BENCH_DEBUG) process.stderr.write(node.log());
    if (problems.length > 0) progress(`${label}: ${problems.length} warnings from pilotlight node, first: ${problems[0].slice(0, 300)}`);
  }
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const o = options(argv);
  try {
    preflight('bpftrace');
  } catch (err) {
    if (err instanceof PreflightError) {
      console.log(`sampler benchmark skipped: ${err.message}`);
      return;
    }
    throw err;
  }
  if (o.built && !existsSync(BUILT_COMMAND)) {
    console.log(`sampler benchmark: --built needs ${BUILT_COMMAND}; run npm run build first`);
    return;
  }
  const bin = buildCBurner();
  console.log(
    `${o.burners} burners (C, -O0, frame pointers, nice ${o.burnerNice}) on ${cpus().length} cores; ${o.seconds} s measured per run after ${o.warmupSeconds} s warm-up; pilotlight node ${o.built ? 'compiled (dist/), plain node' : 'from sources through tsx'}`,
  );

  const received: Received = { requests: 0, samples: 0 };
  const receiver = new Receiver({
    grpc: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    consumer: consumerOf((b) => {
      received.requests++;
      received.samples += sampleCount(b.request);
    }),
  });
  const { grpc, http } = await receiver.start();
  // Log level info: startNode waits for "node sampler running".
  const quiet = ['--log-level', 'info', '--stats-interval', '0'];
  const common = ['--gateway', `http://127.0.0.1:${http!.port}`, ...quiet];
  const overGrpc = ['--gateway', `127.0.0.1:${grpc!.port}`, ...quiet];

  const hows: SamplerRun[] = [];
  if (o.samplers.includes('bpftrace')) hows.push({ sampler: 'bpftrace', args: ['--sampler', 'bpftrace'], prefix: [], comm: 'bpftrace' });
  if (o.samplers.includes('ebpf-profiler')) {
    const found = ebpfProfilerBinary();
    if (found.path) {
      hows.push({
        sampler: 'ebpf-profiler',
        args: ['--sampler', 'ebpf-profiler', '--ebpf-profiler', found.path],
        prefix: found.shim ? [found.shim] : [],
        comm: 'ebpf-profiler',
      });
      if (found.shim) console.log(`eBPF profiler: run under ${found.shim} (this root may not lift RLIMIT_MEMLOCK; the kernel ignores it for eBPF maps)`);
    } else console.log(`eBPF profiler: not run: ${found.why}`);
  }

  try {
    progress('baseline: burners without the sampler');
    const baseline = await runBurners(bin, o.burners, o.seconds + o.warmupSeconds + 10, o.burnerNice).done;
    const runs: (RunFigures & { sampler: Sampler })[] = [];
    const repeats = new Map<string, RunFigures[]>();
    for (const how of hows) {
      const add = (r: RunFigures): void => void runs.push({ ...r, sampler: how.sampler });
      const name = (hz: string): string => `${hz} ${how.sampler}`;
      // The fixed cost: the same command with nothing to sample (a pid filter on an idle process).
      add(await run(o, name('idle'), [...common, '--hz', '20', '--pid', String(process.pid)], how, received, receiver));
      for (const hz of o.rates) {
        for (let i = 1; i <= o.repeat; i++) {
          const r = await run(o, name(o.repeat > 1 ? `${hz} #${i}` : String(hz)), [...common, '--hz', String(hz)], how, received, receiver, {
            bin,
            baseline,
            scope: 'burners',
          });
          add(r);
          repeats.set(name(String(hz)), [...(repeats.get(name(String(hz))) ?? []), r]);
        }
      }
      for (const hz of o.grpcRates)
        add(await run(o, name(`${hz} grpc`), [...overGrpc, '--hz', String(hz)], how, received, receiver, { bin, baseline, scope: 'burners' }));
      for (const hz of o.allRates)
        add(await run(o, name(`${hz} all`), [...common, '--hz', String(hz)], how, received, receiver, { bin, baseline, scope: 'all' }));
    }

    console.log(
      '\n' +
        table(
          [
            'hz',
            'CPU % of a core',
            'node %',
            'sampler %',
            'start CPU s',
            'warm-up CPU %',
            'node RSS MiB',
            'sampler RSS MiB',
            'samples/s',
            'flushes/s',
            'bytes/s sent',
            'burner throughput',
          ],
          runs.map((r) => [
            r.hz,
            r.cpuPercent,
            r.nodeCpuPercent,
            r.samplerCpuPercent,
            r.startCpuSeconds,
            r.warmupCpuPercent,
            r.rssMiB,
            r.samplerRssMiB,
            r.samplesPerSecond,
            r.flushesPerSecond,
            r.bytesPerSecond,
            r.throughput,
          ]),
        ),
    );
    if (o.repeat > 1) {
      console.log();
      for (const [hz, rs] of repeats) {
        const cpu = rs.map((r) => r.cpuPercent).sort((a, b) => a - b);
        const mid = cpu.length >> 1;
        const median = cpu.length % 2 ? cpu[mid] : (cpu[mid - 1] + cpu[mid]) / 2;
        console.log(
          `${hz} Hz over ${cpu.length} runs: median ${median.toFixed(2)} % of a core, range ${cpu[0].toFixed(2)}–${cpu[cpu.length - 1].toFixed(2)} %`,
        );
      }
    }
    console.log('\npilotlight node CPU % per thread:');
    for (const r of runs) console.log(`  ${r.hz}: ${r.threads || '-'}`);
    console.log(
      `\nCPU % = (pilotlight node + its sampler: bpftrace or the eBPF profiler) CPU time / wall time in the steady state; goal ≤ 1 % of one core at 20 Hz.`,
    );
    console.log('RSS: goal ≤ 250 MiB, node and sampler together.');
    console.log('idle = the same command sampling one idle process: the fixed cost (timers, flush of an empty map).');
    console.log(
      'start CPU s = tsx compiling the CLI (a built `pilotlight node` skips it) plus bpftrace compiling its program, or the profiler loading its eBPF programs.',
    );
    console.log(
      `warm-up CPU % = the ${o.warmupSeconds} s after start-up and before the measured window (new pids resolved, caches filling, V8's post-start-up GCs).`,
    );
    console.log('Rows sample the burners only (pid filter); "all" rows sample every process, this shared machine\'s other jobs included.');
    console.log('Transport: OTLP/HTTP with gzip (the default); "grpc" rows send the same over OTLP/gRPC, for comparison.');
    console.log('bytes/s sent = gzip request bytes as the loopback receiver counted them.');
    console.log('burner throughput = total burner iterations relative to the run without the sampler (includes run-to-run noise).');
    console.log(`Burners run at nice ${o.burnerNice} (--burner-nice): they keep both cores busy, but the sampler and the loopback`);
    console.log('receiver (standing in for a gateway on another machine) are not starved of wake-ups, as a DaemonSet pod in its own');
    console.log('cgroup is not. At nice 0 in one cgroup with 100 busy processes both wait so long to run that export attempts time out (5 s).');
    console.log('The machine is shared (other jobs run alongside): CPU shares and throughput are noisy; compare rows of one run.');
  } finally {
    await receiver.stop(0);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
