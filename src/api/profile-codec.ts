// The binary form of GET /api/sources/{key}/profile (PROFILE_MEDIA_TYPE): one encoder (the
// UI server) and one decoder (the web app), so both sides read the same definition. No Node or
// DOM APIs beyond TextEncoder/TextDecoder: it runs in both.
import type { FlameGraph } from '../profile/flame.js';
import type { SymbolRow } from '../profile/symbols.js';
import type { ProfileResponse } from './types.js';

/** The media type a client puts in `Accept` to get the binary form, and the server answers with. */
export const PROFILE_MEDIA_TYPE = 'application/vnd.pilotlight.profile';

const MAGIC = 0x31504c50; // "PLP1", little-endian
const VERSION = 1;

/** A numeric column: its element type and where it starts in the data area (8-byte aligned). */
type Column =
  /** Stored values at offset `o`; a value is the stored one plus `b` (the column's minimum, for integers). */
  | { t: 'u8' | 'u16' | 'u32' | 'f64'; o: number; b: number }
  /** Every value is the same. */
  | { t: 'const'; v: number }
  /** Every value is another column's (of the same section) times `k`, exactly: CPU nanoseconds = samples × period. */
  | { t: 'mul'; of: string; k: number };

/** The JSON header after the magic: everything but the column data. */
interface Header {
  v: number;
  /** ProfileResponse without flame and symbols. */
  meta: Omit<ProfileResponse, 'flame' | 'symbols'>;
  /** The frames table: its identity, the frames the client held (`from`), and the frames sent (from `from` on). */
  frames: { table: string; from: number; count: number; name: Column; file: Column; line: Column; binary: Column; kind: Column };
  /** The distinct strings of the frames sent; frames' name/file/binary/kind are indexes into it. */
  strings: string[];
  nodes: { count: number; frame: Column; depth: Column; total: Column; self: Column };
  /** Rows in the answer's order; `frame` is the frame id whose name/file/binary/kind the row shows. */
  symbols: { count: number; frame: Column; self: Column; total: Column; selfNanos: Column; totalNanos: Column };
}

/** What the server encodes: one ProfileResponse, plus what the binary form needs to know about its frames. */
export interface EncodeInput {
  response: ProfileResponse;
  /** Per symbols row, the id of its frame in `response.flame.frames`. */
  symbolFrames: ArrayLike<number>;
  /**
   * The identity of the frames table the flame graph's frames come from. A table only grows:
   * the same identity with more frames means the same frames first, then new ones.
   */
  framesTable: string;
  /** Frames of that table the client already holds: only the frames from here on are written (0: all). */
  framesFrom?: number;
}

/** Frames a client holds, for decoding an answer that sends only the frames after them. */
export interface HeldFrames {
  table: string;
  frames: FlameGraph['frames'];
}

export interface DecodedProfile {
  profile: ProfileResponse;
  /** The frames table's identity: pass it back (with the frame count) as the `frames` query parameter. */
  framesTable: string;
}

/**
 * The binary form, little-endian throughout:
 *
 *     u32 magic "PLP1" | u32 header length H | H bytes: Header as UTF-8 JSON | padding to 8 | data area
 *
 * The data area holds the numeric columns, each at an 8-byte-aligned offset: integers as their
 * difference from the column's minimum in the narrowest of u8/u16/u32 that holds them, other
 * values as f64; a column of one value, or
 * one that is another column times a constant (CPU nanoseconds), takes no bytes. Strings go
 * once each, in the header (JSON, so every string round-trips exactly, unpaired surrogates
 * included), and frames refer to them by index. Only frames the client does not hold are sent
 * (`framesFrom`): a live view's frames table grows by a few frames an update.
 */
export function encodeProfile(input: EncodeInput): Uint8Array {
  const { response, symbolFrames, framesTable } = input;
  const { flame, symbols, ...meta } = response;
  const frames = flame.frames;
  const nFrames = frames.name.length;
  const from = Math.min(Math.max(0, input.framesFrom ?? 0), nFrames);
  const data = new DataArea();

  const strings: string[] = [];
  const stringIds = new Map<string, number>();
  const intern = (s: string): number => {
    let id = stringIds.get(s);
    if (id === undefined) {
      id = strings.push(s) - 1;
      stringIds.set(s, id);
    }
    return id;
  };
  const count = nFrames - from;
  const ids = (col: readonly string[]): Float64Array => {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = intern(col[from + i]);
    return out;
  };
  const nameIds = ids(frames.name);
  const fileIds = ids(frames.file);
  const binaryIds = ids(frames.binary);
  const kindIds = ids(frames.kind);
  const lines = new Float64Array(count);
  for (let i = 0; i < count; i++) lines[i] = frames.line[from + i];

  const nSymbols = symbols.length;
  const sym = {
    frame: new Float64Array(nSymbols),
    self: new Float64Array(nSymbols),
    total: new Float64Array(nSymbols),
    selfNanos: new Float64Array(nSymbols),
    totalNanos: new Float64Array(nSymbols),
  };
  for (let i = 0; i < nSymbols; i++) {
    const r = symbols[i];
    sym.frame[i] = symbolFrames[i];
    sym.self[i] = r.self;
    sym.total[i] = r.total;
    sym.selfNanos[i] = r.selfNanos;
    sym.totalNanos[i] = r.totalNanos;
  }

  const header: Header = {
    v: VERSION,
    meta,
    frames: {
      table: framesTable,
      from,
      count,
      name: data.column(nameIds),
      file: data.column(fileIds),
      line: data.column(lines),
      binary: data.column(binaryIds),
      kind: data.column(kindIds),
    },
    strings,
    nodes: {
      count: flame.frame.length,
      frame: data.column(flame.frame),
      depth: data.column(flame.depth),
      total: data.column(flame.total),
      self: data.column(flame.self),
    },
    symbols: {
      count: nSymbols,
      frame: data.column(sym.frame),
      self: data.column(sym.self),
      total: data.column(sym.total),
      selfNanos: data.scaled(sym.selfNanos, sym.self, 'self'),
      totalNanos: data.scaled(sym.totalNanos, sym.total, 'total'),
    },
  };
  const head = new TextEncoder().encode(JSON.stringify(header));
  const start = align8(8 + head.byteLength);
  // A fresh buffer: offset 0, so every column's offset is 8-byte aligned for typed arrays.
  const out = new Uint8Array(start + data.size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, head.byteLength, true);
  out.set(head, 8);
  data.writeTo(out, start);
  return out;
}

/**
 * Reads the binary form back into the ProfileResponse the JSON form would have given, value
 * for value. `held`: the frames the client kept from its previous answer, needed when this
 * one sends only the frames after them (a mismatch is an error: ask again without `frames`).
 */
export function decodeProfile(bytes: ArrayBuffer | Uint8Array, held?: HeldFrames | null): DecodedProfile {
  const steps = decodeSteps(bytes, held);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * decodeProfile in slices: `pause` is awaited between them (a few ms of work each at 500k
 * nodes), so a browser decoding a large answer still handles input and paints meanwhile.
 */
export async function decodeProfileAsync(
  bytes: ArrayBuffer | Uint8Array,
  held: HeldFrames | null | undefined,
  pause: () => Promise<void>,
): Promise<DecodedProfile> {
  const steps = decodeSteps(bytes, held);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

/** Rows of the symbols table built per slice. */
const ROWS_PER_STEP = 25_000;

/** The decoder, one step per `yield`: the header, each column, the symbols rows a slice at a time. */
function* decodeSteps(bytes: ArrayBuffer | Uint8Array, held: HeldFrames | null | undefined): Generator<void, DecodedProfile> {
  let u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  // Typed-array views need aligned offsets: copy a view that starts mid-buffer at an odd place.
  if (u8.byteOffset % 8 !== 0) u8 = u8.slice();
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  if (u8.byteLength < 8 || dv.getUint32(0, true) !== MAGIC) throw new Error('not a Pilotlight profile (bad magic)');
  const headLength = dv.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + headLength))) as Header;
  if (header.v !== VERSION) throw new Error(`unsupported Pilotlight profile version ${header.v}`);
  const read = new ColumnReader(u8, align8(8 + headLength));
  yield;

  const f = header.frames;
  let base: FlameGraph['frames'] | null = null;
  if (f.from > 0) {
    if (!held || held.table !== f.table || held.frames.name.length < f.from) throw new Error('the answer continues a frames table this client does not hold');
    base = held.frames;
  }
  let frames: FlameGraph['frames'];
  if (base && f.count === 0 && base.name.length === f.from) {
    // Nothing new: the held frames are these frames (shared, never changed).
    frames = base;
  } else {
    const strings = header.strings;
    const strs = (c: Column, prefix: readonly string[] | undefined): string[] => {
      const ids = read.numbers(c, f.count);
      const out = prefix ? prefix.slice(0, f.from) : [];
      for (let i = 0; i < ids.length; i++) out.push(strings[ids[i]]);
      return out;
    };
    const nums = (c: Column, prefix: readonly number[] | undefined): number[] => {
      const col = read.numbers(c, f.count);
      const out = prefix ? prefix.slice(0, f.from) : [];
      for (let i = 0; i < col.length; i++) out.push(col[i]);
      return out;
    };
    const name = strs(f.name, base?.name);
    const file = strs(f.file, base?.file);
    yield;
    const line = nums(f.line, base?.line);
    const binary = strs(f.binary, base?.binary);
    const kind = strs(f.kind, base?.kind);
    frames = { name, file, line, binary, kind };
    yield;
  }

  const n = header.nodes;
  const frame = toArray(read.numbers(n.frame, n.count));
  yield;
  const depth = toArray(read.numbers(n.depth, n.count));
  yield;
  const total = toArray(read.numbers(n.total, n.count));
  yield;
  const self = toArray(read.numbers(n.self, n.count));
  yield;
  const flame: FlameGraph = { frames, frame, depth, total, self };

  const s = header.symbols;
  const cols: Record<string, ArrayLike<number>> = {};
  for (const name of ['frame', 'self', 'total', 'selfNanos', 'totalNanos'] as const) {
    const c = s[name];
    cols[name] = c.t === 'mul' ? scale(cols[c.of], c.k) : read.numbers(c, s.count);
  }
  const symbols: SymbolRow[] = new Array<SymbolRow>(s.count);
  for (let i = 0; i < s.count; i++) {
    if (i > 0 && i % ROWS_PER_STEP === 0) yield;
    const fr = cols.frame[i];
    symbols[i] = {
      name: frames.name[fr],
      file: frames.file[fr],
      binary: frames.binary[fr],
      kind: frames.kind[fr],
      self: cols.self[i],
      total: cols.total[i],
      selfNanos: cols.selfNanos[i],
      totalNanos: cols.totalNanos[i],
    };
  }
  return { profile: { ...header.meta, flame, symbols }, framesTable: f.table };
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function toArray(col: ArrayLike<number>): number[] {
  const out = new Array<number>(col.length);
  for (let i = 0; i < col.length; i++) out[i] = col[i];
  return out;
}

function scale(col: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(col.length);
  for (let i = 0; i < col.length; i++) out[i] = col[i] * k;
  return out;
}

const WIDTH = { u8: 1, u16: 2, u32: 4, f64: 8 } as const;
type Stored = keyof typeof WIDTH;

/** The narrowest stored type that holds every value exactly, and the bias stored values are relative to. */
function storedType(values: ArrayLike<number>): { t: Stored; b: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) return { t: 'f64', b: 0 };
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) return { t: 'u8', b: 0 };
  const span = max - min;
  if (span > 0xffffffff || !Number.isSafeInteger(min) || !Number.isSafeInteger(max)) return { t: 'f64', b: 0 };
  return { t: span <= 0xff ? 'u8' : span <= 0xffff ? 'u16' : 'u32', b: min === 0 ? 0 : min };
}

/** The data area being laid out: columns are placed as they are described and written at the end. */
class DataArea {
  size = 0;
  private readonly pending: { at: number; t: Stored; b: number; values: ArrayLike<number> }[] = [];

  column(values: ArrayLike<number>): Column {
    const n = values.length;
    if (n > 0) {
      const v0 = values[0];
      let same = true;
      for (let i = 1; i < n && same; i++) same = values[i] === v0;
      // -0 is written as 0, as JSON writes it.
      if (same) return { t: 'const', v: v0 === 0 ? 0 : v0 };
    }
    const { t, b } = storedType(values);
    const at = this.size;
    this.size = align8(at + n * WIDTH[t]);
    this.pending.push({ at, t, b, values });
    return { t, o: at, b };
  }

  /** `values`, as `of` × k when that holds for every row exactly (CPU: nanoseconds = samples × period). */
  scaled(values: ArrayLike<number>, of: ArrayLike<number>, ofName: string): Column {
    let k = NaN;
    for (let i = 0; i < of.length; i++) {
      if (of[i] !== 0) {
        k = values[i] / of[i];
        break;
      }
    }
    if (Number.isFinite(k)) {
      let exact = true;
      for (let i = 0; i < values.length && exact; i++) exact = Object.is(of[i] * k, values[i]) || (values[i] === 0 && of[i] * k === 0);
      if (exact) return { t: 'mul', of: ofName, k };
    }
    return this.column(values);
  }

  writeTo(out: Uint8Array, start: number): void {
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (const { at, t, b, values } of this.pending) {
      const base = start + at;
      const n = values.length;
      if (LITTLE_ENDIAN) {
        // Typed-array stores: several times faster than DataView calls on large columns.
        const view =
          t === 'u8'
            ? new Uint8Array(out.buffer, out.byteOffset + base, n)
            : t === 'u16'
              ? new Uint16Array(out.buffer, out.byteOffset + base, n)
              : t === 'u32'
                ? new Uint32Array(out.buffer, out.byteOffset + base, n)
                : new Float64Array(out.buffer, out.byteOffset + base, n);
        // -0 is written as 0 (as JSON writes it): adding 0 turns -0 into 0.
        if (t === 'f64') for (let i = 0; i < n; i++) view[i] = values[i] + 0;
        else if (b === 0) for (let i = 0; i < n; i++) view[i] = values[i];
        else for (let i = 0; i < n; i++) view[i] = values[i] - b;
        continue;
      }
      for (let i = 0; i < n; i++) {
        const v = values[i] - b;
        if (t === 'u8') dv.setUint8(base + i, v);
        else if (t === 'u16') dv.setUint16(base + 2 * i, v, true);
        else if (t === 'u32') dv.setUint32(base + 4 * i, v, true);
        else dv.setFloat64(base + 8 * i, values[i] + 0, true);
      }
    }
  }
}

/** Whether typed arrays are little-endian here (every platform a browser or Node runs on, in practice). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

class ColumnReader {
  constructor(
    private readonly u8: Uint8Array,
    private readonly start: number,
  ) {}

  /** A column's values: a view on the bytes where it can be one, else a copy. */
  numbers(c: Column, n: number): ArrayLike<number> {
    if (c.t === 'const') return new Float64Array(n).fill(c.v);
    if (c.t === 'mul') throw new Error('a scaled column needs its source column');
    const width = WIDTH[c.t];
    if (this.start + c.o + n * width > this.u8.byteLength) throw new Error('truncated Pilotlight profile');
    const at = this.u8.byteOffset + this.start + c.o;
    const buf = this.u8.buffer;
    let raw: ArrayLike<number>;
    if (LITTLE_ENDIAN) {
      raw =
        c.t === 'u8'
          ? new Uint8Array(buf, at, n)
          : c.t === 'u16'
            ? new Uint16Array(buf, at, n)
            : c.t === 'u32'
              ? new Uint32Array(buf, at, n)
              : new Float64Array(buf, at, n);
    } else {
      const dv = new DataView(buf, at, n * width);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++)
        out[i] =
          c.t === 'u8' ? dv.getUint8(i) : c.t === 'u16' ? dv.getUint16(2 * i, true) : c.t === 'u32' ? dv.getUint32(4 * i, true) : dv.getFloat64(8 * i, true);
      raw = out;
    }
    if (c.b === 0) return raw;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = raw[i] + c.b;
    return out;
  }
}
