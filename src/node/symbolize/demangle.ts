import { execFileSync } from 'node:child_process';
import type { FrameSpec } from '../../otlp/builder.js';

/**
 * Itanium C++ (`_Z…`) and Rust v0 (`_R…`) manglings, with GCC's clone suffixes (`.cold`,
 * `.isra.0`): what c++filt turns back into names. Nothing else (no spaces or newlines) goes to
 * c++filt, so its output lines match its arguments one to one.
 */
const MANGLED = /^_[ZR][\w.$]+$/;
/** Names per c++filt run: bounded so one run never meets the argument-length limit. */
const BATCH = 2000;

/**
 * Turns mangled native names (`_ZN4node5StartEiPPc`) into what people read
 * (`node::Start(int, char**)`), with binutils' c++filt: one run per flush for the names not seen
 * before, then a cache, so the steady-state cost is a map lookup. Without c++filt (or when it
 * fails) names stay as they are: a mangled name is still a name, never a dropped frame.
 */
export class Demangler {
  private readonly cache = new Map<string, string>();
  private readonly renamed = new WeakMap<FrameSpec, FrameSpec>();
  private available = true;
  runs = 0;

  constructor(
    private readonly command = 'c++filt',
    private readonly maxEntries = 200_000,
  ) {}

  /** Demangles, in one c++filt run, every name among these frames not seen before. */
  prepare(stacks: Iterable<readonly FrameSpec[]>): void {
    if (!this.available) return;
    const unseen = new Set<string>();
    for (const frames of stacks) {
      for (const f of frames) {
        if (f.name !== undefined && MANGLED.test(f.name) && !this.cache.has(f.name)) unseen.add(f.name);
      }
    }
    if (unseen.size === 0) return;
    if (this.cache.size + unseen.size > this.maxEntries) this.cache.clear();
    const names = [...unseen];
    for (let i = 0; i < names.length && this.available; i += BATCH) this.run(names.slice(i, i + BATCH));
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

  private run(names: string[]): void {
    let out: string;
    try {
      out = execFileSync(this.command, names, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
      this.runs++;
    } catch {
      this.available = false;
      return;
    }
    const lines = out.split('\n');
    // One line out per name in; anything else means the output cannot be matched up.
    if (lines.length < names.length) {
      this.available = false;
      return;
    }
    for (let i = 0; i < names.length; i++) this.cache.set(names[i], lines[i] || names[i]);
  }
}
