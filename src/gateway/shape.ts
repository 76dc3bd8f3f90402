import type { AnyValue, KeyValue } from '../otlp/messages.js';
import { keyValues } from '../otlp/attributes.js';
import { wireStats } from '../otlp/read-request.js';
import { WireChunker } from '../otlp/wire/chunk.js';
import type { WireDictionary } from '../otlp/wire/dictionary.js';
import { RECURSION_LIMIT, WireReader, toBigInt } from '../otlp/wire/reader.js';
import { readWireRequest, type WireProfile, type WireRequest, type WireResourceProfiles, type WireScopeProfiles } from '../otlp/wire/request.js';
import { validateWire } from '../otlp/wire/validate.js';
import { writeKeyValue, writeKeyValueAndUnit, writeUint53, writeVarint64 } from '../otlp/wire/write-attributes.js';
import { DICTIONARY, LEN, PROFILE, REQUEST, RESOURCE, RESOURCE_PROFILES, SAMPLE, SCOPE, SCOPE_PROFILES, VARINT } from '../otlp/wire/fields.js';
import { WireWriter } from '../otlp/wire/writer.js';
import type { RequestStats } from '../pipeline/request-stats.js';
import { workloadOf } from '../profile/workload.js';

export const SERVICE_NAME = 'service.name';

/** How a destination wants requests reshaped (`destinations[].attributes`). */
export interface ShapePolicy {
  /** A Resource without `service.name` (or with an empty one) gets its workload's name. */
  serviceNameFromWorkload: boolean;
  /** Attribute keys left out of Resources, profiles and samples; `*` matches any run of characters. */
  drop: readonly string[];
}

/** What shaping did to one request. */
export interface ShapeCounts {
  /** Attribute values left out, by where they were. */
  dropped: { resource: number; profile: number; sample: number };
  filledServiceNames: number;
  /** Samples folded into an equal one after their attributes were dropped. */
  mergedSamples: number;
  /** Resources passed on as they came because shaping them failed; `error` is the first reason. */
  unshapedResources: number;
  error?: unknown;
}

export interface ShapeResult {
  /** The reshaped request's protobuf encoding. */
  encoded: Uint8Array;
  /** Its counts (fewer samples than received where samples were merged). */
  stats: RequestStats;
  counts: ShapeCounts;
}

/** The key of the workload `workloadOf` gives a resource with nothing to name it by. */
const UNKNOWN_WORKLOAD = workloadOf({}).key;

/** Whether a key matches one of the patterns, where `*` matches any run of characters. */
export function attributeKeyMatcher(patterns: readonly string[]): (key: string) => boolean {
  if (patterns.length === 0) return () => false;
  const alternatives = patterns.map((p) =>
    p
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*'),
  );
  const re = new RegExp(`^(?:${alternatives.join('|')})$`, 's');
  return (key) => re.test(key);
}

/**
 * Reshapes requests for one destination, on the protobuf bytes (the other branches of the
 * fan-out share the received bytes, which are only read):
 * - attribute keys and string values given by reference into the string table
 *   (`key_strindex`, `string_value_strindex`, as the Collector's profiles marshaler writes them)
 *   become plain `key` / `string_value` in Resource and scope attributes and in the attribute
 *   table, for readers such as Pyroscope that see only the plain forms;
 * - a Resource without `service.name` gets the name of its workload (`workloadOf`: a
 *   Deployment's name, else the service, container or executable), computed before anything
 *   is dropped; a resource with nothing to name it by is left without;
 * - attributes whose keys match `drop` leave Resources, profiles and samples, and samples left
 *   equal are merged (see `ShapeRun`). Location and mapping attributes stay: frame
 *   types and build ids are what symbolization needs.
 * Only the attributes are written anew; every other field is copied as received. The result
 * carries only the dictionary entries still referenced (`WireChunker`), so what was dropped is
 * not sent at all. A resource whose shaping throws goes on as it came and is counted; the rest
 * of the request is shaped.
 */
export class RequestShaper {
  private readonly dropped: (key: string) => boolean;
  /** One buffer for every request shaped; each result is copied out of it. */
  private readonly w = new WireWriter(1 << 16);

  constructor(readonly policy: ShapePolicy) {
    this.dropped = attributeKeyMatcher(policy.drop);
  }

  /**
   * Reshapes a validated request: its protobuf encoding and the WireRequest read from it. The
   * result is validated as a received request is (OtlpInputError if it were not).
   */
  shape(encoded: Uint8Array, wire: WireRequest): ShapeResult {
    const run = new ShapeRun(this.policy, this.dropped, this.w, encoded, wire);
    const rewritten = run.write();
    const again = readWireRequest(rewritten);
    validateWire(again);
    const { bytes } = new WireChunker(again, rewritten).chunk(again.resourceProfiles, rewritten);
    return { encoded: bytes, stats: wireStats(again), counts: run.counts };
  }
}

/** How a sample carries its events, for merging: only samples of one shape merge. */
type SampleShape = 'value' | 'timestamps' | 'timed-values';

function sampleShape(values: number, times: number): SampleShape | undefined {
  if (values === 1 && times === 0) return 'value';
  if (values === 0 && times > 0) return 'timestamps';
  if (values > 0 && values === times) return 'timed-values';
  return undefined;
}

/**
 * One request being rewritten. The writer walks the received bytes as `readWireRequest` read
 * them (known fields by their declared type), so the i-th resource, scope, profile and sample
 * met is the i-th of the WireRequest, whose columns say what each holds.
 *
 * Merging: in a profile where dropping left some sample with fewer attributes, samples with
 * the same stack, link and set of attributes (the wire rules say such samples SHOULD be one)
 * are merged, keeping the shape rules: one value each becomes their sum; timestamps (with
 * their paired values, when there are) are concatenated. Samples of other shapes, or of
 * different shapes, stay apart. The first of each group keeps its place.
 */
class ShapeRun {
  readonly counts = emptyCounts();
  private readonly r: WireReader;
  private readonly d: WireDictionary | undefined;
  /** Per attribute_table index: 0 not yet looked at, 1 kept, 2 dropped. */
  private readonly verdicts: Uint8Array;
  /** The next attribute_table entry the dictionary walk meets. */
  private attrIndex = 0;

  constructor(
    private readonly policy: ShapePolicy,
    private readonly dropped: (key: string) => boolean,
    private readonly w: WireWriter,
    private readonly bytes: Uint8Array,
    private readonly wire: WireRequest,
  ) {
    this.r = new WireReader(bytes);
    w.pos = 0;
    this.d = wire.dictionary;
    this.verdicts = new Uint8Array(this.d ? this.d.attributes.length : 0);
  }

  private isDropped(i: number): boolean {
    if (i === 0 || i >= this.verdicts.length) return false;
    if (this.verdicts[i] === 0) this.verdicts[i] = this.dropped(this.d!.str(this.d!.attributes[i].keyStrindex) ?? '') ? 2 : 1;
    return this.verdicts[i] === 2;
  }

  private str(i: number): string {
    return this.d?.str(i) ?? '';
  }

  write(): Uint8Array {
    const { r, w } = this;
    let rpIndex = 0;
    while (r.pos < r.len) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case REQUEST.resourceProfiles:
          this.resourceProfiles(at, this.wire.resourceProfiles[rpIndex++]);
          break;
        case REQUEST.dictionary:
          this.dictionary();
          break;
        default:
          // Unknown fields are left out, as decoding leaves them out.
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 1);
      }
    }
    return w.finish();
  }

  /** A ResourceProfiles field (its tag at `at`), shaped; as received when shaping it throws. */
  private resourceProfiles(at: number, rp: WireResourceProfiles): void {
    const { r, w } = this;
    const mark = w.pos;
    const local = emptyCounts();
    try {
      r.uint32();
      const s = w.open(REQUEST.resourceProfiles);
      let resource = true;
      let scopeIndex = 0;
      while (r.pos < rp.end) {
        const fieldAt = r.pos;
        const tag = r.tag();
        switch (tag >>> 3) {
          case RESOURCE_PROFILES.resource: {
            const end = r.uint32() + r.pos;
            const e = w.open(RESOURCE_PROFILES.resource);
            // Every occurrence's attributes were read into one list: written with the first.
            if (resource) for (const kv of this.resourceAttributes(rp, local)) writeKeyValue(w, RESOURCE.attributes, kv);
            resource = false;
            this.copyFieldsBut(false, end, RECURSION_LIMIT - 3);
            w.close(e);
            break;
          }
          case RESOURCE_PROFILES.scopeProfiles: {
            const end = r.uint32() + r.pos;
            const e = w.open(RESOURCE_PROFILES.scopeProfiles);
            this.scopeProfiles(rp.scopes[scopeIndex++], end, local);
            w.close(e);
            break;
          }
          case RESOURCE_PROFILES.schemaUrl:
            r.bytesLength();
            w.copy(this.bytes, fieldAt, r.pos);
            break;
          default:
            r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 2);
        }
      }
      if (r.pos !== rp.end) throw new Error(`resource_profiles read to ${r.pos}, not ${rp.end}`);
      w.close(s);
      addCounts(this.counts, local);
    } catch (err) {
      w.pos = mark;
      w.copy(this.bytes, at, rp.end);
      r.pos = rp.end;
      this.counts.unshapedResources++;
      this.counts.error ??= err;
    }
  }

  /** The resource's attributes written out, with service.name filled and dropped keys left out. */
  private resourceAttributes(rp: WireResourceProfiles, counts: ShapeCounts): KeyValue[] {
    let attributes = (rp.resourceAttributes ?? []).map((kv) => this.plainKeyValue(kv));
    if (this.policy.serviceNameFromWorkload && !attributes.some(namesService)) {
      const workload = workloadOf(keyValues(attributes, []));
      if (workload.key !== UNKNOWN_WORKLOAD) {
        attributes = attributes.filter((kv) => kv.key !== SERVICE_NAME);
        attributes.push(keyValue(SERVICE_NAME, stringValue(workload.name)));
        counts.filledServiceNames++;
      }
    }
    const kept = attributes.filter((kv) => !this.dropped(kv.key));
    counts.dropped.resource += attributes.length - kept.length;
    return kept;
  }

  private scopeProfiles(sp: WireScopeProfiles, end: number, counts: ShapeCounts): void {
    const { r, w } = this;
    let scope = true;
    let profileIndex = 0;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case SCOPE_PROFILES.scope: {
          const e = r.uint32() + r.pos;
          const s = w.open(SCOPE_PROFILES.scope);
          if (scope) for (const kv of sp.scopeAttributes ?? []) writeKeyValue(w, SCOPE.attributes, this.plainKeyValue(kv));
          scope = false;
          this.copyFieldsBut(true, e, RECURSION_LIMIT - 4);
          w.close(s);
          break;
        }
        case SCOPE_PROFILES.profiles: {
          const e = r.uint32() + r.pos;
          const s = w.open(SCOPE_PROFILES.profiles);
          this.profile(sp.profiles[profileIndex++], e, counts);
          w.close(s);
          break;
        }
        case SCOPE_PROFILES.schemaUrl:
          r.bytesLength();
          w.copy(this.bytes, at, r.pos);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
      }
    }
  }

  /**
   * Copies the fields of a Resource (`scope` false) or an InstrumentationScope up to `end` as
   * received, but for their attributes (written anew). Strings and numbers are read as
   * declared; a Resource's entity refs are copied whole.
   */
  private copyFieldsBut(scope: boolean, end: number, limit: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      const no = tag >>> 3;
      const attributes = scope ? no === SCOPE.attributes : no === RESOURCE.attributes;
      const varint = scope ? no === SCOPE.droppedAttributesCount : no === RESOURCE.droppedAttributesCount;
      const bytes = scope ? no === SCOPE.name || no === SCOPE.version : no === RESOURCE.entityRefs;
      if (attributes) {
        skipLength(r);
        continue;
      }
      if (varint) r.uint32();
      else if (bytes) r.bytesLength();
      else {
        r.skip(tag & 7, no, limit);
        continue;
      }
      this.w.copy(this.bytes, at, r.pos);
    }
  }

  private profile(p: WireProfile, end: number, counts: ShapeCounts): void {
    const { r, w } = this;
    const attributes: number[] = [];
    const sampleAt: number[] = [];
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case PROFILE.samples: {
          const len = r.uint32();
          sampleAt.push(at);
          r.pos += len;
          break;
        }
        case PROFILE.timeUnixNano:
          r.fixed64();
          w.copy(this.bytes, at, r.pos);
          break;
        case PROFILE.durationNano:
        case PROFILE.period:
        case PROFILE.droppedAttributesCount:
          r.varint64();
          w.copy(this.bytes, at, r.pos);
          break;
        case PROFILE.sampleType:
        case PROFILE.periodType:
        case PROFILE.profileId:
        case PROFILE.originalPayloadFormat:
        case PROFILE.originalPayload:
          r.bytesLength();
          w.copy(this.bytes, at, r.pos);
          break;
        case PROFILE.attributeIndices:
          if ((tag & 7) === LEN) {
            const e = r.uint32() + r.pos;
            while (r.pos < e) this.keepProfileAttribute(r.int32(), attributes, counts);
          } else {
            this.keepProfileAttribute(r.int32(), attributes, counts);
          }
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 4);
      }
    }
    if (attributes.length > 0) {
      const s = w.open(PROFILE.attributeIndices);
      for (const a of attributes) w.varint(a);
      w.close(s);
    }
    if (sampleAt.length !== p.sampleEnd - p.sampleStart) throw new Error(`profile has ${sampleAt.length} samples, ${p.sampleEnd - p.sampleStart} were read`);
    // The samples are read again where they are; the walk goes on after the profile.
    const after = r.pos;
    this.samples(p, sampleAt, counts);
    r.pos = after;
  }

  private keepProfileAttribute(a: number, attributes: number[], counts: ShapeCounts): void {
    if (this.isDropped(a)) counts.dropped.profile++;
    else attributes.push(a);
  }

  /** A profile's samples (their fields at `sampleAt`), their dropped attributes left out and merged (see `ShapeRun`). */
  private samples(p: WireProfile, sampleAt: number[], counts: ShapeCounts): void {
    const s = this.wire.samples;
    const n = sampleAt.length;
    // Per sample: its attributes kept, or undefined when it keeps them all.
    const kept: (number[] | undefined)[] = new Array<number[] | undefined>(n);
    let changed = false;
    for (let k = 0; k < n; k++) {
      const row = p.sampleStart + k;
      const a0 = s.attrStart.a[row];
      const na = s.attrCount.a[row];
      let drop = 0;
      for (let a = a0; a < a0 + na; a++) if (this.isDropped(s.attrs.a[a])) drop++;
      if (drop === 0) continue;
      const list: number[] = [];
      for (let a = a0; a < a0 + na; a++) if (!this.isDropped(s.attrs.a[a])) list.push(s.attrs.a[a]);
      kept[k] = list;
      counts.dropped.sample += drop;
      changed = true;
    }
    if (!changed) {
      for (const at of sampleAt) this.copySample(at);
      return;
    }
    const groups: number[][] = [];
    const groupAt = new Map<string, number>();
    for (let k = 0; k < n; k++) {
      const row = p.sampleStart + k;
      const shape = sampleShape(s.valueCount.a[row], s.tsCount.a[row]);
      if (shape === undefined) {
        groups.push([k]);
        continue;
      }
      const attrs = kept[k] ?? Array.from(s.attrs.a.subarray(s.attrStart.a[row], s.attrStart.a[row] + s.attrCount.a[row]));
      const key = `${shape}|${s.stack.a[row]}|${s.link.a[row]}|${[...attrs].sort((x, y) => x - y).join(',')}`;
      const at = groupAt.get(key);
      if (at === undefined) groupAt.set(key, groups.push([k]) - 1);
      else groups[at].push(k);
    }
    counts.mergedSamples += n - groups.length;
    for (const group of groups) {
      const k = group[0];
      if (group.length > 1) this.mergedSample(p, sampleAt, group, kept[k]);
      else if (kept[k]) this.sampleWith(sampleAt[k], kept[k]);
      else this.copySample(sampleAt[k]);
    }
  }

  /** Copies the sample field at `at` as received. */
  private copySample(at: number): void {
    const r = this.r;
    r.pos = at;
    r.tag();
    skipLength(r);
    this.w.copy(this.bytes, at, r.pos);
  }

  /** The sample field at `at` with `attributes` in place of its own. */
  private sampleWith(at: number, attributes: number[]): void {
    const { r, w } = this;
    r.pos = at;
    r.tag();
    const end = r.uint32() + r.pos;
    const s = w.open(PROFILE.samples);
    while (r.pos < end) {
      const fieldAt = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case SAMPLE.stackIndex:
        case SAMPLE.linkIndex:
          r.int32();
          w.copy(this.bytes, fieldAt, r.pos);
          break;
        case SAMPLE.attributeIndices:
          if ((tag & 7) === LEN) skipLength(r);
          else r.int32();
          break;
        case SAMPLE.values:
        case SAMPLE.timestampsUnixNano:
          this.skipScalars(tag);
          w.copy(this.bytes, fieldAt, r.pos);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 5);
      }
    }
    writeIndices(w, SAMPLE.attributeIndices, attributes);
    w.close(s);
  }

  /** Skips one occurrence of values (varints) or timestamps (fixed64), packed or not. */
  private skipScalars(tag: number): void {
    const r = this.r;
    if ((tag & 7) === LEN) skipLength(r);
    else if (tag >>> 3 === SAMPLE.values) r.varint64();
    else r.fixed64();
  }

  /**
   * One sample for a group of equal ones: the first's stack, link and kept attributes, with the
   * group's values summed (one value each) or values and timestamps concatenated.
   */
  private mergedSample(p: WireProfile, sampleAt: number[], group: number[], attributes: number[] | undefined): void {
    const { w } = this;
    const s = this.wire.samples;
    const first = p.sampleStart + group[0];
    const shape = sampleShape(s.valueCount.a[first], s.tsCount.a[first])!;
    const e = w.open(PROFILE.samples);
    if (s.stack.a[first] !== 0) {
      w.tag(SAMPLE.stackIndex, VARINT);
      w.varint(s.stack.a[first]);
    }
    writeIndices(w, SAMPLE.attributeIndices, attributes ?? Array.from(s.attrs.a.subarray(s.attrStart.a[first], s.attrStart.a[first] + s.attrCount.a[first])));
    if (s.link.a[first] !== 0) {
      w.tag(SAMPLE.linkIndex, VARINT);
      w.varint(s.link.a[first]);
    }
    if (shape === 'value') {
      let sum = 0;
      for (const k of group) sum += s.values.a[s.valueStart.a[p.sampleStart + k]];
      const v = w.open(SAMPLE.values);
      if (Number.isSafeInteger(sum)) writeUint53(w, sum);
      else writeVarint64(w, this.exactSum(sampleAt, group));
      w.close(v);
    } else {
      if (shape === 'timed-values') {
        const v = w.open(SAMPLE.values);
        for (const k of group) this.copyScalars(sampleAt[k], SAMPLE.values);
        w.close(v);
      }
      const t = w.open(SAMPLE.timestampsUnixNano);
      for (const k of group) this.copyScalars(sampleAt[k], SAMPLE.timestampsUnixNano);
      w.close(t);
    }
    w.close(e);
  }

  /** The sum of the samples' one values, exact past 2^53. */
  private exactSum(sampleAt: number[], group: number[]): bigint {
    const r = this.r;
    let sum = 0n;
    for (const k of group) {
      this.eachScalar(sampleAt[k], SAMPLE.values, () => {
        r.varint64();
        sum += toBigInt(r.lo, r.hi, true);
      });
    }
    return sum;
  }

  /** Copies the sample's values or timestamps (`fieldNo`) as packed content, in order. */
  private copyScalars(at: number, fieldNo: number): void {
    const r = this.r;
    this.eachScalar(at, fieldNo, () => {
      const start = r.pos;
      if (fieldNo === SAMPLE.values) r.varint64();
      else r.fixed64();
      this.w.copy(this.bytes, start, r.pos);
    });
  }

  /** Calls `read` at each value of field `fieldNo` (values or timestamps) of the sample at `at` (packed or not), which must read it. */
  private eachScalar(at: number, fieldNo: number, read: () => void): void {
    const r = this.r;
    r.pos = at;
    r.tag();
    const end = r.uint32() + r.pos;
    while (r.pos < end) {
      const tag = r.tag();
      const no = tag >>> 3;
      if (no === fieldNo) {
        if ((tag & 7) === LEN) {
          const e = r.uint32() + r.pos;
          while (r.pos < e) read();
        } else {
          read();
        }
      } else if (no === SAMPLE.values || no === SAMPLE.timestampsUnixNano) {
        this.skipScalars(tag);
      } else if (no === SAMPLE.stackIndex || no === SAMPLE.linkIndex) {
        r.int32();
      } else if (no === SAMPLE.attributeIndices) {
        if ((tag & 7) === LEN) skipLength(r);
        else r.int32();
      } else {
        r.skip(tag & 7, no, RECURSION_LIMIT - 5);
      }
    }
  }

  /**
   * A ProfilesDictionary field: copied as received, but for attribute_table
   * entries whose values refer to strings, written with those strings written out (keys stay
   * `key_strindex`, the table's only form).
   */
  private dictionary(): void {
    const { r, w } = this;
    const end = r.uint32() + r.pos;
    const s = w.open(REQUEST.dictionary);
    let run = r.pos;
    while (r.pos < end) {
      const fieldAt = r.pos;
      const tag = r.tag();
      const no = tag >>> 3;
      if (!DICTIONARY_TABLES.has(no)) {
        r.skip(tag & 7, no, RECURSION_LIMIT - 2);
        continue;
      }
      const e = r.uint32() + r.pos;
      r.pos = e;
      if (no !== DICTIONARY.attributeTable) continue;
      const kvu = this.d!.attributes[this.attrIndex++];
      if (!refersToStrings(kvu.value)) continue;
      w.copy(this.bytes, run, fieldAt);
      writeKeyValueAndUnit(w, DICTIONARY.attributeTable, { ...kvu, value: kvu.value && this.plainValue(kvu.value) });
      run = e;
    }
    w.copy(this.bytes, run, end);
    w.close(s);
  }

  /** The attribute with its key and string values written out; the same object when it has no references. */
  private plainKeyValue(kv: KeyValue): KeyValue {
    const value = kv.value && this.plainValue(kv.value);
    if (kv.keyStrindex === 0 && value === kv.value) return kv;
    return keyValue(kv.key !== '' ? kv.key : this.str(kv.keyStrindex), value);
  }

  /** The value with its string references written out, in arrays and kvlists too; the same object when it has none. */
  private plainValue(v: AnyValue): AnyValue {
    const x = v.value;
    switch (x.case) {
      case 'stringValueStrindex':
        return stringValue(this.str(x.value));
      case 'arrayValue': {
        const values = x.value.values.map((item) => this.plainValue(item));
        return values.every((item, i) => item === x.value.values[i]) ? v : anyValueOf({ case: 'arrayValue', value: { ...x.value, values } });
      }
      case 'kvlistValue': {
        const values = x.value.values.map((kv) => this.plainKeyValue(kv));
        return values.every((kv, i) => kv === x.value.values[i]) ? v : anyValueOf({ case: 'kvlistValue', value: { ...x.value, values } });
      }
      default:
        return v;
    }
  }
}

/** Whether a value refers to the string table anywhere (a string value, or a kvlist key, by index). */
function refersToStrings(v: AnyValue | undefined): boolean {
  if (!v) return false;
  const x = v.value;
  switch (x.case) {
    case 'stringValueStrindex':
      return true;
    case 'arrayValue':
      return x.value.values.some(refersToStrings);
    case 'kvlistValue':
      return x.value.values.some((kv) => kv.keyStrindex !== 0 || refersToStrings(kv.value));
    default:
      return false;
  }
}

/** The ProfilesDictionary's fields: every one a repeated table (all length-delimited). */
const DICTIONARY_TABLES: ReadonlySet<number> = new Set(Object.values(DICTIONARY));

/** Skips a length-delimited field's content (its length is read first, then added). */
function skipLength(r: WireReader): void {
  const len = r.uint32();
  r.pos += len;
}

/** A packed repeated index field; nothing when empty. */
function writeIndices(w: WireWriter, fieldNo: number, indices: readonly number[]): void {
  if (indices.length === 0) return;
  const s = w.open(fieldNo);
  for (const i of indices) w.varint(i);
  w.close(s);
}

function anyValueOf(value: AnyValue['value']): AnyValue {
  return { $typeName: 'opentelemetry.proto.common.v1.AnyValue', value } as AnyValue;
}

function stringValue(s: string): AnyValue {
  return anyValueOf({ case: 'stringValue', value: s });
}

function keyValue(key: string, value: AnyValue | undefined): KeyValue {
  return { $typeName: 'opentelemetry.proto.common.v1.KeyValue', key, value, keyStrindex: 0 } as KeyValue;
}

/** Whether the attribute gives a service name as Pyroscope reads one: a non-empty string, or an int. */
function namesService(kv: KeyValue): boolean {
  if (kv.key !== SERVICE_NAME) return false;
  const v = kv.value?.value;
  return (v?.case === 'stringValue' && v.value.trim() !== '') || v?.case === 'intValue';
}

function emptyCounts(): ShapeCounts {
  return { dropped: { resource: 0, profile: 0, sample: 0 }, filledServiceNames: 0, mergedSamples: 0, unshapedResources: 0 };
}

function addCounts(into: ShapeCounts, c: ShapeCounts): void {
  into.dropped.resource += c.dropped.resource;
  into.dropped.profile += c.dropped.profile;
  into.dropped.sample += c.dropped.sample;
  into.filledServiceNames += c.filledServiceNames;
  into.mergedSamples += c.mergedSamples;
}
