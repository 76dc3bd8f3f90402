/**
 * Growable typed arrays: the wire reader's tables are columns of these, never arrays of
 * objects. They start small: a request has some forty columns, and a store chunk is tens of
 * kilobytes, so big initial capacities cost more to allocate than doubling does.
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

export class Int32List {
  a: Int32Array;
  n = 0;
  constructor(capacity = 16) {
    this.a = new Int32Array(capacity);
  }

  push(v: number): void {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }

  private grow(): void {
    const next = take(spareInt32, this.a.length * 2, (n) => new Int32Array(n));
    next.set(this.a);
    keep(spareInt32, this.a);
    this.a = next;
  }
}

export class Float64List {
  a: Float64Array;
  n = 0;
  constructor(capacity = 16) {
    this.a = new Float64Array(capacity);
  }

  push(v: number): void {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }

  private grow(): void {
    const next = take(spareFloat64, this.a.length * 2, (n) => new Float64Array(n));
    next.set(this.a);
    keep(spareFloat64, this.a);
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
  const buf = r.buf;
  let pos = r.pos;
  while (pos < end) {
    const b0 = buf[pos];
    if (b0 < 0x80) {
      list.push(b0);
      pos++;
      continue;
    }
    if (pos + 1 < end) {
      const b1 = buf[pos + 1];
      if (b1 < 0x80) {
        list.push((b0 & 0x7f) | (b1 << 7));
        pos += 2;
        continue;
      }
    }
    r.pos = pos;
    list.push(r.int32());
    pos = r.pos;
  }
  r.pos = pos;
}
