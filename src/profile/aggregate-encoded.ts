import { anyValue, attributeString, keyValues, type AttributeValue } from '../otlp/attributes.js';
import type { AnyValue, KeyValue } from '../otlp/messages.js';
import type { WireDictionary } from '../otlp/wire/dictionary.js';
import { nanosToMs64, toBigInt } from '../otlp/wire/reader.js';
import { readWireRequest, type WireProfile, type WireRequest, type WireSamples } from '../otlp/wire/request.js';
import { validateWire } from '../otlp/wire/validate.js';
import {
  addProfileTotals,
  pickType,
  profileFor,
  startWorkload,
  type AggregateOptions,
  type TypeTrees,
  type WorkloadProfile,
  type WorkloadProfiles,
} from './workload-profile.js';
import type { CallTree } from './calltree.js';
import { CPU, classifyScope, type TypeNames } from './profile-type.js';
import { StackResolver, type FrameSink } from './resolve.js';
import { workloadOf } from './workload.js';

/**
 * The hot ingest path: protobuf bytes straight to per-workload aggregates of one profile type
 * (`opts.type`, default `cpu`), with no message objects for samples, stacks or locations. The
 * result equals `aggregateRequest(decodeRequest(bytes, 'protobuf'), opts)` (same keys, trees,
 * totals and time bounds), and bad input throws the same OtlpDecodeError /
 * OtlpValidationError with the same message. OTLP/JSON comes here as its protobuf encoding
 * (`readRequest`).
 */
export function aggregateEncoded(bytes: Uint8Array, opts: AggregateOptions = {}): Map<string, WorkloadProfile> {
  const req = readWireRequest(bytes);
  validateWire(req);
  return aggregateWire(req, opts);
}

/** aggregateRequest over a validated WireRequest: one profile type (`opts.type`, default `cpu`). */
export function aggregateWire(req: WireRequest, opts: AggregateOptions = {}): Map<string, WorkloadProfile> {
  const type = opts.type ?? CPU.key;
  return pickType(aggregateWireTypes(req, { ...opts, type }), type, opts);
}

/**
 * TypeTrees whose owner adds the stacks into its trees later, itself (the profile store's
 * slots do, when they are next read): an aggregation into them counts the samples (totals,
 * time bounds, skipped profiles) and leaves their trees alone.
 */
export interface DeferredTrees extends TypeTrees {
  readonly defersStacks: true;
}

function defersStacks(trees: TypeTrees | undefined): boolean {
  return (trees as Partial<DeferredTrees> | undefined)?.defersStacks === true;
}

/** aggregateRequestTypes over a validated WireRequest; mirrors it step by step. */
export function aggregateWireTypes(req: WireRequest, opts: AggregateOptions = {}): Map<string, WorkloadProfiles> {
  const out = new Map<string, WorkloadProfiles>();
  const d = req.dictionary;
  // Made on first use: an aggregation whose trees all defer their stacks resolves none.
  let stacks: { resolver: StackResolver; cache: StackCache } | undefined;
  const resolve = (): { resolver: StackResolver; cache: StackCache } => {
    if (stacks) return stacks;
    const dict = d!;
    const namer = new WireFrameNamer(dict);
    // Stack index → node + 1, valid for the tree numbered owner[index]: one pair of arrays for
    // all trees (an array per tree sized to the stack table cost more to allocate than the
    // aggregation itself); alternating trees just resolve again.
    const nStacks = Math.max(1, dict.stackCount);
    stacks = {
      // A location names its lines, or one frame when none is named: at most lines + locations frames.
      resolver: new StackResolver((loc, sink) => namer.name(loc, sink), { locations: dict.locationCount, frames: dict.lineFunction.n + dict.locationCount }),
      cache: { node: new Int32Array(nStacks), owner: new Int32Array(nStacks), id: 0 },
    };
    return stacks;
  };
  const treeIds = new Map<CallTree, number>();
  const trees = new Map<string, TypeTrees | undefined>();
  const from = opts.from ?? -Infinity;
  const to = opts.to ?? Infinity;
  const windowed = opts.from !== undefined || opts.to !== undefined;
  const names: TypeNames[] = [];

  for (const rp of req.resourceProfiles) {
    const resource = wireKeyValues(rp.resourceAttributes, d);
    const workload = workloadOf(resource);
    if (opts.workload !== undefined && workload.key !== opts.workload) continue;
    let agg = out.get(workload.key);
    if (!agg) {
      const given = opts.treesOf?.(workload.key);
      if (opts.treesOf && !given) continue;
      trees.set(workload.key, given);
      agg = startWorkload(workload, resource);
      out.set(workload.key, agg);
    }
    for (const sp of rp.scopes) {
      names.length = 0;
      for (const p of sp.profiles) names.push(wireTypeNames(p, d));
      const classes = classifyScope(names);
      for (let i = 0; i < sp.profiles.length; i++) {
        const c = classes[i];
        if ('skip' in c) {
          agg.skipped[c.skip]++;
          continue;
        }
        if (opts.type !== undefined && c.type.key !== opts.type) continue;
        const prof = profileFor(agg, c.type, trees.get(workload.key), opts);
        if (!prof) {
          agg.skipped.too_many_types++;
          continue;
        }
        let owner = treeIds.get(prof.tree);
        if (owner === undefined) {
          owner = treeIds.size + 1;
          treeIds.set(prof.tree, owner);
        }
        let resolver: StackResolver | undefined;
        let cache: StackCache | undefined;
        if (!defersStacks(trees.get(workload.key)) && d) {
          ({ resolver, cache } = resolve());
          cache.id = owner;
        }
        addProfile(prof, sp.profiles[i], c.cpuNanosValued, req.samples, d, resolver, cache, windowed, from, to, opts.sign ?? 1);
      }
    }
  }
  return out;
}

/** A wire profile's type strings (see TypeNames): '' when absent or unset, undefined past the table. */
export function wireTypeNames(p: WireProfile, d: WireDictionary | undefined): TypeNames {
  const str = (i: number): string | undefined => (i === 0 ? '' : d?.str(i));
  return {
    sampleType: p.hasSampleType ? str(p.sampleTypeType) : '',
    sampleUnit: p.hasSampleType ? str(p.sampleTypeUnit) : '',
    periodType: p.hasPeriodType ? str(p.periodTypeType) : '',
    periodUnit: p.hasPeriodType ? str(p.periodTypeUnit) : '',
  };
}

/** Stack index → node + 1 for the tree numbered `id` (see aggregateWireTypes). */
interface StackCache {
  node: Int32Array;
  owner: Int32Array;
  id: number;
}

function addProfile(
  agg: WorkloadProfile,
  p: WireProfile,
  cpuNanosValued: boolean,
  s: WireSamples,
  d: WireDictionary | undefined,
  /** Undefined: count the samples without adding them to the tree (DeferredTrees). */
  resolver: StackResolver | undefined,
  cache: StackCache | undefined,
  windowed: boolean,
  from: number,
  to: number,
  sign: 1 | -1,
): void {
  const period = p.period;
  const cpu = agg.type.key === CPU.key;
  const profileMs = (p.timeLo | p.timeHi) !== 0 ? nanosToMs64(p.timeLo, p.timeHi) : NaN;
  const profileEndMs = profileMs + nanosToMs64(p.durationLo, p.durationHi);
  const profileInWindow = !windowed || Number.isNaN(profileMs) || (profileMs >= from && profileMs < to);
  if (cpu && period > 0) agg.periodNanos = period;
  const tree = agg.tree;
  const values = s.values.a;
  const tsMs = s.tsMs.a;
  let minMs = Infinity;
  let maxMs = -Infinity;
  let samples = 0;
  let nanos = 0;
  let events = 0;

  for (let row = p.sampleStart; row < p.sampleEnd; row++) {
    const nv = s.valueCount.a[row];
    const v0 = s.valueStart.a[row];
    const nts = s.tsCount.a[row];
    let count = 0;
    let n = 0;
    if (nts > 0) {
      const t0 = s.tsStart.a[row];
      for (let i = 0; i < nts; i++) {
        const ms = tsMs[t0 + i];
        if (windowed && !(ms >= from && ms < to)) continue;
        count += nv > 0 ? values[v0 + i] : 1;
        n++;
        if (ms < minMs) minMs = ms;
        if (ms > maxMs) maxMs = ms;
      }
    } else {
      if (!profileInWindow) continue;
      n = nv > 0 ? nv : 1;
      if (nv === 0) count = 1;
      else for (let i = 0; i < nv; i++) count += values[v0 + i];
    }
    if (count === 0) continue;
    // As aggregateRequest: CPU samples (and CPU time), or values in the type's unit.
    const sv = cpuNanosValued ? (period > 0 ? count / period : 0) : count;
    const ns = !cpu ? 0 : cpuNanosValued ? count : count * period;
    if (resolver && cache && d) {
      const stackIndex = s.stack.a[row];
      let node = cache.owner[stackIndex] === cache.id ? cache.node[stackIndex] : -1;
      if (node < 0) {
        // An index past the table can only be 0 with an empty table (validated): no frames.
        const start = stackIndex < d.stackCount ? d.stackStart.a[stackIndex] : 0;
        const len = stackIndex < d.stackCount ? d.stackLen.a[stackIndex] : 0;
        node = resolver.nodeFor(tree, d.stackLocs.a, start, start + len);
        cache.node[stackIndex] = node;
        cache.owner[stackIndex] = cache.id;
      }
      tree.add(node, sign * sv, sign * ns);
    }
    samples += sv;
    nanos += ns;
    events += cpu ? sv : n;
  }
  addProfileTotals(agg, samples, nanos, events, minMs, maxMs, profileMs, profileEndMs);
}

/**
 * keyValues over wire attributes. The string cache is filled lazily, so every string the
 * attributes can refer to is decoded first; keyValues then reads the cache as the table.
 */
export function wireKeyValues(kvs: KeyValue[] | undefined, d: WireDictionary | undefined): Record<string, AttributeValue> {
  if (!kvs || !d) return keyValues(kvs, []);
  for (const kv of kvs) {
    d.str(kv.keyStrindex);
    touchValue(kv.value, d);
  }
  // Holes read as undefined, which the helpers treat like an index past the table.
  return keyValues(kvs, d.strings as readonly string[]);
}

/**
 * The value of attribute-table row `idx` when its key is `key` (row 0, a row past the table and
 * a row without a value give undefined), as tableAttributes reads that row.
 */
export function wireTableValue(d: WireDictionary, idx: number, key: string): AttributeValue | undefined {
  const kvu = idx > 0 ? d.attributes[idx] : undefined;
  if (!kvu || d.str(kvu.keyStrindex) !== key) return undefined;
  touchValue(kvu.value, d);
  return anyValue(kvu.value, d.strings as readonly string[]);
}

function touchValue(v: AnyValue | undefined, d: WireDictionary): void {
  if (!v) return;
  const x = v.value;
  if (x.case === 'stringValueStrindex') d.str(x.value);
  else if (x.case === 'arrayValue') for (const item of x.value.values) touchValue(item, d);
  else if (x.case === 'kvlistValue') {
    for (const kv of x.value.values) {
      d.str(kv.keyStrindex);
      touchValue(kv.value, d);
    }
  }
}

/**
 * Names a dictionary's locations as `locationToFrames` does (the same frames, names and
 * fallbacks), remembering per request what many locations share (a mapping's binary, an
 * attribute's frame kind), so that naming a location allocates nothing for a symbolized one.
 */
export class WireFrameNamer {
  /** Per mapping index: its file's basename. */
  private readonly binaries: (string | undefined)[];
  /** Per attribute index: its value as a frame kind, or null when it is not `profile.frame.type` (or has no value). */
  private readonly kinds: (string | null | undefined)[];

  constructor(private readonly d: WireDictionary) {
    // Sized up front: filling an empty array at scattered indices makes V8 switch it to a slow dictionary.
    this.binaries = new Array<string | undefined>(d.mappingCount);
    this.kinds = new Array<string | null | undefined>(d.attributes.length);
  }

  /** Puts the frames of location `loc` into `sink`, callee first. */
  name(loc: number, sink: FrameSink): void {
    const d = this.d;
    if (!(loc >= 0 && loc < d.locationCount)) {
      sink.frame('[unknown]', '', 0, '', '');
      return;
    }
    const kind = this.kindOf(loc);
    const m = d.locMapping.a[loc];
    const hasMapping = m > 0 && m < d.mappingCount;
    const binary = hasMapping ? this.binaryOf(m) : '';
    let named = 0;
    const l0 = d.locLineStart.a[loc];
    for (let l = l0; l < l0 + d.locLineCount.a[loc]; l++) {
      const fi = d.lineFunction.a[l];
      const hasFn = fi > 0 && fi < d.functionCount;
      const name = hasFn ? d.str(d.fnName.a[fi]) || d.str(d.fnSystemName.a[fi]) || '' : '';
      if (!name) continue;
      const file = hasFn ? (d.str(d.fnFilename.a[fi]) ?? '') : '';
      const line = d.lineNumber.a[l] || (hasFn ? d.fnStartLine.a[fi] : 0);
      sink.frame(name, file, line, binary, kind);
      named++;
    }
    if (named === 0) {
      const address = toBigInt(d.locAddrLo.a[loc], d.locAddrHi.a[loc], false);
      let name: string;
      if (hasMapping && binary) {
        const start = d.mapStart[m];
        const offset = address >= start ? address - start + d.mapOffset[m] : address;
        name = `${binary}+0x${offset.toString(16)}`;
      } else {
        name = `0x${address.toString(16)}`;
      }
      sink.frame(name, '', 0, binary, kind);
    }
  }

  private binaryOf(m: number): string {
    let b = this.binaries[m];
    if (b === undefined) {
      b = basename(this.d.str(this.d.mapFilename.a[m]) ?? '');
      this.binaries[m] = b;
    }
    return b;
  }

  /**
   * `profile.frame.type` of a location, as tableAttributes + attributeString resolve it: the
   * last attribute with that key and a value wins, and a value that is not a scalar reads as ''.
   */
  private kindOf(loc: number): string {
    const d = this.d;
    const a0 = d.locAttrStart.a[loc];
    let kind = '';
    for (let i = a0; i < a0 + d.locAttrCount.a[loc]; i++) {
      const k = this.attrKind(d.locAttrs.a[i]);
      if (k !== null) kind = k;
    }
    return kind;
  }

  private attrKind(idx: number): string | null {
    let k = this.kinds[idx];
    if (k === undefined) {
      k = null;
      const value = wireTableValue(this.d, idx, 'profile.frame.type');
      if (value !== undefined) k = attributeString(value) ?? '';
      this.kinds[idx] = k;
    }
    return k;
  }
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}
