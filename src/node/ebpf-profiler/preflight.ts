import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { effectiveCaps, findExecutable, PreflightError } from '../preflight.js';

/** Where `npm run setup` (scripts/peers.sh) builds the profiler: PEERS_DIR/ebpf-profiler-HASH/ebpf-profiler. */
export const PEERS_DIR = process.env.PILOTLIGHT_PEERS_DIR ?? '/var/cache/pilotlight/peers';
/** The profiler's name on PATH (the image installs it there). */
const ON_PATH = 'ebpf-profiler';

const CAP_SYS_ADMIN = 21n;
const CAP_SYS_RESOURCE = 24n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;
/** The oldest kernel the profiler accepts (its config check: 5.10). */
const MIN_KERNEL: [number, number] = [5, 10];

/**
 * The OpenTelemetry eBPF profiler's executable: `path` when given, else `ebpf-profiler` on
 * PATH, else the newest one `npm run setup` built under PEERS_DIR. Throws one line saying
 * where it looked and how to get one.
 */
export function findEbpfProfiler(path?: string): string {
  if (path !== undefined) {
    const found = findExecutable(path);
    if (!found) throw new PreflightError(`the eBPF profiler is not at ${path} (--ebpf-profiler): no executable there`);
    return found;
  }
  const onPath = findExecutable(ON_PATH);
  if (onPath) return onPath;
  const built = builtProfilers();
  if (built.length > 0) return built[0];
  throw new PreflightError(
    `the OpenTelemetry eBPF profiler is not installed (looked for ${ON_PATH} on PATH and ${join(PEERS_DIR, 'ebpf-profiler-*', 'ebpf-profiler')}); ` +
      'build it with npm run setup (needs Go >= 1.25), pass --ebpf-profiler PATH, or use --sampler bpftrace',
  );
}

/** Builds under PEERS_DIR, newest first. */
function builtProfilers(): string[] {
  let dirs: string[];
  try {
    dirs = readdirSync(PEERS_DIR).filter((d) => d.startsWith('ebpf-profiler-'));
  } catch {
    return [];
  }
  return dirs
    .map((d) => join(PEERS_DIR, d, 'ebpf-profiler'))
    .filter((p) => findExecutable(p) !== undefined)
    .map((p) => ({ p, mtime: statSync(p).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime)
    .map((x) => x.p);
}

/**
 * What the profiler needs that this machine lacks, in one line with its fix, or undefined
 * when it has all of it: the rights to load eBPF programs (root: CAP_SYS_ADMIN, or CAP_BPF +
 * CAP_PERFMON), the right to lift RLIMIT_MEMLOCK, which it sets to unlimited before loading
 * anything and exits without (CAP_SYS_RESOURCE, or a hard limit already unlimited), tracefs
 * (its tracepoints are found there) and a kernel of 5.10 or newer. `liftable` answers when the
 * capability and the hard limit say no: by default, for this process, the kernel is asked.
 */
export function ebpfProfilerMissing(
  procRoot = '/proc',
  kernel = release(),
  liftable = procRoot === '/proc' ? () => memlockLiftable() : () => false,
): string | undefined {
  const caps = effectiveCaps(procRoot);
  const has = (c: bigint): boolean => ((caps >> c) & 1n) === 1n;
  if (!(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)))) {
    return 'the eBPF profiler needs root (CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON) to load eBPF programs; run it as root or in a privileged container';
  }
  const memlock = memlockHardLimit(procRoot);
  if (!has(CAP_SYS_RESOURCE) && memlock !== 'unlimited' && !liftable()) {
    return (
      `the eBPF profiler needs CAP_SYS_RESOURCE: it sets RLIMIT_MEMLOCK to unlimited before loading its eBPF programs, and here the hard limit is ${memlock} bytes ` +
      'and may not be raised; run it privileged (or add CAP_SYS_RESOURCE), raise the hard limit (ulimit -l unlimited, LimitMEMLOCK=infinity), or use --sampler bpftrace'
    );
  }
  if (!existsSync('/sys/kernel/tracing/events') && !existsSync('/sys/kernel/debug/tracing/events')) {
    return "the eBPF profiler needs tracefs, which is not mounted (/sys/kernel/tracing/events is missing): mount -t tracefs nodev /sys/kernel/tracing (in a pod: mount the host's /sys/kernel/tracing)";
  }
  if (kernelAtLeast(kernel, MIN_KERNEL) === false) {
    return `the eBPF profiler needs Linux ${MIN_KERNEL.join('.')} or newer; this kernel is ${kernel} (use --sampler bpftrace)`;
  }
  return undefined;
}

/**
 * What off-CPU profiling lacks here, in one line, or undefined: the profiler attaches a kprobe
 * to the scheduler's finish_task_switch, through the kprobe PMU or tracefs's kprobe_events,
 * and a kernel built without kprobes (CONFIG_KPROBES, CONFIG_KPROBE_EVENTS) has neither.
 */
export function offCpuMissing(sysRoot = '/sys'): string | undefined {
  const places = [`${sysRoot}/bus/event_source/devices/kprobe`, `${sysRoot}/kernel/tracing/kprobe_events`, `${sysRoot}/kernel/debug/tracing/kprobe_events`];
  if (places.some((p) => existsSync(p))) return undefined;
  return `off-CPU profiling needs kprobes (the eBPF profiler probes the scheduler's finish_task_switch), and this kernel has none (no ${places[0]}, no ${places[1]})`;
}

/** The executable to run, after checking that it can run here; throws a PreflightError naming what is missing. */
export function ebpfProfilerPreflight(path: string | undefined, procRoot = '/proc'): string {
  const exe = findEbpfProfiler(path);
  const missing = ebpfProfilerMissing(procRoot);
  if (missing) throw new PreflightError(missing);
  return exe;
}

/**
 * The one line saying why the profiler stopped, from what it printed last: what it lacked,
 * worded as ebpfProfilerMissing words it; undefined when its output names nothing we know.
 */
export function explainProfilerExit(tail: readonly string[]): string | undefined {
  const text = tail.join('\n');
  if (/rlimit[^\n]*operation not permitted|operation not permitted[^\n]*rlimit/i.test(text)) {
    return 'the eBPF profiler could not lift RLIMIT_MEMLOCK (it needs CAP_SYS_RESOURCE or an unlimited hard memlock limit; run it privileged, or use --sampler bpftrace)';
  }
  if (/failed to start off-cpu profiling/i.test(text)) {
    return `the eBPF profiler could not start off-CPU profiling (it needs kprobes; turn off-CPU off with --no-off-cpu): ${lastMatch(tail, /off-cpu/i)}`;
  }
  if (/requires kernel version/i.test(text))
    return `the eBPF profiler needs Linux ${MIN_KERNEL.join('.')} or newer (${lastMatch(tail, /requires kernel version/i)})`;
  if (/tracefs|tracing\/events|debugfs/i.test(text) && /no such file|not found|not mounted/i.test(text)) {
    return "the eBPF profiler found no tracefs: mount -t tracefs nodev /sys/kernel/tracing (in a pod: mount the host's /sys/kernel/tracing)";
  }
  if (/operation not permitted|permission denied/i.test(text) && /ebpf|bpf|perf/i.test(text)) {
    return `the eBPF profiler was not allowed to load its eBPF programs (it needs root: CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON): ${lastMatch(tail, /operation not permitted|permission denied/i)}`;
  }
  if (/Failed to setup gRPC connection/i.test(text)) return "the eBPF profiler could not reach the node agent's loopback OTLP receiver";
  return undefined;
}

/** The message of the last line matching `re`, without the log line's time and level. */
function lastMatch(tail: readonly string[], re: RegExp): string {
  const line = [...tail].reverse().find((l) => re.test(l)) ?? '';
  const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(line);
  return (msg ? msg[1].replace(/\\"/g, '"') : line).slice(0, 300);
}

/**
 * Whether this process (or one started under `prefix`, a launcher that execs its arguments) may
 * set RLIMIT_MEMLOCK to unlimited, asked of the kernel: util-linux's prlimit tries it on itself
 * (what the profiler does first). The capability and the hard limit say the same, except where
 * a seccomp filter decides (test/helpers/memlock-shim.c).
 */
export function memlockLiftable(prefix: readonly string[] = []): boolean {
  const [cmd, ...args] = [...prefix, 'prlimit', '--memlock=unlimited:unlimited', 'true'];
  return spawnSync(cmd, args, { stdio: 'ignore', timeout: 5000 }).status === 0;
}

/** Whether a kernel release (`6.18.44-…`) is `version` or newer; undefined when it does not say. */
export function kernelAtLeast(kernel: string, [major, minor]: readonly [number, number]): boolean | undefined {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return undefined;
  return Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor);
}

function memlockHardLimit(procRoot: string): string {
  try {
    return /^Max locked memory\s+\S+\s+(\S+)/m.exec(readFileSync(`${procRoot}/self/limits`, 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
