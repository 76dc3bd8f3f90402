import type { Logger } from 'pino';
import { ChildSupervisor, type ChildRun } from '../supervisor.js';
import { KSYMS_TAG, SampleKeys, parseOutputLine, type RawSample } from './output.js';

export interface DriverOptions {
  /** bpftrace executable (a path or a name on PATH). */
  bpftrace: string;
  program: string;
  log: Logger;
  /** Called with each printed map; `start`/`end` bound the window (ms since the epoch). */
  onSamples: (samples: RawSample[], window: { start: number; end: number }) => void;
  /** Called at once when a process is sampled for the first time (program.ts `announceProcesses`). */
  onProcess?: (pid: number, start: string, exec: string, comm: string) => void;
  restartInitialMs?: number;
  restartMaxMs?: number;
  /** How long a first start may take to attach before it counts as failed. */
  attachTimeoutMs?: number;
}

export interface DriverStats {
  starts: number;
  restarts: number;
  flushes: number;
  malformedKeys: number;
  invalidLines: number;
  /**
   * Stacks bpftrace could not read back (`failed to look up stack id`): the kernel's stack map
   * had a hash collision or was full when the sample was taken. The sample still arrives,
   * with that stack empty.
   */
  lostStacks: number;
  /** First-sample announcements of processes received. */
  processEvents: number;
}

/**
 * Lines bpftrace prints that do not mean anything is wrong: that it could not raise
 * RLIMIT_MEMLOCK (the kernel accounts BPF memory by cgroup, and bpftrace runs anyway).
 */
const NOISE = [/RLIMIT_MEMLOCK/, /ulimit -l/];
const LOST_STACK = /failed to look up stack id/;

/**
 * Keeps one bpftrace running: compiling the program is costly in CPU, so it is started once
 * and restarted only when it dies. Starting, watching, restarting with exponential backoff
 * (logged and counted) and stopping are a ChildSupervisor's; the driver reads bpftrace's
 * stdout (attach, printed maps, process announcements) and picks the stderr lines that matter.
 *
 * bpftrace is started through `sh -c 'exec bpftrace … "$$"'` so that its own pid is passed as
 * positional parameter `$1` and the program can exclude it. If the sampler dies without
 * stopping it, bpftrace gets SIGPIPE at its next print and exits.
 */
export class BpftraceDriver {
  private readonly supervisor: ChildSupervisor;
  private readonly counts = { flushes: 0, malformedKeys: 0, invalidLines: 0, lostStacks: 0, processEvents: 0 };
  private windowStart = Date.now();
  /** Probes attached, as bpftrace last said. */
  private probes = 0;
  /** Parsed map keys, kept across restarts (a key means the same whichever bpftrace printed it). */
  private readonly keys = new SampleKeys();
  /** A program that loads the kernel symbols at start (buildProgram's) is ready once it says so; another once its probes are attached. */
  private readonly waitForReady: boolean;

  constructor(private readonly o: DriverOptions) {
    this.waitForReady = o.program.includes(KSYMS_TAG);
    this.supervisor = new ChildSupervisor({
      name: 'bpftrace',
      command: '/bin/sh',
      args: ['-c', 'exec "$0" -f json -e "$PILOTLIGHT_BT_PROGRAM" "$$"', o.bpftrace],
      env: { ...process.env, BPFTRACE_NO_USER_SYMBOLS: '1', PILOTLIGHT_BT_PROGRAM: o.program },
      log: o.log,
      stdout: (line, run) => this.onStdout(line, run),
      ignore: (line) => {
        if (NOISE.some((re) => re.test(line))) return true;
        if (!LOST_STACK.test(line)) return false;
        // Routine under load (one line per affected sample): counted, not logged each time.
        this.counts.lostStacks++;
        return true;
      },
      explain: (tail, code) => startFailure(o.bpftrace, code, tail),
      relay: () => true,
      readyTimeoutMs: o.attachTimeoutMs ?? 30_000,
      restartInitialMs: o.restartInitialMs,
      restartMaxMs: o.restartMaxMs,
      // SIGINT makes bpftrace detach its probes cleanly.
      stopSignal: 'SIGINT',
      stopTimeoutMs: 3000,
      // Without a parent-death signal: it goes with SIGPIPE (above).
      parentDeathSignal: false,
      logs: { up: 'bpftrace attached', restarting: () => 'bpftrace exited; restarting', outputField: 'stderr', tailLines: 3, relayPerMinute: Infinity },
    });
  }

  get stats(): DriverStats {
    const { starts, restarts } = this.supervisor.stats;
    return { starts, restarts, ...this.counts };
  }

  /** The running bpftrace's pid. */
  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  /** Starts bpftrace; resolves once its probes are attached, rejects with a ChildStartError if the first start fails. */
  start(): Promise<void> {
    return this.supervisor.start();
  }

  stop(): Promise<void> {
    return this.supervisor.stop();
  }

  private onStdout(line: string, run: ChildRun): void {
    const { log } = this.o;
    const ev = parseOutputLine(line, this.keys);
    if (!ev) return;
    if (ev.type === 'attached' || ev.type === 'ready') {
      if (ev.type === 'attached') this.probes = ev.probes;
      if (run.ready || (ev.type === 'attached' && this.waitForReady)) return;
      this.windowStart = Date.now();
      run.up({ probes: this.probes });
    } else if (ev.type === 'process') {
      this.counts.processEvents++;
      try {
        this.o.onProcess?.(ev.pid, ev.start, ev.exec, ev.comm);
      } catch (err) {
        log.error({ err }, 'process handler failed');
      }
    } else if (ev.type === 'samples') {
      const end = Date.now();
      const window = { start: this.windowStart, end };
      this.windowStart = end;
      this.counts.flushes++;
      this.counts.malformedKeys += ev.malformedKeys;
      try {
        this.o.onSamples(ev.samples, window);
      } catch (err) {
        log.error({ err }, 'sample handler failed');
      }
    } else if (ev.type === 'invalid') {
      this.counts.invalidLines++;
      log.warn({ line: ev.line.slice(0, 200) }, 'unparsable bpftrace output line');
    }
  }
}

function startFailure(bpftrace: string, code: number | null, stderr: readonly string[]): string {
  if (code === 127) return `bpftrace not found (${bpftrace}); install it (Debian: apt-get install bpftrace)`;
  const detail =
    stderr
      .filter((l) => /error|denied|permission|not supported|failed/i.test(l))
      .slice(-2)
      .join('; ') || stderr.slice(-2).join('; ');
  return `bpftrace could not attach the profiling probe${detail ? `: ${detail}` : ` (exit code ${code})`}`;
}
