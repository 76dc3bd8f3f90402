import { DICTIONARY, LEN, LINK } from './fields.js';

/**
 * A growable protobuf output buffer for the chunk writer. Length-delimited fields are written
 * in place: `open` reserves one length byte, `close` moves the content up when its length needs
 * more (rare: most messages a chunk holds are under 128 bytes), so nothing is built twice.
 */
export class WireWriter {
  buf: Uint8Array;
  pos = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
  }

  /** Room for `n` more bytes at `pos` (`buf` may be replaced: read it after). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(64, this.buf.length * 2);
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** An unsigned 32-bit varint (indices, lengths, tags). */
  varint(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let v = value >>> 0;
    while (v > 0x7f) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  tag(fieldNo: number, wireType: number): void {
    this.varint((fieldNo << 3) | wireType);
  }

  /** Copies `src[start, end)` as it is. */
  copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    // Most copied fields are a few bytes: a loop beats making a subarray for each.
    if (n <= 32) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = src[i];
    } else {
      this.buf.set(src.subarray(start, end), this.pos);
    }
    this.pos += n;
  }

  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Starts a length-delimited field; returns where its content starts (for `close`). */
  open(fieldNo: number): number {
    this.tag(fieldNo, LEN);
    this.ensure(1);
    this.pos++;
    return this.pos;
  }

  /** Ends the field `open` started, writing its length. */
  close(start: number): void {
    const len = this.pos - start;
    let size = 1;
    for (let v = len >>> 7; v > 0; v >>>= 7) size++;
    if (size > 1) {
      this.ensure(size - 1);
      this.buf.copyWithin(start + size - 1, start, this.pos);
      this.pos += size - 1;
    }
    let at = start - 1;
    let v = len;
    while (v > 0x7f) {
      this.buf[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at] = v;
  }

  /** ProfilesDictionary.link_table's zero entry, as senders write it: 16 zero bytes of trace id, 8 of span id. */
  zeroLink(): void {
    const e = this.open(DICTIONARY.linkTable);
    this.tag(LINK.traceId, LEN);
    this.varint(16);
    this.zeros(16);
    this.tag(LINK.spanId, LEN);
    this.varint(8);
    this.zeros(8);
    this.close(e);
  }

  /** The bytes written, in an ArrayBuffer of their own. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
