import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
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

/** bpftrace could not be started or could not attach; `message` says why, for the user. */
export class BpftraceStartError extends Error {}

/**
 * Lines bpftrace prints that do not mean anything is wrong: that it could not raise
 * RLIMIT_MEMLOCK (the kernel accounts BPF memory by cgroup, and bpftrace runs anyway).
 */
const NOISE = [/RLIMIT_MEMLOCK/, /ulimit -l/];
const LOST_STACK = /failed to look up stack id/;

/**
 * Keeps one bpftrace running: compiling the program is costly in CPU, so it is started once
 * and restarted (with exponential backoff, logged and counted) only when it dies.
 *
 * bpftrace is started through `sh -c 'exec bpftrace … "$$"'` so that its own pid is passed as
 * positional parameter `$1` and the program can exclude it. If the sampler dies without
 * stopping it, bpftrace gets SIGPIPE at its next print and exits.
 */
export class BpftraceDriver {
  readonly stats: DriverStats = { starts: 0, restarts: 0, flushes: 0, malformedKeys: 0, invalidLines: 0, lostStacks: 0, processEvents: 0 };
  private child: ChildProcess | undefined;
  private stopping = false;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private windowStart = Date.now();
  private readonly stderrTail: string[] = [];
  /** Parsed map keys, kept across restarts (a key means the same whichever bpftrace printed it). */
  private readonly keys = new SampleKeys();

  constructor(private readonly o: DriverOptions) {
    this.backoffMs = o.restartInitialMs ?? 1000;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts bpftrace; resolves once its probes are attached, rejects if the first start fails. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.launch(resolve, reject);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      // SIGINT makes bpftrace detach its probes cleanly.
      child.kill('SIGINT');
    });
  }

  private launch(onAttached?: () => void, onFailed?: (err: Error) => void): void {
    const { log } = this.o;
    this.stats.starts++;
    this.stderrTail.length = 0;
    let attached = false;
    const child = spawn('/bin/sh', ['-c', 'exec "$0" -f json -e "$PILOTLIGHT_BT_PROGRAM" "$$"', this.o.bpftrace], {
      env: { ...process.env, BPFTRACE_NO_USER_SYMBOLS: '1', PILOTLIGHT_BT_PROGRAM: this.o.program },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const attachTimer =
      onFailed &&
      setTimeout(() => {
        if (!attached) child.kill('SIGKILL');
      }, this.o.attachTimeoutMs ?? 30_000);

    const waitForReady = this.o.program.includes(KSYMS_TAG);
    let probes = 0;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ev = parseOutputLine(line, this.keys);
      if (!ev) return;
      if (ev.type === 'attached' || ev.type === 'ready') {
        if (ev.type === 'attached') probes = ev.probes;
        // A program that loads the kernel symbols at start (buildProgram's) is ready once it
        // says so; another once its probes are attached.
        if (attached || (ev.type === 'attached' && waitForReady)) return;
        attached = true;
        this.windowStart = Date.now();
        if (attachTimer) clearTimeout(attachTimer);
        log.info({ probes, pid: child.pid }, 'bpftrace attached');
        onAttached?.();
      } else if (ev.type === 'process') {
        this.stats.processEvents++;
        try {
          this.o.onProcess?.(ev.pid, ev.start, ev.exec, ev.comm);
        } catch (err) {
          log.error({ err }, 'process handler failed');
        }
      } else if (ev.type === 'samples') {
        const end = Date.now();
        const window = { start: this.windowStart, end };
        this.windowStart = end;
        this.stats.flushes++;
        this.stats.malformedKeys += ev.malformedKeys;
        try {
          this.o.onSamples(ev.samples, window);
        } catch (err) {
          log.error({ err }, 'sample handler failed');
        }
      } else if (ev.type === 'invalid') {
        this.stats.invalidLines++;
        log.warn({ line: ev.line.slice(0, 200) }, 'unparsable bpftrace output line');
      }
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.trim() === '' || NOISE.some((re) => re.test(line))) return;
      if (LOST_STACK.test(line)) {
        // Routine under load (one line per affected sample): counted, not logged each time.
        this.stats.lostStacks++;
        return;
      }
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      if (attached) log.warn({ stderr: line }, 'bpftrace');
    });

    child.on('error', (err) => {
      // spawn itself failed (no /bin/sh); the exit handler does not run in every such case.
      if (attachTimer) clearTimeout(attachTimer);
      if (onFailed) onFailed(new BpftraceStartError(`cannot start bpftrace: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      if (attachTimer) clearTimeout(attachTimer);
      if (this.stopping) return;
      if (!attached && onFailed) {
        onFailed(new BpftraceStartError(startFailure(this.o.bpftrace, code, this.stderrTail)));
        return;
      }
      this.stats.restarts++;
      log.warn({ code, signal, restarts: this.stats.restarts, inMs: this.backoffMs, stderr: this.stderrTail.slice(-3) }, 'bpftrace exited; restarting');
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.restartMaxMs ?? 30_000);
      this.restartTimer = setTimeout(() => {
        if (!this.stopping) this.launch(() => this.resetBackoffLater());
      }, delay);
    });
  }

  /** A bpftrace that stays up for a minute has recovered; the next failure starts the backoff afresh. */
  private resetBackoffLater(): void {
    const child = this.child;
    setTimeout(() => {
      if (this.child === child && child?.exitCode === null) this.backoffMs = this.o.restartInitialMs ?? 1000;
    }, 60_000).unref();
  }
}

function startFailure(bpftrace: string, code: number | null, stderr: string[]): string {
  if (code === 127) return `bpftrace not found (${bpftrace}); install it (Debian: apt-get install bpftrace)`;
  const detail =
    stderr
      .filter((l) => /error|denied|permission|not supported|failed/i.test(l))
      .slice(-2)
      .join('; ') || stderr.slice(-2).join('; ');
  return `bpftrace could not attach the profiling probe${detail ? `: ${detail}` : ` (exit code ${code})`}`;
}
