import { ANY_VALUE, FIXED64, LEN, VARINT } from './fields.js';
import type { SimpleValue } from '../frame.js';
import { WireWriter } from './writer.js';

/** Bytes of an unsigned varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

const utf8 = new TextEncoder();

/**
 * The wire writer with the scalar fields a message writer needs, as protobuf writes them
 * (proto3: zero values are left out): the node sampler writes its requests with it.
 */
export class MessageWriter extends WireWriter {
  /** A non-negative int32/uint32 field; nothing for 0. */
  uint(fieldNo: number, value: number): void {
    if (value === 0) return;
    this.tag(fieldNo, VARINT);
    this.varint(value);
  }

  /** A uint64/int64 field of a non-negative value; nothing for 0. */
  uint64Field(fieldNo: number, value: number | bigint): void {
    if (value === 0 || value === 0n) return;
    this.tag(fieldNo, VARINT);
    this.uint64(value);
  }

  /** An unsigned 64-bit varint from a non-negative safe integer or a bigint. */
  uint64(value: number | bigint): void {
    if (typeof value === 'bigint') {
      if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= 0n) value = Number(value);
      else {
        let v = BigInt.asUintN(64, value);
        this.ensure(10);
        while (v > 0x7fn) {
          this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
          v >>= 7n;
        }
        this.buf[this.pos++] = Number(v);
        return;
      }
    }
    this.ensure(10);
    let n = value;
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  fixed64(value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.fixed32(Number(v & 0xffffffffn));
    this.fixed32(Number(v >> 32n));
  }

  private fixed32(n: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = n & 0xff;
    b[this.pos++] = (n >>> 8) & 0xff;
    b[this.pos++] = (n >>> 16) & 0xff;
    b[this.pos++] = (n >>> 24) & 0xff;
  }

  /** A string field (UTF-8); an empty one only when `always` (a repeated field's element). */
  string(fieldNo: number, s: string, always = false): void {
    if (s === '' && !always) return;
    this.tag(fieldNo, LEN);
    // Most names are ASCII: copied byte by byte, with the length known up front.
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.varint(s.length);
      this.ensure(s.length);
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    const bytes = utf8.encode(s);
    this.varint(bytes.length);
    this.copy(bytes, 0, bytes.length);
  }

  /** An empty message field (a table's zero entry). */
  empty(fieldNo: number): void {
    this.tag(fieldNo, LEN);
    this.varint(0);
  }

  /** A packed repeated int32 field of these records' indices in the request; nothing when empty. */
  packedIndices(fieldNo: number, records: readonly { index: number }[]): void {
    if (records.length === 0) return;
    let size = 0;
    for (let i = 0; i < records.length; i++) size += varintSize(records[i].index);
    this.tag(fieldNo, LEN);
    this.varint(size);
    for (let i = 0; i < records.length; i++) this.varint(records[i].index);
  }

  /** The AnyValue message body for a simple value. */
  anyValue(value: SimpleValue): void {
    if (typeof value === 'string') {
      this.string(ANY_VALUE.stringValue, value, true);
    } else if (typeof value === 'boolean') {
      this.tag(ANY_VALUE.boolValue, VARINT);
      this.varint(value ? 1 : 0);
    } else if (Number.isInteger(value)) {
      this.tag(ANY_VALUE.intValue, VARINT);
      this.uint64(value >= 0 && value <= Number.MAX_SAFE_INTEGER ? value : BigInt(value));
    } else {
      this.tag(ANY_VALUE.doubleValue, FIXED64);
      const f = new DataView(new ArrayBuffer(8));
      f.setFloat64(0, value, true);
      this.fixed32(f.getUint32(0, true));
      this.fixed32(f.getUint32(4, true));
    }
  }
}
