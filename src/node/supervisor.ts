import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { findExecutable } from './preflight.js';

export interface SupervisorOptions {
  /** What the child is, for people: "the eBPF profiler". */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  log: Logger;
  /** A line of its output (stdout or stderr) that says it is up and sampling. */
  ready?: (line: string) => boolean;
  /**
   * For a child whose stdout is its data: takes every line of its stdout (which is then neither
   * checked with `ready`, relayed nor kept for `explain`) and says through `run` when the child
   * is ready.
   */
  stdout?: (line: string, run: ChildRun) => void;
  /** Lines it prints that say nothing is wrong (or that the caller counts): neither kept for `explain` nor relayed. */
  ignore?: (line: string) => boolean;
  /**
   * Why it could not run, in one line a person can act on, from the last lines it printed and
   * how it ended; undefined when its output does not say.
   */
  explain: (tail: readonly string[], code: number | null, signal: NodeJS.Signals | null) => string | undefined;
  /** Lines worth passing on to the log while it runs (its own warnings and errors). */
  relay?: (line: string) => boolean;
  /** How long a start may take to become ready before it counts as failed. */
  readyTimeoutMs?: number;
  restartInitialMs?: number;
  restartMaxMs?: number;
  /** A child that stays up this long has recovered: the next failure backs off from the start again. */
  healthyAfterMs?: number;
  /** The signal that asks it to stop; SIGKILL follows after `stopTimeoutMs`. */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  /** Whether the child gets SIGTERM when this process dies (see ChildSupervisor); true by default. */
  parentDeathSignal?: boolean;
  /** The log lines it writes, where this child's differ from the defaults. */
  logs?: {
    /** When it is ready: `<name> is up`. */
    up?: string;
    /** When it exited and is started again in `inMs`: the reason (see `explain`), then `; restarting in <inMs> ms`. */
    restarting?: (reason: string, inMs: number) => string;
    /** The field its output goes in, in a restart's line and a relayed line: `output`. */
    outputField?: string;
    /** How many of its last lines a restart's line carries: 5. */
    tailLines?: number;
    /** At most this many relayed lines a minute: 20 (a child in a loop must not flood the log). */
    relayPerMinute?: number;
  };
}

/** One start of the child, as a `stdout` handler sees it. */
export interface ChildRun {
  /** Whether it has said it is ready. */
  readonly ready: boolean;
  /** Says it is ready (once; later calls do nothing), with fields for the log line that says so. */
  up(fields?: Record<string, unknown>): void;
}

export interface SupervisorStats {
  starts: number;
  restarts: number;
  /** Output lines relayed to the log beyond the rate limit, and so left out. */
  suppressedLines: number;
}

/** The child could not be started or did not become ready; `message` is the one-line reason. */
export class ChildStartError extends Error {}

/** Output lines kept for the reason given when the child exits. */
const TAIL_LINES = 20;
/** At most this many relayed lines a minute reach the log, by default. */
const RELAY_PER_MINUTE = 20;

/**
 * Keeps one child process running: starts it, waits until it says it is ready, restarts it
 * with exponential backoff when it exits (each exit logged with its last lines and one line
 * saying what is missing), and stops it. Its output is read line by line and only the last
 * lines are kept, so a chatty child costs bounded memory; a child whose stdout is its data
 * (bpftrace) has those lines handed to its `stdout` handler instead.
 *
 * The child gets SIGTERM when this process dies without stopping it (`setpriv --pdeathsig`,
 * where util-linux has it; unless `parentDeathSignal` is false): a profiler left running by a
 * killed agent would sample the node for nobody.
 */
export class ChildSupervisor {
  readonly stats: SupervisorStats = { starts: 0, restarts: 0, suppressedLines: 0 };
  private child: ChildProcess | undefined;
  private stopping = false;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly tail: string[] = [];
  private relayWindow = { start: 0, lines: 0 };
  private readonly setpriv: string | undefined;

  constructor(private readonly o: SupervisorOptions) {
    this.backoffMs = o.restartInitialMs ?? 1000;
    this.setpriv = o.parentDeathSignal === false ? undefined : findExecutable('setpriv');
  }

  /** The running child's pid. */
  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Starts the child; resolves once it is ready, rejects with a ChildStartError if this first start fails. */
  start(): Promise<void> {
    this.stopping = false;
    return new Promise((resolve, reject) => this.launch(resolve, reject));
  }

  /** Stops the child (and any restart pending); resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), this.o.stopTimeoutMs ?? 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill(this.o.stopSignal ?? 'SIGTERM');
    });
  }

  private launch(onReady?: () => void, onFailed?: (err: Error) => void): void {
    const { log, name } = this.o;
    this.stats.starts++;
    this.tail.length = 0;
    let ready = false;
    let settled = false;
    const [cmd, args] = this.setpriv ? [this.setpriv, ['--pdeathsig', 'SIGTERM', '--', this.o.command, ...this.o.args]] : [this.o.command, [...this.o.args]];
    const child = spawn(cmd, args, { env: this.o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const fail = (message: string): void => {
      if (settled || !onFailed) return;
      settled = true;
      onFailed(new ChildStartError(message));
    };
    const readyTimer =
      onFailed &&
      setTimeout(() => {
        if (ready) return;
        this.tail.push(`(not ready within ${this.o.readyTimeoutMs ?? 60_000} ms)`);
        child.kill('SIGKILL');
      }, this.o.readyTimeoutMs ?? 60_000);

    const up = (fields?: Record<string, unknown>): void => {
      if (ready) return;
      ready = true;
      if (readyTimer) clearTimeout(readyTimer);
      log.info({ ...fields, pid: child.pid }, this.o.logs?.up ?? `${name} is up`);
      settled = true;
      onReady?.();
    };
    const run: ChildRun = {
      get ready() {
        return ready;
      },
      up,
    };
    const onLine = (line: string): void => {
      if (line.trim() === '' || this.o.ignore?.(line)) return;
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      if (!ready && this.o.ready?.(line)) up();
      else if (ready && this.o.relay?.(line)) this.relayLine(line);
    };
    const stdout = this.o.stdout;
    createInterface({ input: child.stdout! }).on('line', stdout ? (line) => stdout(line, run) : onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);

    child.on('error', (err) => {
      // spawn itself failed (ENOENT, EACCES); 'exit' may not follow.
      if (readyTimer) clearTimeout(readyTimer);
      fail(`cannot start ${name} (${this.o.command}): ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      if (readyTimer) clearTimeout(readyTimer);
      if (this.stopping) return;
      const reason = this.reason(code, signal);
      if (!ready && onFailed) {
        fail(reason);
        return;
      }
      this.stats.restarts++;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.restartMaxMs ?? 30_000);
      const logs = this.o.logs;
      log.warn(
        { code, signal, restarts: this.stats.restarts, inMs: delay, [logs?.outputField ?? 'output']: this.tail.slice(-(logs?.tailLines ?? 5)) },
        logs?.restarting?.(reason, delay) ?? `${reason}; restarting in ${delay} ms`,
      );
      this.restartTimer = setTimeout(() => {
        if (!this.stopping) this.launch(() => this.resetBackoffLater());
      }, delay);
    });
  }

  /** One line: what the child said is missing, else how it ended and its last line. */
  private reason(code: number | null, signal: NodeJS.Signals | null): string {
    const explained = this.o.explain(this.tail, code, signal);
    if (explained) return explained;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const last = this.tail.at(-1);
    return `${this.o.name} ${how}${last ? `: ${last}` : ''}`;
  }

  private relayLine(line: string): void {
    const now = Date.now();
    if (now - this.relayWindow.start > 60_000) this.relayWindow = { start: now, lines: 0 };
    if (++this.relayWindow.lines > (this.o.logs?.relayPerMinute ?? RELAY_PER_MINUTE)) {
      this.stats.suppressedLines++;
      return;
    }
    this.o.log.warn({ [this.o.logs?.outputField ?? 'output']: line.slice(0, 500) }, this.o.name);
  }

  private resetBackoffLater(): void {
    const child = this.child;
    setTimeout(() => {
      if (this.child === child && child?.exitCode === null) this.backoffMs = this.o.restartInitialMs ?? 1000;
    }, this.o.healthyAfterMs ?? 60_000).unref();
  }
}
