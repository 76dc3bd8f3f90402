/**
 * Growable typed arrays: the wire reader's tables are columns of these, never arrays of
 * objects. They start empty (a request has some forty columns, many of them unused) and the
 * dictionary reader reserves each table's room once it has counted the entries.
 *
 * The array a column outgrows is kept for the next column that grows to that size (a few per
 * size): nothing can refer to it any more (columns only grow while a request is being read,
 * before anyone sees them), and each request outgrew a hundred or so arrays, each a malloc
 * and a free outside the JS heap, which left the UI process's malloc heap fragmented.
 */
const KEEP_PER_SIZE = 4;
const spareInt32 = new Map<number, Int32Array[]>();
const spareFloat64 = new Map<number, Float64Array[]>();

function take<T extends Int32Array | Float64Array>(spare: Map<number, T[]>, length: number, make: (n: number) => T): T {
  return spare.get(length)?.pop() ?? make(length);
}

function keep<T extends Int32Array | Float64Array>(spare: Map<number, T[]>, a: T): void {
  let list = spare.get(a.length);
  if (!list) {
    list = [];
    spare.set(a.length, list);
  }
  if (list.length < KEEP_PER_SIZE) list.push(a);
}

/** What a list holds before its first push: nothing is allocated for a column never used. */
const NO_INT32 = new Int32Array(0);
const NO_FLOAT64 = new Float64Array(0);

export class Int32List {
  a: Int32Array;
  n = 0;
  constructor(capacity = 0) {
    this.a = capacity > 0 ? new Int32Array(capacity) : NO_INT32;
  }

  push(v: number): void {
    if (this.n === this.a.length) this.grow(this.n + 1);
    this.a[this.n++] = v;
  }

  /** Room for `more` entries past `n` without growing. */
  reserve(more: number): void {
    if (this.n + more > this.a.length) this.grow(this.n + more);
  }

  private grow(need: number): void {
    const next = take(spareInt32, Math.max(need, this.a.length * 2, 16), (n) => new Int32Array(n));
    next.set(this.a);
    if (this.a.length > 0) keep(spareInt32, this.a);
    this.a = next;
  }
}

export class Float64List {
  a: Float64Array;
  n = 0;
  constructor(capacity = 0) {
    this.a = capacity > 0 ? new Float64Array(capacity) : NO_FLOAT64;
  }

  push(v: number): void {
    if (this.n === this.a.length) this.grow(this.n + 1);
    this.a[this.n++] = v;
  }

  /** Room for `more` entries past `n` without growing. */
  reserve(more: number): void {
    if (this.n + more > this.a.length) this.grow(this.n + more);
  }

  private grow(need: number): void {
    const next = take(spareFloat64, Math.max(need, this.a.length * 2, 16), (n) => new Float64Array(n));
    next.set(this.a);
    if (this.a.length > 0) keep(spareFloat64, this.a);
    this.a = next;
  }
}

interface Int32Source {
  readonly buf: Uint8Array;
  readonly len: number;
  pos: number;
  uint32(): number;
  int32(): number;
}

/**
 * Reads a repeated int32 field occurrence (packed or not) onto `list`. Packed runs inside the
 * buffer decode one- and two-byte varints inline (every index below 16384, so nearly all of a
 * stack table); anything longer, or a run past the end, goes through the reader.
 */
export function readInt32s(r: Int32Source, wireType: number, list: Int32List): void {
  if (wireType !== 2) {
    list.push(r.int32());
    return;
  }
  const end = r.uint32() + r.pos;
  if (end > r.len) {
    while (r.pos < end) list.push(r.int32());
    return;
  }
  // A run of k bytes holds at most k values: room for them all, then plain stores.
  list.reserve(end - r.pos);
  const buf = r.buf;
  const a = list.a;
  let n = list.n;
  let pos = r.pos;
  while (pos < end) {
    const b0 = buf[pos];
    if (b0 < 0x80) {
      a[n++] = b0;
      pos++;
      continue;
    }
    if (pos + 1 < end) {
      const b1 = buf[pos + 1];
      if (b1 < 0x80) {
        a[n++] = (b0 & 0x7f) | (b1 << 7);
        pos += 2;
        continue;
      }
    }
    r.pos = pos;
    a[n++] = r.int32();
    pos = r.pos;
  }
  list.n = n;
  r.pos = pos;
}
