/**
 * JIT symbol maps (`/tmp/perf-PID.map`, one `START SIZE NAME` line per code object, hex,
 * appended as code is compiled) as written by Node.js `--perf-basic-prof`, Python ≥ 3.12
 * `-X perf` and Java perf-map agents.
 *
 * The file only grows, so it is read incrementally from the last offset. Code space is reused:
 * when entries overlap, the later line wins.
 */

export interface PerfMapEntry {
  start: number;
  end: number;
  name: string;
  /** Line order in the file: later entries supersede earlier overlapping ones. */
  seq: number;
}

export function parsePerfMapLines(text: string, firstSeq = 0): PerfMapEntry[] {
  const out: PerfMapEntry[] = [];
  let seq = firstSeq;
  for (const line of text.split('\n')) {
    const a = line.indexOf(' ');
    const b = a < 0 ? -1 : line.indexOf(' ', a + 1);
    if (b < 0) continue;
    const start = parseInt(line.slice(0, a), 16);
    const size = parseInt(line.slice(a + 1, b), 16);
    const name = line.slice(b + 1).trimEnd();
    if (!Number.isFinite(start) || !Number.isFinite(size) || name === '') continue;
    out.push({ start, end: start + size, name, seq: seq++ });
  }
  return out;
}

/** How far back a lookup scans for an older, longer entry covering the address. */
const OVERLAP_SCAN = 64;

export class PerfMap {
  private entries: PerfMapEntry[] = [];
  private sorted = true;
  private seq = 0;
  /** Bytes consumed so far, and an unterminated last line kept for the next read. */
  bytesRead = 0;
  private partial = '';

  get size(): number {
    return this.entries.length;
  }

  /** Adds text appended to the file since the last read. */
  append(text: string): void {
    const all = this.partial + text;
    const cut = all.lastIndexOf('\n');
    this.partial = cut < 0 ? all : all.slice(cut + 1);
    if (cut < 0) return;
    const added = parsePerfMapLines(all.slice(0, cut), this.seq);
    this.seq += added.length;
    if (added.length > 0) {
      for (const e of added) this.entries.push(e);
      this.sorted = false;
    }
  }

  lookup(addr: number): PerfMapEntry | undefined {
    if (!this.sorted) {
      this.entries.sort((a, b) => a.start - b.start || a.seq - b.seq);
      this.sorted = true;
    }
    const es = this.entries;
    let lo = 0;
    let hi = es.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (es[mid].start <= addr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let best: PerfMapEntry | undefined;
    for (let i = found; i >= 0 && i > found - OVERLAP_SCAN; i--) {
      const e = es[i];
      if (addr < e.end && (!best || e.seq > best.seq)) best = e;
    }
    return best;
  }
}

export interface JitFrame {
  name: string;
  file?: string;
  line?: number;
  kind: string;
}

/**
 * Names a perf-map symbol: the runtime that wrote it (the `profile.frame.type`), the function
 * and, where the runtime gives it, the source file and line.
 *
 * - V8: `JS:*quarkHash /app/x.js:1:19` (`*` optimized, `~` interpreted, `^` baseline, `+` maglev),
 *   `Builtin:ArrayMap`, `BytecodeHandler:Add`, … (older nodes: `LazyCompile:`, `Function:`).
 * - CPython: `py::hot:/app/x.py`.
 * - Java agents: `Lcom/acme/Foo;::bar` or `com.acme.Foo::bar`, `Interpreter`, stubs.
 */
export function describeJitSymbol(sym: string, fallbackKind: string): JitFrame {
  const v8 = /^(JS|LazyCompile|Function|Script):([*~^+-]?)(.*)$/.exec(sym);
  if (v8) {
    const body = v8[3];
    const m = /^(.*?) ?(\S+):(\d+):(\d+)$/.exec(body);
    if (m) return { name: m[1] || '(anonymous)', file: m[2], line: Number(m[3]), kind: 'v8js' };
    const sp = body.lastIndexOf(' ');
    if (sp >= 0) return { name: body.slice(0, sp) || '(anonymous)', file: body.slice(sp + 1), kind: 'v8js' };
    return { name: body || '(anonymous)', kind: 'v8js' };
  }
  if (/^(Builtin|BytecodeHandler|Stub|RegExp|Handler|KeyedLoadIC|KeyedStoreIC|LoadIC|StoreIC|CallIC|Eval|WasmToJS|JSToWasm|Wasm):/.test(sym)) {
    return { name: sym, kind: 'v8js' };
  }
  const py = /^py::(.*?):(.*)$/.exec(sym);
  if (py) return { name: py[1], file: py[2], kind: 'cpython' };
  if (/^L[\w/$]+;/.test(sym) || /^[\w$]+(\.[\w$]+)+::/.test(sym)) return { name: sym, kind: 'jvm' };
  return { name: sym, kind: fallbackKind };
}
