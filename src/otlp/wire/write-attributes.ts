import type { AnyValue, KeyValue, KeyValueAndUnit } from '../messages.js';
import { ANY_VALUE, ARRAY_VALUE, FIXED64, KEY_VALUE, KEY_VALUE_AND_UNIT, KEY_VALUE_LIST, LEN, VARINT } from './fields.js';
import type { WireWriter } from './writer.js';

/**
 * Attributes written to protobuf from the objects the wire reader builds for them (`common.ts`:
 * the small, cold messages), as protobuf-es would write them: for a request rewritten on the
 * wire whose attributes change (the gateway's reshaping), while everything else is copied as
 * received.
 */

const utf8 = new TextEncoder();
const scratch = new Uint8Array(10);
const scratchView = new DataView(scratch.buffer);

export function writeString(w: WireWriter, fieldNo: number, s: string): void {
  const b = utf8.encode(s);
  w.tag(fieldNo, LEN);
  w.varint(b.length);
  w.copy(b, 0, b.length);
}

/** A 64-bit varint (int64 as two's complement, as protobuf writes it). */
export function writeVarint64(w: WireWriter, v: bigint): void {
  let u = BigInt.asUintN(64, v);
  let n = 0;
  while (u >= 0x80n) {
    scratch[n++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  scratch[n++] = Number(u);
  w.copy(scratch, 0, n);
}

/** A varint of a non-negative integer up to 2^53 (a sum of sample values). */
export function writeUint53(w: WireWriter, v: number): void {
  let n = 0;
  while (v >= 0x80) {
    scratch[n++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  scratch[n++] = v;
  w.copy(scratch, 0, n);
}

/** A KeyValue message as field `fieldNo`. */
export function writeKeyValue(w: WireWriter, fieldNo: number, kv: KeyValue): void {
  const s = w.open(fieldNo);
  if (kv.key !== '') writeString(w, KEY_VALUE.key, kv.key);
  if (kv.value) writeAnyValue(w, KEY_VALUE.value, kv.value);
  if (kv.keyStrindex !== 0) {
    w.tag(KEY_VALUE.keyStrindex, VARINT);
    writeVarint64(w, BigInt(kv.keyStrindex));
  }
  w.close(s);
}

/** A KeyValueAndUnit (an attribute_table entry) as field `fieldNo`. */
export function writeKeyValueAndUnit(w: WireWriter, fieldNo: number, kvu: KeyValueAndUnit): void {
  const s = w.open(fieldNo);
  if (kvu.keyStrindex !== 0) {
    w.tag(KEY_VALUE_AND_UNIT.keyStrindex, VARINT);
    writeVarint64(w, BigInt(kvu.keyStrindex));
  }
  if (kvu.value) writeAnyValue(w, KEY_VALUE_AND_UNIT.value, kvu.value);
  if (kvu.unitStrindex !== 0) {
    w.tag(KEY_VALUE_AND_UNIT.unitStrindex, VARINT);
    writeVarint64(w, BigInt(kvu.unitStrindex));
  }
  w.close(s);
}

/** An AnyValue as field `fieldNo`; its one value is written even when it is the default (a oneof). */
export function writeAnyValue(w: WireWriter, fieldNo: number, v: AnyValue): void {
  const s = w.open(fieldNo);
  const x = v.value;
  switch (x.case) {
    case 'stringValue':
      writeString(w, ANY_VALUE.stringValue, x.value);
      break;
    case 'boolValue':
      w.tag(ANY_VALUE.boolValue, VARINT);
      w.varint(x.value ? 1 : 0);
      break;
    case 'intValue':
      w.tag(ANY_VALUE.intValue, VARINT);
      writeVarint64(w, x.value);
      break;
    case 'doubleValue':
      w.tag(ANY_VALUE.doubleValue, FIXED64);
      scratchView.setFloat64(0, x.value, true);
      w.copy(scratch, 0, 8);
      break;
    case 'arrayValue': {
      const a = w.open(ANY_VALUE.arrayValue);
      for (const item of x.value.values) writeAnyValue(w, ARRAY_VALUE.values, item);
      w.close(a);
      break;
    }
    case 'kvlistValue': {
      const l = w.open(ANY_VALUE.kvlistValue);
      for (const kv of x.value.values) writeKeyValue(w, KEY_VALUE_LIST.values, kv);
      w.close(l);
      break;
    }
    case 'bytesValue':
      w.tag(ANY_VALUE.bytesValue, LEN);
      w.varint(x.value.length);
      w.copy(x.value, 0, x.value.length);
      break;
    case 'stringValueStrindex':
      w.tag(ANY_VALUE.stringValueStrindex, VARINT);
      writeVarint64(w, BigInt(x.value));
      break;
    default:
      break;
  }
  w.close(s);
}
