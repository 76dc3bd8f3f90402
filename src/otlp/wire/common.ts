import type { AnyValue, KeyValue } from '../messages.js';
import { ANY_VALUE, ARRAY_VALUE, ENTITY_REF, KEY_VALUE, KEY_VALUE_LIST, RESOURCE, SCOPE } from './fields.js';
import { internString } from './intern.js';
import { RECURSION_LIMIT, checkDepth, toBigInt, type WireReader } from './reader.js';

/**
 * The small, cold messages (attributes, resource, scope) read into the same objects protobuf-es
 * would build, so the attribute helpers in `../attributes.ts` work on them unchanged.
 * `depth` is the message's nesting level (the request is 1), as protobuf-es counts it.
 */

const ANY_VALUE_TYPE = 'opentelemetry.proto.common.v1.AnyValue';
const KEY_VALUE_TYPE = 'opentelemetry.proto.common.v1.KeyValue';
const ARRAY_VALUE_TYPE = 'opentelemetry.proto.common.v1.ArrayValue';
const KEY_VALUE_LIST_TYPE = 'opentelemetry.proto.common.v1.KeyValueList';

type ArrayValue = Extract<AnyValue['value'], { case: 'arrayValue' }>['value'];
type KeyValueList = Extract<AnyValue['value'], { case: 'kvlistValue' }>['value'];

/**
 * A string field, shared with earlier requests when seen before (`internString`): a sender
 * repeats its resource attributes request after request.
 */
function readString(r: WireReader): string {
  const start = r.checkedString();
  return internString(r.buf, start, r.pos - start);
}

/** Reads an AnyValue of `len` bytes, merging into `into` when the field repeats (protobuf rules). */
export function readAnyValue(r: WireReader, len: number, depth: number, into?: AnyValue): AnyValue {
  checkDepth(depth, ANY_VALUE_TYPE);
  const end = r.pos + len;
  const msg = into ?? ({ $typeName: ANY_VALUE_TYPE, value: { case: undefined } } as AnyValue);
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case ANY_VALUE.stringValue:
        msg.value = { case: 'stringValue', value: readString(r) };
        break;
      case ANY_VALUE.boolValue:
        msg.value = { case: 'boolValue', value: r.bool() };
        break;
      case ANY_VALUE.intValue:
        r.varint64();
        msg.value = { case: 'intValue', value: toBigInt(r.lo, r.hi, true) };
        break;
      case ANY_VALUE.doubleValue:
        msg.value = { case: 'doubleValue', value: r.double() };
        break;
      case ANY_VALUE.arrayValue: {
        const prev = msg.value.case === 'arrayValue' ? msg.value.value : undefined;
        msg.value = { case: 'arrayValue', value: readArrayValue(r, r.uint32(), depth + 1, prev) };
        break;
      }
      case ANY_VALUE.kvlistValue: {
        const prev = msg.value.case === 'kvlistValue' ? msg.value.value : undefined;
        msg.value = { case: 'kvlistValue', value: readKeyValueList(r, r.uint32(), depth + 1, prev) };
        break;
      }
      case ANY_VALUE.bytesValue:
        msg.value = { case: 'bytesValue', value: r.bytes() };
        break;
      case ANY_VALUE.stringValueStrindex:
        msg.value = { case: 'stringValueStrindex', value: r.int32() };
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
    }
  }
  return msg;
}

function readArrayValue(r: WireReader, len: number, depth: number, into?: ArrayValue): ArrayValue {
  checkDepth(depth, ARRAY_VALUE_TYPE);
  const end = r.pos + len;
  const msg = into ?? ({ $typeName: ARRAY_VALUE_TYPE, values: [] } as unknown as ArrayValue);
  while (r.pos < end) {
    const tag = r.tag();
    if (tag >>> 3 === ARRAY_VALUE.values) msg.values.push(readAnyValue(r, r.uint32(), depth + 1));
    else r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
  }
  return msg;
}

function readKeyValueList(r: WireReader, len: number, depth: number, into?: KeyValueList): KeyValueList {
  checkDepth(depth, KEY_VALUE_LIST_TYPE);
  const end = r.pos + len;
  const msg = into ?? ({ $typeName: KEY_VALUE_LIST_TYPE, values: [] } as unknown as KeyValueList);
  while (r.pos < end) {
    const tag = r.tag();
    if (tag >>> 3 === KEY_VALUE_LIST.values) msg.values.push(readKeyValue(r, r.uint32(), depth + 1));
    else r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
  }
  return msg;
}

export function readKeyValue(r: WireReader, len: number, depth: number): KeyValue {
  checkDepth(depth, KEY_VALUE_TYPE);
  const end = r.pos + len;
  const msg = { $typeName: KEY_VALUE_TYPE, key: '', value: undefined, keyStrindex: 0 } as KeyValue;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case KEY_VALUE.key:
        msg.key = readString(r);
        break;
      case KEY_VALUE.value:
        msg.value = readAnyValue(r, r.uint32(), depth + 1, msg.value);
        break;
      case KEY_VALUE.keyStrindex:
        msg.keyStrindex = r.int32();
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
    }
  }
  return msg;
}

/** Resource (depth 3): its attributes; the rest is read only to reject what protobuf-es rejects. */
export function readResource(r: WireReader, len: number, depth: number, attributes: KeyValue[]): void {
  checkDepth(depth, 'opentelemetry.proto.resource.v1.Resource');
  const end = r.pos + len;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case RESOURCE.attributes:
        attributes.push(readKeyValue(r, r.uint32(), depth + 1));
        break;
      case RESOURCE.droppedAttributesCount:
        r.uint32();
        break;
      case RESOURCE.entityRefs:
        readEntityRef(r, r.uint32(), depth + 1);
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
    }
  }
}

function readEntityRef(r: WireReader, len: number, depth: number): void {
  checkDepth(depth, 'opentelemetry.proto.common.v1.EntityRef');
  const end = r.pos + len;
  while (r.pos < end) {
    const tag = r.tag();
    const no = tag >>> 3;
    if (no === ENTITY_REF.schemaUrl || no === ENTITY_REF.type || no === ENTITY_REF.idKeys || no === ENTITY_REF.descriptionKeys) r.checkedString();
    else r.skip(tag & 7, no, RECURSION_LIMIT - depth);
  }
}

/** InstrumentationScope: its attributes (validated like resource attributes). */
export function readScope(r: WireReader, len: number, depth: number, attributes: KeyValue[]): void {
  checkDepth(depth, 'opentelemetry.proto.common.v1.InstrumentationScope');
  const end = r.pos + len;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case SCOPE.name:
      case SCOPE.version:
        r.checkedString();
        break;
      case SCOPE.attributes:
        attributes.push(readKeyValue(r, r.uint32(), depth + 1));
        break;
      case SCOPE.droppedAttributesCount:
        r.uint32();
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - depth);
    }
  }
}
