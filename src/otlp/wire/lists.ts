/**
 * Growable typed arrays: the wire reader's tables are columns of these, never arrays of
 * objects. They start small: a request has some forty columns, and a store chunk is tens of
 * kilobytes, so big initial capacities cost more to allocate than doubling does.
 */
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
    const next = new Int32Array(this.a.length * 2);
    next.set(this.a);
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
    const next = new Float64Array(this.a.length * 2);
    next.set(this.a);
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
