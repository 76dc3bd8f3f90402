// A test oracle: the gateway's reshaping written over protobuf-es messages (src/gateway/shape.ts
// does it on the protobuf bytes), kept for src/gateway/shape.test.ts to compare against. Not
// used by Pilotlight itself.
import { create } from '@bufbuild/protobuf';
import { keyOf, keyValues } from '../../src/otlp/attributes.js';
import {
  AnyValueSchema,
  KeyValueSchema,
  type AnyValue,
  type ExportProfilesServiceRequest,
  type KeyValue,
  type KeyValueAndUnit,
  type Profile,
  type ResourceProfiles,
  type Sample,
} from '../../src/otlp/messages.js';
import { subsetRequest } from '../../src/otlp/subset.js';
import { workloadOf } from '../../src/profile/workload.js';
import { attributeKeyMatcher, SERVICE_NAME, type ShapeCounts, type ShapePolicy } from '../../src/gateway/shape.js';

export interface MessageShapeResult {
  request: ExportProfilesServiceRequest;
  counts: ShapeCounts;
}

const UNKNOWN_WORKLOAD = workloadOf({}).key;

/**
 * Reshapes requests for one destination, on a copy (the other branches of the fan-out share the
 * original):
 * - attribute keys and string values given by reference into the string table
 *   (`key_strindex`, `string_value_strindex`, as the Collector's profiles marshaler writes them)
 *   become plain `key` / `string_value` in Resource and scope attributes and in the attribute
 *   table, for readers such as Pyroscope that see only the plain forms;
 * - a Resource without `service.name` gets the name of its workload (`workloadOf`: a
 *   Deployment's name, else the service, container or executable), computed before anything
 *   is dropped; a resource with nothing to name it by is left without;
 * - attributes whose keys match `drop` leave Resources, profiles and samples, and samples left
 *   equal are merged (see `mergeEqualSamples`). Location and mapping attributes stay: frame
 *   types and build ids are what symbolization needs.
 * The result carries only the dictionary entries still referenced (`subsetRequest`), so what was
 * dropped is not sent at all. A resource whose shaping throws goes on as it came and is
 * counted; the rest of the request is shaped.
 */
export class MessageShaper {
  private readonly dropped: (key: string) => boolean;

  constructor(readonly policy: ShapePolicy) {
    this.dropped = attributeKeyMatcher(policy.drop);
  }

  shape(req: ExportProfilesServiceRequest): MessageShapeResult {
    const dict = req.dictionary;
    const strings = dict?.stringTable ?? [];
    const attributeTable = dict ? plainAttributeTable(dict.attributeTable, strings) : [];
    // Per attribute_table index: 0 not yet looked at, 1 kept, 2 dropped.
    const verdicts = new Uint8Array(attributeTable.length);
    const isDropped = (i: number): boolean => {
      if (i === 0) return false;
      if (verdicts[i] === 0) verdicts[i] = this.dropped(strings[attributeTable[i].keyStrindex] ?? '') ? 2 : 1;
      return verdicts[i] === 2;
    };
    const counts = emptyCounts();
    const resourceProfiles = req.resourceProfiles.map((rp) => {
      const local = emptyCounts();
      try {
        const shaped = this.shapeResource(rp, strings, isDropped, local);
        addCounts(counts, local);
        return shaped;
      } catch (err) {
        counts.unshapedResources++;
        counts.error ??= err;
        return rp;
      }
    });
    const shaped: ExportProfilesServiceRequest = { ...req, resourceProfiles, dictionary: dict && { ...dict, attributeTable } };
    return { request: subsetRequest(shaped, shaped.resourceProfiles), counts };
  }

  private shapeResource(rp: ResourceProfiles, strings: readonly string[], isDropped: (i: number) => boolean, counts: ShapeCounts): ResourceProfiles {
    let attributes = (rp.resource?.attributes ?? []).map((kv) => plainKeyValue(kv, strings));
    if (this.policy.serviceNameFromWorkload && !attributes.some(namesService)) {
      const workload = workloadOf(keyValues(attributes, strings));
      if (workload.key !== UNKNOWN_WORKLOAD) {
        attributes = attributes.filter((kv) => kv.key !== SERVICE_NAME);
        attributes.push(create(KeyValueSchema, { key: SERVICE_NAME, value: { value: { case: 'stringValue', value: workload.name } } }));
        counts.filledServiceNames++;
      }
    }
    const kept = attributes.filter((kv) => !this.dropped(kv.key));
    counts.dropped.resource += attributes.length - kept.length;
    return {
      ...rp,
      resource: rp.resource && { ...rp.resource, attributes: kept },
      scopeProfiles: rp.scopeProfiles.map((sp) => ({
        ...sp,
        scope: sp.scope && { ...sp.scope, attributes: sp.scope.attributes.map((kv) => plainKeyValue(kv, strings)) },
        profiles: sp.profiles.map((p) => shapeProfile(p, isDropped, counts)),
      })),
    };
  }
}

function shapeProfile(p: Profile, isDropped: (i: number) => boolean, counts: ShapeCounts): Profile {
  const attributeIndices = p.attributeIndices.filter((i) => !isDropped(i));
  counts.dropped.profile += p.attributeIndices.length - attributeIndices.length;
  let changed = false;
  const samples = p.samples.map((s) => {
    const kept = s.attributeIndices.filter((i) => !isDropped(i));
    if (kept.length === s.attributeIndices.length) return s;
    counts.dropped.sample += s.attributeIndices.length - kept.length;
    changed = true;
    return { ...s, attributeIndices: kept };
  });
  const merged = changed ? mergeEqualSamples(samples) : samples;
  counts.mergedSamples += samples.length - merged.length;
  return { ...p, attributeIndices, samples: merged };
}

/** How a sample carries its events, for merging: only samples of one shape merge. */
function sampleShape(s: Sample): 'value' | 'timestamps' | 'timed-values' | undefined {
  const values = s.values.length;
  const times = s.timestampsUnixNano.length;
  if (values === 1 && times === 0) return 'value';
  if (values === 0 && times > 0) return 'timestamps';
  if (values > 0 && values === times) return 'timed-values';
  return undefined;
}

/**
 * Merges samples with the same stack, link and set of attributes (the wire rules say such
 * samples SHOULD be one), keeping the shape rules: one value each becomes their sum;
 * timestamps (with their paired values, when there are) are concatenated. Samples of other
 * shapes, or of different shapes, stay apart. The first of each group keeps its place; the
 * input samples are not modified.
 */
export function mergeEqualSamples(samples: readonly Sample[]): Sample[] {
  const out: Sample[] = [];
  const groupAt = new Map<string, number>();
  const copies = new Set<Sample>();
  for (const s of samples) {
    const shape = sampleShape(s);
    if (shape === undefined) {
      out.push(s);
      continue;
    }
    const key = `${shape}|${s.stackIndex}|${s.linkIndex}|${[...s.attributeIndices].sort((a, b) => a - b).join(',')}`;
    const at = groupAt.get(key);
    if (at === undefined) {
      groupAt.set(key, out.push(s) - 1);
      continue;
    }
    let into = out[at];
    if (!copies.has(into)) {
      into = { ...into, values: [...into.values], timestampsUnixNano: [...into.timestampsUnixNano] };
      copies.add(into);
      out[at] = into;
    }
    if (shape === 'value') {
      into.values[0] += s.values[0];
    } else {
      for (const v of s.values) into.values.push(v);
      for (const t of s.timestampsUnixNano) into.timestampsUnixNano.push(t);
    }
  }
  return out;
}

/** Whether the attribute gives a service name as Pyroscope reads one: a non-empty string, or an int. */
function namesService(kv: KeyValue): boolean {
  if (kv.key !== SERVICE_NAME) return false;
  const v = kv.value?.value;
  return (v?.case === 'stringValue' && v.value.trim() !== '') || v?.case === 'intValue';
}

/** The attribute with its key and string values written out; the same object when it has no references. */
function plainKeyValue(kv: KeyValue, strings: readonly string[]): KeyValue {
  const value = kv.value && plainValue(kv.value, strings);
  if (kv.keyStrindex === 0 && value === kv.value) return kv;
  return create(KeyValueSchema, { key: keyOf(kv, strings), value });
}

/** The value with its string references written out, in arrays and kvlists too; the same object when it has none. */
function plainValue(v: AnyValue, strings: readonly string[]): AnyValue {
  const x = v.value;
  switch (x.case) {
    case 'stringValueStrindex':
      return create(AnyValueSchema, { value: { case: 'stringValue', value: strings[x.value] ?? '' } });
    case 'arrayValue': {
      const values = x.value.values.map((item) => plainValue(item, strings));
      return values.every((item, i) => item === x.value.values[i]) ? v : create(AnyValueSchema, { value: { case: 'arrayValue', value: { values } } });
    }
    case 'kvlistValue': {
      const values = x.value.values.map((kv) => plainKeyValue(kv, strings));
      return values.every((kv, i) => kv === x.value.values[i]) ? v : create(AnyValueSchema, { value: { case: 'kvlistValue', value: { values } } });
    }
    default:
      return v;
  }
}

/** The attribute table with string values written out (keys stay `key_strindex`, the table's only form). */
function plainAttributeTable(table: KeyValueAndUnit[], strings: readonly string[]): KeyValueAndUnit[] {
  let changed = false;
  const out = table.map((entry) => {
    const value = entry.value && plainValue(entry.value, strings);
    if (value === entry.value) return entry;
    changed = true;
    return { ...entry, value };
  });
  return changed ? out : table;
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
