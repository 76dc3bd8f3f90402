import { OtlpDecodeError } from '../errors.js';
import type { KeyValue } from '../messages.js';
import { readResource, readScope } from './common.js';
import { WireDictionary, readDictionary } from './dictionary.js';
import { Float64List, Int32List, readInt32s } from './lists.js';
import { FIXED64, LEN, PROFILE, REQUEST, RESOURCE_PROFILES, SAMPLE, SCOPE_PROFILES, VALUE_TYPE, VARINT } from './fields.js';
import { RECURSION_LIMIT, WireReader, nanosToMs64, toBigInt } from './reader.js';

/**
 * An ExportProfilesServiceRequest read straight from protobuf into typed columns: what the
 * profile engine needs, and everything `validateRequest` checks, without an object per sample,
 * stack or location. `readWireRequest` accepts and rejects exactly what `decodeRequest(…,
 * 'protobuf')` does, with the same messages; `validateWire` then applies `validateRequest`.
 */
export interface WireRequest {
  resourceProfiles: WireResourceProfiles[];
  /** Absent when the request has no dictionary field at all. */
  dictionary: WireDictionary | undefined;
  samples: WireSamples;
}

export interface WireResourceProfiles {
  /** Where its fields lie in the request's bytes ([start, end), as read). */
  start: number;
  end: number;
  /** Undefined when the resource field is absent. */
  resourceAttributes: KeyValue[] | undefined;
  scopes: WireScopeProfiles[];
}

export interface WireScopeProfiles {
  scopeAttributes: KeyValue[] | undefined;
  profiles: WireProfile[];
}

export interface WireProfile {
  hasSampleType: boolean;
  sampleTypeType: number;
  sampleTypeUnit: number;
  hasPeriodType: boolean;
  periodTypeType: number;
  periodTypeUnit: number;
  /** time_unix_nano and duration_nano as int32 halves (lo, hi). */
  timeLo: number;
  timeHi: number;
  durationLo: number;
  durationHi: number;
  /** period as Number(bigint) and as its halves (for the exact value in an error). */
  period: number;
  periodLo: number;
  periodHi: number;
  profileIdLength: number;
  attributeIndices: number[];
  /** This profile's samples are rows [sampleStart, sampleEnd) of WireRequest.samples. */
  sampleStart: number;
  sampleEnd: number;
}

/** Every sample of the request, one row each; repeated fields are runs in flat lists. */
export class WireSamples {
  count = 0;
  readonly stack = new Int32List();
  readonly link = new Int32List();
  readonly attrStart = new Int32List();
  readonly attrCount = new Int32List();
  readonly attrs = new Int32List();
  readonly valueStart = new Int32List();
  readonly valueCount = new Int32List();
  /** Values as Number(int64). */
  readonly values = new Float64List();
  /** The exact value of every negative entry of `values` (only for the error message). */
  readonly negatives = new Map<number, bigint>();
  readonly tsStart = new Int32List();
  readonly tsCount = new Int32List();
  /** Timestamps converted as aggregation does: ms since the epoch, exact to the microsecond. */
  readonly tsMs = new Float64List();
}

/** Reads a protobuf request; malformed bytes throw OtlpDecodeError like `decodeRequest`. */
export function readWireRequest(bytes: Uint8Array): WireRequest {
  const r = new WireReader(bytes);
  const req: WireRequest = { resourceProfiles: [], dictionary: undefined, samples: new WireSamples() };
  try {
    while (r.pos < r.len) {
      const tag = r.tag();
      switch (tag >>> 3) {
        case REQUEST.resourceProfiles: {
          const n = r.uint32();
          const start = r.pos;
          const rp = readResourceProfiles(r, n, req.samples);
          rp.start = start;
          rp.end = r.pos;
          req.resourceProfiles.push(rp);
          break;
        }
        case REQUEST.dictionary:
          req.dictionary ??= new WireDictionary(bytes);
          readDictionary(r, r.uint32(), req.dictionary);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 1);
      }
    }
  } catch (err) {
    // The same text as decodeRequest (codec.ts is not imported: it pulls in node:zlib).
    throw new OtlpDecodeError(`malformed protobuf ExportProfilesServiceRequest: ${err instanceof Error ? err.message : String(err)}`);
  }
  return req;
}

function readResourceProfiles(r: WireReader, len: number, samples: WireSamples): WireResourceProfiles {
  const end = r.pos + len;
  const rp: WireResourceProfiles = { start: 0, end: 0, resourceAttributes: undefined, scopes: [] };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case RESOURCE_PROFILES.resource:
        rp.resourceAttributes ??= [];
        readResource(r, r.uint32(), 3, rp.resourceAttributes);
        break;
      case RESOURCE_PROFILES.scopeProfiles:
        rp.scopes.push(readScopeProfiles(r, r.uint32(), samples));
        break;
      case RESOURCE_PROFILES.schemaUrl:
        r.checkedString();
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 2);
    }
  }
  return rp;
}

function readScopeProfiles(r: WireReader, len: number, samples: WireSamples): WireScopeProfiles {
  const end = r.pos + len;
  const sp: WireScopeProfiles = { scopeAttributes: undefined, profiles: [] };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case SCOPE_PROFILES.scope:
        sp.scopeAttributes ??= [];
        readScope(r, r.uint32(), 4, sp.scopeAttributes);
        break;
      case SCOPE_PROFILES.profiles:
        sp.profiles.push(readProfile(r, r.uint32(), samples));
        break;
      case SCOPE_PROFILES.schemaUrl:
        r.checkedString();
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
    }
  }
  return sp;
}

function readProfile(r: WireReader, len: number, samples: WireSamples): WireProfile {
  const end = r.pos + len;
  reserveSamples(r.buf, r.pos, Math.min(end, r.len), samples);
  const p: WireProfile = {
    hasSampleType: false,
    sampleTypeType: 0,
    sampleTypeUnit: 0,
    hasPeriodType: false,
    periodTypeType: 0,
    periodTypeUnit: 0,
    timeLo: 0,
    timeHi: 0,
    durationLo: 0,
    durationHi: 0,
    period: 0,
    periodLo: 0,
    periodHi: 0,
    profileIdLength: 0,
    attributeIndices: [],
    sampleStart: samples.count,
    sampleEnd: samples.count,
  };
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case PROFILE.sampleType:
        p.hasSampleType = true;
        readValueType(r, r.uint32(), p, 'sample');
        break;
      case PROFILE.samples:
        readSample(r, r.uint32(), samples);
        break;
      case PROFILE.timeUnixNano:
        r.fixed64();
        p.timeLo = r.lo;
        p.timeHi = r.hi;
        break;
      case PROFILE.durationNano:
        r.varint64();
        p.durationLo = r.lo;
        p.durationHi = r.hi;
        break;
      case PROFILE.periodType:
        p.hasPeriodType = true;
        readValueType(r, r.uint32(), p, 'period');
        break;
      case PROFILE.period:
        p.period = r.int64();
        p.periodLo = r.lo;
        p.periodHi = r.hi;
        break;
      case PROFILE.profileId:
        p.profileIdLength = r.bytesLength();
        break;
      case PROFILE.droppedAttributesCount:
        r.uint32();
        break;
      case PROFILE.originalPayloadFormat:
        r.checkedString();
        break;
      case PROFILE.originalPayload:
        r.bytesLength();
        break;
      case PROFILE.attributeIndices:
        if ((tag & 7) === 2) {
          const e = r.uint32() + r.pos;
          while (r.pos < e) p.attributeIndices.push(r.int32());
        } else {
          p.attributeIndices.push(r.int32());
        }
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 4);
    }
  }
  p.sampleEnd = samples.count;
  return p;
}

/** A ValueType (depth 5); a repeated occurrence merges field by field, as protobuf does. */
function readValueType(r: WireReader, len: number, p: WireProfile, which: 'sample' | 'period'): void {
  const end = r.pos + len;
  while (r.pos < end) {
    const tag = r.tag();
    const no = tag >>> 3;
    if (no === VALUE_TYPE.typeStrindex || no === VALUE_TYPE.unitStrindex) {
      const v = r.int32();
      const type = no === VALUE_TYPE.typeStrindex;
      if (which === 'sample') {
        if (type) p.sampleTypeType = v;
        else p.sampleTypeUnit = v;
      } else if (type) p.periodTypeType = v;
      else p.periodTypeUnit = v;
    } else {
      r.skip(tag & 7, no, RECURSION_LIMIT - 5);
    }
  }
}

/**
 * Counts the samples in `buf[pos, end)` (one profile's fields, tags and lengths only) and makes
 * room for them in the per-sample columns, so reading them grows none entry by entry. Only a
 * size hint: it stops at anything odd, and the reader proper finds what is wrong.
 */
function reserveSamples(buf: Uint8Array, pos: number, end: number, s: WireSamples): void {
  let samples = 0;
  while (pos < end) {
    let tag = 0;
    let b = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      b = buf[pos++];
      tag |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (b >= 0x80) break;
    const wireType = tag & 7;
    if (wireType === VARINT) {
      while (pos < end && buf[pos] >= 0x80) pos++;
      pos++;
      continue;
    }
    if (wireType === FIXED64) {
      pos += 8;
      continue;
    }
    if (wireType !== LEN) break;
    let len = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      b = buf[pos++];
      len |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    // An entry said to run past the end is odd: the counts stay bounded by the bytes there are.
    if (b >= 0x80 || len < 0 || len > end - pos) break;
    pos += len;
    if (tag >>> 3 === PROFILE.samples) samples++;
  }
  for (const col of [s.stack, s.link, s.attrStart, s.attrCount, s.valueStart, s.valueCount, s.tsStart, s.tsCount]) col.reserve(samples);
}

function readSample(r: WireReader, len: number, s: WireSamples): void {
  const end = r.pos + len;
  const attrStart = s.attrs.n;
  const valueStart = s.values.n;
  const tsStart = s.tsMs.n;
  let stack = 0;
  let link = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case SAMPLE.stackIndex:
        stack = r.int32();
        break;
      case SAMPLE.attributeIndices:
        readInt32s(r, tag & 7, s.attrs);
        break;
      case SAMPLE.linkIndex:
        link = r.int32();
        break;
      case SAMPLE.values:
        if ((tag & 7) === 2) {
          const e = r.uint32() + r.pos;
          while (r.pos < e) readValue(r, s);
        } else {
          readValue(r, s);
        }
        break;
      case SAMPLE.timestampsUnixNano:
        if ((tag & 7) === 2) {
          const e = r.uint32() + r.pos;
          while (r.pos < e) {
            r.fixed64();
            s.tsMs.push(nanosToMs64(r.lo, r.hi));
          }
        } else {
          r.fixed64();
          s.tsMs.push(nanosToMs64(r.lo, r.hi));
        }
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 5);
    }
  }
  const i = s.count;
  if (i === s.stack.a.length) {
    for (const col of [s.stack, s.link, s.attrStart, s.attrCount, s.valueStart, s.valueCount, s.tsStart, s.tsCount]) col.reserve(1);
  }
  s.stack.a[i] = stack;
  s.link.a[i] = link;
  s.attrStart.a[i] = attrStart;
  s.attrCount.a[i] = s.attrs.n - attrStart;
  s.valueStart.a[i] = valueStart;
  s.valueCount.a[i] = s.values.n - valueStart;
  s.tsStart.a[i] = tsStart;
  s.tsCount.a[i] = s.tsMs.n - tsStart;
  s.count = s.stack.n = s.link.n = s.attrStart.n = s.attrCount.n = s.valueStart.n = s.valueCount.n = s.tsStart.n = s.tsCount.n = i + 1;
}

function readValue(r: WireReader, s: WireSamples): void {
  const v = r.int64();
  if (v < 0) s.negatives.set(s.values.n, toBigInt(r.lo, r.hi, true));
  s.values.push(v);
}
