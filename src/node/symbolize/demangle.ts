import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { FrameSpec } from '../../otlp/frame.js';

/**
 * Itanium C++ (`_Z…`) and Rust v0 (`_R…`) manglings, with GCC's clone suffixes (`.cold`,
 * `.isra.0`) and the symbolizer's `@plt` (PLT stubs; c++filt keeps the suffix:
 * `operator new(unsigned long)@plt`): what c++filt turns back into names. Nothing else (no
 * spaces or newlines) goes to c++filt, so its output lines match its input lines one to one.
 */
const MANGLED = /^_[ZR][\w.$]+(?:@plt)?$/;
/** A c++filt that has not answered a batch in this long is stopped and names stay mangled. */
const ANSWER_TIMEOUT_MS = 10_000;
/** c++filt processes started at most (one, plus restarts after it died). */
const MAX_STARTS = 3;

interface Batch {
  names: string[];
  lines: string[];
  done: () => void;
}

/**
 * Turns mangled native names (`_ZN4node5StartEiPPc`) into what people read
 * (`node::Start(int, char**)`), with binutils' c++filt. One c++filt runs for the sampler's
 * lifetime, reading names on stdin and answering a line per name (it flushes each line), so a
 * flush with new names costs a pipe round trip rather than a process start (a spawn per flush
 * would be most of the sampler's CPU while processes keep showing new C++ frames). Names are
 * cached, so the steady-state cost is a map lookup. Without c++filt (or when it fails or
 * hangs) names stay as they are: a mangled name is still a name, never a dropped frame.
 */
export class Demangler {
  private readonly cache = new Map<string, string>();
  private readonly renamed = new WeakMap<FrameSpec, FrameSpec>();
  private available = true;
  private child: ChildProcess | undefined;
  /** Batches written to c++filt and not fully answered yet, oldest first. */
  private readonly pending: Batch[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Batches sent to c++filt. */
  runs = 0;
  /** c++filt processes started. */
  starts = 0;

  constructor(
    private readonly command = 'c++filt',
    private readonly maxEntries = 200_000,
  ) {}

  /**
   * Demangles every name among these frames not seen before, in one batch to the running
   * c++filt; resolves once they are cached (at once when there are none). Never rejects.
   */
  prepare(stacks: readonly (readonly FrameSpec[])[]): Promise<void> {
    if (!this.available) return Promise.resolve();
    const unseen = new Set<string>();
    // Indexed loops: the sampler runs without the optimizing compiler, where for-of allocates per step.
    for (let i = 0; i < stacks.length; i++) {
      const frames = stacks[i];
      for (let j = 0; j < frames.length; j++) {
        const name = frames[j].name;
        if (name !== undefined && MANGLED.test(name) && !this.cache.has(name)) unseen.add(name);
      }
    }
    if (unseen.size === 0) return Promise.resolve();
    if (this.cache.size + unseen.size > this.maxEntries) this.cache.clear();
    const child = this.process();
    if (!child) return Promise.resolve();
    const names = [...unseen];
    this.runs++;
    return new Promise<void>((resolve) => {
      this.pending.push({ names, lines: [], done: resolve });
      this.armTimer();
      child.stdin!.write(names.join('\n') + '\n');
    });
  }

  /** The frames with demangled names (the same objects where nothing changes). */
  frames<F extends FrameSpec>(frames: F[]): F[] {
    let out: F[] | undefined;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      const d = this.frame(f);
      if (d !== f) {
        out ??= frames.slice();
        out[i] = d;
      }
    }
    return out ?? frames;
  }

  /** One name, from the cache (undefined names and unknown ones come back unchanged). */
  name(name: string): string {
    return this.cache.get(name) ?? name;
  }

  /** Stops c++filt; batches still waiting resolve with their names left as they are. */
  close(): void {
    this.fail(true);
  }

  private frame<F extends FrameSpec>(f: F): F {
    if (f.name === undefined || !MANGLED.test(f.name)) return f;
    const hit = this.renamed.get(f) as F | undefined;
    if (hit) return hit;
    const name = this.cache.get(f.name);
    if (name === undefined || name === f.name) return f;
    const d = { ...f, name };
    this.renamed.set(f, d);
    return d;
  }

  /** The running c++filt, started on first use; undefined when it cannot be started. */
  private process(): ChildProcess | undefined {
    if (this.child) return this.child;
    let child: ChildProcess;
    try {
      child = spawn(this.command, [], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      this.available = false;
      return undefined;
    }
    this.starts++;
    this.child = child;
    child.on('error', () => this.gone(child));
    child.on('exit', () => this.gone(child));
    child.stdin!.on('error', () => this.gone(child));
    // An idle c++filt never keeps the process alive (see armTimer for while it owes answers).
    child.unref();
    socket(child.stdin)?.unref();
    socket(child.stdout)?.unref();
    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => this.answer(line));
    return child;
  }

  private gone(child: ChildProcess): void {
    if (this.child === child) this.fail(false);
  }

  private answer(line: string): void {
    const batch = this.pending[0];
    if (!batch) return;
    batch.lines.push(line);
    if (batch.lines.length < batch.names.length) return;
    this.pending.shift();
    for (let i = 0; i < batch.names.length; i++) this.cache.set(batch.names[i], batch.lines[i] || batch.names[i]);
    batch.done();
    this.armTimer();
  }

  /** Keeps the event loop alive while answers are owed (and only then), with a deadline. */
  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const out = socket(this.child?.stdout);
    if (this.pending.length === 0) {
      out?.unref();
      return;
    }
    out?.ref();
    this.timer = setTimeout(() => this.fail(true), ANSWER_TIMEOUT_MS);
    this.timer.unref();
  }

  /**
   * c++filt failed, hung or was closed: waiting batches resolve with their names as they are.
   * A crashed c++filt is started again on the next batch, a few times at most.
   */
  private fail(closing = true): void {
    if (closing || this.starts >= MAX_STARTS) this.available = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill();
    for (const b of this.pending.splice(0)) b.done();
  }
}

/** The stream's socket, for ref/unref (pipes to a child are net.Sockets). */
function socket(stream: unknown): { ref(): void; unref(): void } | undefined {
  const s = stream as { ref?: () => void; unref?: () => void } | null | undefined;
  return s && typeof s.ref === 'function' && typeof s.unref === 'function' ? (s as { ref(): void; unref(): void }) : undefined;
}
