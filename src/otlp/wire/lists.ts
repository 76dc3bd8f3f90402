/**
 * Growable typed arrays: the wire reader's tables are columns of these, never arrays of
 * objects. They start empty (a request has some forty columns, many of them unused) and the
 * dictionary reader reserves each table's room once it has counted the entries.
 *
 * Columns take their room from a shared slab: one ArrayBuffer carved into views, one after the
 * other, never handed out twice. A request's forty-odd columns were forty-odd ArrayBuffers, each
 * a zeroed malloc and a free outside the JS heap (a tenth of reading a node's request, and a
 * fragmented malloc heap in the UI process); now a slab serves many requests and goes when the
 * last column cut from it does. Room a column outgrows stays unused in its slab. A column too
 * big for a slab gets an ArrayBuffer of its own.
 */
const SLAB_BYTES = 1 << 20;
const OWN_BUFFER_BYTES = SLAB_BYTES >> 2;
let slab = rawBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * An ArrayBuffer of `bytes` left as malloc gives it (not zeroed: a column is read only below
 * its length, where it was written).
 */
function rawBuffer(bytes: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
}

/** Where `bytes` (a multiple of 8) of room start: [buffer, byte offset]. */
function room(bytes: number): [ArrayBuffer, number] {
  if (bytes >= OWN_BUFFER_BYTES) return [rawBuffer(bytes), 0];
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = rawBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed += bytes;
  return [slab, at];
}

function int32s(length: number): Int32Array {
  const [buffer, at] = room(Math.ceil(length / 2) * 8);
  return new Int32Array(buffer, at, length);
}

function float64s(length: number): Float64Array {
  const [buffer, at] = room(length * 8);
  return new Float64Array(buffer, at, length);
}

/** Capacity for at least `need` entries, growing from `length`. */
function capacity(need: number, length: number): number {
  return Math.max(need, length * 2, 16);
}

/** What a list holds before its first push: nothing is allocated for a column never used. */
const NO_INT32 = new Int32Array(0);
const NO_FLOAT64 = new Float64Array(0);

export class Int32List {
  a: Int32Array;
  n = 0;
  constructor(capacity = 0) {
    this.a = capacity > 0 ? int32s(capacity) : NO_INT32;
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
    const next = int32s(capacity(need, this.a.length));
    next.set(this.a.subarray(0, this.n));
    this.a = next;
  }
}

export class Float64List {
  a: Float64Array;
  n = 0;
  constructor(capacity = 0) {
    this.a = capacity > 0 ? float64s(capacity) : NO_FLOAT64;
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
    const next = float64s(capacity(need, this.a.length));
    next.set(this.a.subarray(0, this.n));
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
