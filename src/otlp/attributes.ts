import type { AnyValue, KeyValue, KeyValueAndUnit } from './messages.js';

export type AttributeValue = string | number | boolean | bigint | AttributeValue[] | { [key: string]: AttributeValue } | Uint8Array;

/**
 * Resolves an attribute value, following `string_value_strindex` into the string table (the
 * Collector's profiles marshaler turns string values into such references).
 */
export function anyValue(v: AnyValue | undefined, strings: readonly string[]): AttributeValue | undefined {
  if (!v) return undefined;
  const x = v.value;
  switch (x.case) {
    case 'stringValue':
      return x.value;
    case 'stringValueStrindex':
      return strings[x.value] ?? '';
    case 'boolValue':
    case 'doubleValue':
    case 'bytesValue':
      return x.value;
    case 'intValue':
      return Number.isSafeInteger(Number(x.value)) ? Number(x.value) : x.value;
    case 'arrayValue':
      return x.value.values.map((item) => anyValue(item, strings) ?? '');
    case 'kvlistValue': {
      const out: Record<string, AttributeValue> = {};
      for (const kv of x.value.values) out[keyOf(kv, strings)] = anyValue(kv.value, strings) ?? '';
      return out;
    }
    default:
      return undefined;
  }
}

/** A KeyValue's key: `key`, or `key_strindex` into the string table. */
export function keyOf(kv: KeyValue, strings: readonly string[]): string {
  return kv.key !== '' ? kv.key : (strings[kv.keyStrindex] ?? '');
}

/** Resource or scope attributes as a plain record (both key and value string forms resolved). */
export function keyValues(kvs: readonly KeyValue[] | undefined, strings: readonly string[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (!kvs) return out;
  for (const kv of kvs) {
    const value = anyValue(kv.value, strings);
    if (value !== undefined) out[keyOf(kv, strings)] = value;
  }
  return out;
}

/** Attributes referenced by index into the dictionary's attribute_table. */
export function tableAttributes(indices: readonly number[], table: readonly KeyValueAndUnit[], strings: readonly string[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const i of indices) {
    if (i === 0) continue;
    const kvu = table[i];
    const value = anyValue(kvu.value, strings);
    if (value !== undefined) out[strings[kvu.keyStrindex] ?? ''] = value;
  }
  return out;
}

export function attributeString(v: AttributeValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return undefined;
}
