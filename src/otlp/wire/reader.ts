/**
 * A protobuf wire reader that behaves like protobuf-es's BinaryReader as `fromBinary` drives
 * it: same accept/reject on any input and the same error text, so the fast ingest path and
 * `decodeRequest` answer a sender identically. The quirks it keeps on purpose:
 * - a known field is read by its declared type whatever wire type the tag says (only repeated
 *   scalars look at it, to tell packed from unpacked);
 * - a nested message may run past its declared length; reading simply continues there;
 * - reads past the end of the buffer fail with "premature EOF", except fixed-width reads,
 *   which fail as DataView does.
 */

export const RECURSION_LIMIT = 100;

const ASCII_MAX_LENGTH = 32;

/** The message a DataView gives for a read past its end (protobuf-es reads fixed64 that way). */
const DATAVIEW_BOUNDS = ((): string => {
  try {
    new DataView(new ArrayBuffer(0)).getInt32(0, true);
  } catch (err) {
    return (err as Error).message;
  }
  return 'Offset is outside the bounds of the DataView';
})();

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class WireReader {
  readonly buf: Uint8Array;
  readonly len: number;
  pos = 0;
  /** The two halves of the last 64-bit value read (varint64 or fixed64), as int32. */
  lo = 0;
  hi = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.len = buf.length;
  }

  assertBounds(): void {
    if (this.pos > this.len) throw new RangeError('premature EOF');
  }

  /**
   * A tag as fieldNo << 3 | wireType (use `>>> 3` and `& 7`). Nearly every tag is one byte
   * (fields 1–15): those are taken here, small enough to inline; the rest go through `tagSlow`.
   */
  tag(): number {
    const b = this.buf[this.pos];
    // A byte past the end is undefined, which fails `b < 0x80`.
    if (b < 0x80 && b >= 8 && (b & 7) <= 5) {
      this.pos++;
      return b;
    }
    return this.tagSlow();
  }

  private tagSlow(): number {
    const start = this.pos;
    const tag = this.uint32();
    const read = this.pos - start;
    if (read > 5 || (read === 5 && this.buf[this.pos - 1] > 0x0f)) throw new Error('illegal tag: varint overflows uint32');
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo <= 0 || wireType > 5) throw new Error('illegal tag: field no ' + fieldNo + ' wire type ' + wireType);
    return tag;
  }

  /**
   * A uint32 varint; one and two bytes inline (a byte past the end is undefined, which fails
   * `< 0x80`, and goes the long way).
   */
  uint32(): number {
    const buf = this.buf;
    const pos = this.pos;
    const b = buf[pos];
    if (b < 0x80) {
      this.pos = pos + 1;
      return b;
    }
    const b1 = buf[pos + 1];
    if (b1 < 0x80) {
      this.pos = pos + 2;
      return (b & 0x7f) | (b1 << 7);
    }
    return this.uint32Slow();
  }

  private uint32Slow(): number {
    const buf = this.buf;
    let b = buf[this.pos++];
    if ((b & 0x80) === 0) {
      this.assertBounds();
      return b;
    }
    let result = b & 0x7f;
    b = buf[this.pos++];
    result |= (b & 0x7f) << 7;
    if ((b & 0x80) === 0) {
      this.assertBounds();
      return result;
    }
    b = buf[this.pos++];
    result |= (b & 0x7f) << 14;
    if ((b & 0x80) === 0) {
      this.assertBounds();
      return result;
    }
    b = buf[this.pos++];
    result |= (b & 0x7f) << 21;
    if ((b & 0x80) === 0) {
      this.assertBounds();
      return result;
    }
    b = buf[this.pos++];
    result |= (b & 0x0f) << 28;
    for (let readBytes = 5; (b & 0x80) !== 0 && readBytes < 10; readBytes++) b = buf[this.pos++];
    if ((b & 0x80) !== 0) throw new Error('invalid varint');
    this.assertBounds();
    return result >>> 0;
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** Reads a varint into `lo`/`hi`; one byte inline. */
  varint64(): void {
    const b = this.buf[this.pos];
    if (b < 0x80) {
      this.pos++;
      this.lo = b;
      this.hi = 0;
      return;
    }
    this.varint64Slow();
  }

  private varint64Slow(): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return this.end64(pos, lo, hi);
    }
    const middle = buf[pos++];
    lo |= (middle & 0x0f) << 28;
    hi = (middle & 0x70) >> 4;
    if ((middle & 0x80) === 0) return this.end64(pos, lo, hi);
    for (let shift = 3; shift <= 31; shift += 7) {
      const b = buf[pos++];
      hi |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return this.end64(pos, lo, hi);
    }
    throw new Error('invalid varint');
  }

  private end64(pos: number, lo: number, hi: number): void {
    this.pos = pos;
    this.assertBounds();
    this.lo = lo;
    this.hi = hi;
  }

  /** An int64 as the nearest double, as Number(bigint) would give. */
  int64(): number {
    this.varint64();
    return (this.hi | 0) * 4294967296 + (this.lo >>> 0);
  }

  /** A uint64 as the nearest double. */
  uint64(): number {
    this.varint64();
    return (this.hi >>> 0) * 4294967296 + (this.lo >>> 0);
  }

  /** Reads a fixed64 into `lo`/`hi`, failing like DataView on a short buffer. */
  fixed64(): void {
    const buf = this.buf;
    let p = this.pos;
    if ((this.pos = p + 4) > this.len) throw new RangeError(DATAVIEW_BOUNDS);
    this.lo = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
    p += 4;
    if ((this.pos = p + 4) > this.len) throw new RangeError(DATAVIEW_BOUNDS);
    this.hi = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
  }

  double(): number {
    const p = this.pos;
    if ((this.pos = p + 8) > this.len) throw new RangeError(DATAVIEW_BOUNDS);
    return new DataView(this.buf.buffer, this.buf.byteOffset + p, 8).getFloat64(0, true);
  }

  bool(): boolean {
    const b = this.buf[this.pos];
    if (b < 0x80) {
      this.pos++;
      return b !== 0;
    }
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  /** A length-delimited field's bytes (a view into the buffer). */
  bytes(): Uint8Array {
    const len = this.uint32();
    const start = this.pos;
    this.pos += len;
    this.assertBounds();
    return this.buf.subarray(start, start + len);
  }

  /** Skips a bytes field, returning its length. */
  bytesLength(): number {
    const len = this.uint32();
    this.pos += len;
    this.assertBounds();
    return len;
  }

  /**
   * Checks a string field without building it and returns its start: ASCII needs no decoding
   * (the common case); anything else is decoded once to check it, as protobuf-es would. A
   * string inside [asciiFrom, asciiTo), bytes already known to be ASCII, needs no look at all.
   */
  checkedString(asciiFrom = 0, asciiTo = 0): number {
    const len = this.uint32();
    const start = this.pos;
    this.pos += len;
    this.assertBounds();
    if (start >= asciiFrom && start + len <= asciiTo) return start;
    const buf = this.buf;
    // Every byte or'ed together, four at a time: one branch per string, not one per byte.
    let any = 0;
    let i = start;
    const end = start + len;
    for (; i + 3 < end; i += 4) any |= buf[i] | buf[i + 1] | buf[i + 2] | buf[i + 3];
    for (; i < end; i++) any |= buf[i];
    if (any > 0x7f) strictUtf8.decode(buf.subarray(start, end));
    return start;
  }

  skip(wireType: number, fieldNo: number, recursionLimit: number): void {
    switch (wireType) {
      case 0:
        while (this.buf[this.pos++] & 0x80) {
          // a varint of any length
        }
        break;
      case 1:
        this.pos += 8;
        break;
      case 5:
        this.pos += 4;
        break;
      case 2: {
        const len = this.uint32();
        this.pos += len;
        break;
      }
      case 3:
        if (recursionLimit <= 0) throw new Error('maximum recursion depth reached');
        for (;;) {
          const tag = this.tag();
          if ((tag & 7) === 4) {
            if (tag >>> 3 !== fieldNo) throw new Error('invalid end group tag');
            break;
          }
          this.skip(tag & 7, tag >>> 3, recursionLimit - 1);
        }
        break;
      default:
        throw new Error('cant skip wire type ' + wireType);
    }
    this.assertBounds();
  }
}

/** Decodes a checked string (see `checkedString`). */
export function decodeString(buf: Uint8Array, start: number, len: number): string {
  if (len <= ASCII_MAX_LENGTH) {
    let ascii = true;
    for (let i = start; i < start + len; i++) {
      if (buf[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, buf.subarray(start, start + len) as unknown as number[]);
  }
  return strictUtf8.decode(buf.subarray(start, start + len));
}

/** Thrown where protobuf-es would refuse to nest messages any deeper. */
export function checkDepth(depth: number, typeName: string): void {
  if (depth > RECURSION_LIMIT) {
    throw new Error(`cannot decode message ${typeName} from binary: maximum recursion depth of ${RECURSION_LIMIT} reached`);
  }
}

/** Two int32 halves to a bigint, signed or unsigned, for the few places that need the exact value. */
export function toBigInt(lo: number, hi: number, signed: boolean): bigint {
  const u = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return signed ? BigInt.asIntN(64, u) : u;
}

/** Unsigned nanoseconds (two halves) to ms, equal to Number(nanos / 1000n) / 1000. */
export function nanosToMs64(lo: number, hi: number): number {
  const h = hi >>> 0;
  const qh = Math.floor(h / 1000);
  const low = (h - qh * 1000) * 4294967296 + (lo >>> 0);
  return (qh * 4294967296 + Math.floor(low / 1000)) / 1000;
}
