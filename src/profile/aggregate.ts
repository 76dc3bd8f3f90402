import { keyValues, tableAttributes, attributeString, type AttributeValue } from '../otlp/attributes.js';
import type { ExportProfilesServiceRequest, Profile, ProfilesDictionary } from '../otlp/messages.js';
import { CallTree } from './calltree.js';
import type { Frame } from './frames.js';
import { StackResolver } from './resolve.js';
import { workloadOf, type WorkloadId } from './workload.js';
import { CPU, classifyProfile, classifyScope, emptySkipCounts, profileTypeOfKey, totalSkipped, type ProfileType, type SkipCounts, type TypeNames } from './profile-type.js';

/**
 * One workload's profiles of one type, aggregated: a call tree plus totals and time bounds.
 * The tree's sample column (and `samples`) is in the type's sample unit: samples for CPU (CPU
 * time = samples × period), the type's own unit for every other type (off-CPU nanoseconds,
 * bytes, …). Its nanosecond column (and `cpuNanos`) is CPU time, 0 for other types.
 */
export interface WorkloadProfile {
  workload: WorkloadId;
  /** Resource attributes of the first resource seen for this workload. */
  resource: Record<string, AttributeValue>;
  /** What the tree measures. */
  type: ProfileType;
  tree: CallTree;
  /** Sum of the sample values the tree holds (the flame graph's total), in the type's sample unit. */
  samples: number;
  /** Sampled events: CPU samples for CPU; for other types one per value (a value-less sample: one per timestamp, else one). */
  events: number;
  /** CPU time in nanoseconds; 0 for types other than CPU. */
  cpuNanos: number;
  /** Nanoseconds per sample of the last CPU profile aggregated (1e9 / hz); 0 when unknown, and for other types. */
  periodNanos: number;
  /** Time bounds of the samples in ms since the epoch; NaN when no time was given. */
  startMs: number;
  endMs: number;
  /** Profiles of this workload aggregated into no type (every reason; WorkloadProfiles.skipped has them by reason). */
  skippedProfiles: number;
}

/** One workload's profiles of every type: one WorkloadProfile per type present. */
export interface WorkloadProfiles {
  workload: WorkloadId;
  /** Resource attributes of the first resource seen for this workload. */
  resource: Record<string, AttributeValue>;
  /** By type key, in the order first seen. */
  types: Map<string, WorkloadProfile>;
  /** Profiles aggregated into no type, by reason. */
  skipped: SkipCounts;
}

/**
 * The trees a workload's samples go into, one per type. `treeFor` answers undefined to refuse
 * a type (a store's cap on distinct types): its profiles are then skipped as `too_many_types`.
 */
export interface TypeTrees {
  treeFor(type: ProfileType): CallTree | undefined;
}

export interface AggregateOptions {
  /** Only this workload key. */
  workload?: string;
  /**
   * Only profiles of this type (a ProfileType key); profiles of other types are passed over
   * (not skipped). `aggregateRequest` and `aggregateWire` take `cpu` when it is not given.
   */
  type?: string;
  /** Time window in ms since the epoch, [from, to). Samples without any time are kept. */
  from?: number;
  to?: number;
  /**
   * Add the samples of `type` into this tree instead of a new one per workload (meant with
   * `workload`): the profile store aggregates a chunk straight into a running tree, skipping a
   * merge. The returned profile's totals and time bounds are still the request's own.
   */
  tree?: CallTree;
  /**
   * The trees each workload's samples go into, by workload key; a workload given none is left
   * out. The profile store aggregates a request of many workloads straight into its slots'
   * running trees in one pass, resolving the shared stacks once.
   */
  treesOf?: (workloadKey: string) => TypeTrees | undefined;
  /** -1 takes the request's samples out of the trees again (totals stay positive). Default 1. */
  sign?: 1 | -1;
}

export function emptyWorkloadProfile(workload: WorkloadId, resource: Record<string, AttributeValue> = {}, type: ProfileType = CPU): WorkloadProfile {
  return {
    workload,
    resource,
    type,
    tree: new CallTree(),
    samples: 0,
    events: 0,
    cpuNanos: 0,
    periodNanos: 0,
    startMs: NaN,
    endMs: NaN,
    skippedProfiles: 0,
  };
}

/** A workload's entry of an aggregation, before any profile is added. */
export function startWorkload(workload: WorkloadId, resource: Record<string, AttributeValue>): WorkloadProfiles {
  return { workload, resource, types: new Map(), skipped: emptySkipCounts() };
}

/**
 * The profile of `type` within a workload's aggregation, made on its first profile with the
 * tree `opts` gives (undefined: the type is refused).
 */
export function profileFor(w: WorkloadProfiles, type: ProfileType, trees: TypeTrees | undefined, opts: AggregateOptions): WorkloadProfile | undefined {
  let p = w.types.get(type.key);
  if (p) return p;
  const tree = trees ? trees.treeFor(type) : opts.tree && opts.type === type.key ? opts.tree : new CallTree();
  if (!tree) return undefined;
  p = emptyWorkloadProfile(w.workload, w.resource, type);
  p.tree = tree;
  w.types.set(type.key, p);
  return p;
}

/**
 * Per workload, its profile of `type` (the type's empty profile when the workload sent none),
 * with the workload's skipped profiles counted on it.
 */
export function pickType(all: Map<string, WorkloadProfiles>, type: string, opts: AggregateOptions): Map<string, WorkloadProfile> {
  const t = profileTypeOfKey(type);
  if (!t) throw new RangeError(`not a profile type key: ${JSON.stringify(type)}`);
  const out = new Map<string, WorkloadProfile>();
  for (const [key, w] of all) {
    let p = w.types.get(type);
    if (!p) {
      p = emptyWorkloadProfile(w.workload, w.resource, t);
      if (opts.tree) p.tree = opts.tree;
    }
    p.skippedProfiles = totalSkipped(w.skipped);
    out.set(key, p);
  }
  return out;
}

/**
 * Aggregates a validated request into one WorkloadProfile per workload key, of one profile type
 * (`opts.type`, default `cpu`). Stacks are resolved to frames once per (tree, stack index);
 * samples only add to a node.
 */
export function aggregateRequest(req: ExportProfilesServiceRequest, opts: AggregateOptions = {}): Map<string, WorkloadProfile> {
  const type = opts.type ?? CPU.key;
  return pickType(aggregateRequestTypes(req, { ...opts, type }), type, opts);
}

/** Aggregates a validated request into every profile type of every workload. */
export function aggregateRequestTypes(req: ExportProfilesServiceRequest, opts: AggregateOptions = {}): Map<string, WorkloadProfiles> {
  const out = new Map<string, WorkloadProfiles>();
  const dict = req.dictionary;
  const strings = dict?.stringTable ?? [];
  const resolver = dict ? new FrameResolver(dict) : undefined;
  const trees = new Map<string, TypeTrees | undefined>();
  const stackCaches = new Map<CallTree, Map<number, number>>();
  const from = opts.from ?? -Infinity;
  const to = opts.to ?? Infinity;
  const windowed = opts.from !== undefined || opts.to !== undefined;

  for (const rp of req.resourceProfiles) {
    const resource = keyValues(rp.resource?.attributes, strings);
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
    for (const sp of rp.scopeProfiles) {
      const classes = classifyScope(sp.profiles.map((p) => typeNamesOf(p, strings)));
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
        let stackCache = stackCaches.get(prof.tree);
        if (!stackCache) {
          stackCache = new Map();
          stackCaches.set(prof.tree, stackCache);
        }
        addProfile(prof, sp.profiles[i], c.cpuNanosValued, resolver!, stackCache, windowed, from, to, opts.sign ?? 1);
      }
    }
  }
  return out;
}

/** A profile's type strings (see TypeNames): '' when absent or unset, undefined past the table. */
export function typeNamesOf(p: Profile, strings: readonly string[]): TypeNames {
  const str = (i: number): string | undefined => (i === 0 ? '' : strings[i]);
  return {
    sampleType: p.sampleType ? str(p.sampleType.typeStrindex) : '',
    sampleUnit: p.sampleType ? str(p.sampleType.unitStrindex) : '',
    periodType: p.periodType ? str(p.periodType.typeStrindex) : '',
    periodUnit: p.periodType ? str(p.periodType.unitStrindex) : '',
  };
}

function addProfile(
  agg: WorkloadProfile,
  profile: Profile,
  cpuNanosValued: boolean,
  resolver: FrameResolver,
  stackCache: Map<number, number>,
  windowed: boolean,
  from: number,
  to: number,
  sign: 1 | -1,
): void {
  const period = Number(profile.period);
  const cpu = agg.type.key === CPU.key;
  const profileMs = profile.timeUnixNano > 0n ? nanosToMs(profile.timeUnixNano) : NaN;
  const profileEndMs = profileMs + nanosToMs(profile.durationNano);
  const profileInWindow = !windowed || Number.isNaN(profileMs) || (profileMs >= from && profileMs < to);
  if (cpu && period > 0) agg.periodNanos = period;
  const tree = agg.tree;
  let minMs = Infinity;
  let maxMs = -Infinity;
  let samples = 0;
  let nanos = 0;
  let events = 0;

  for (const sample of profile.samples) {
    const values = sample.values;
    const ts = sample.timestampsUnixNano;
    let count = 0;
    let n = 0;
    if (ts.length > 0) {
      for (let i = 0; i < ts.length; i++) {
        const ms = nanosToMs(ts[i]);
        if (windowed && !(ms >= from && ms < to)) continue;
        count += values.length > 0 ? Number(values[i]) : 1;
        n++;
        if (ms < minMs) minMs = ms;
        if (ms > maxMs) maxMs = ms;
      }
    } else {
      if (!profileInWindow) continue;
      n = Math.max(1, values.length);
      if (values.length === 0) count = 1;
      else for (let i = 0; i < values.length; i++) count += Number(values[i]);
    }
    if (count === 0) continue;
    let node = stackCache.get(sample.stackIndex);
    if (node === undefined) {
      node = resolver.nodeFor(tree, sample.stackIndex);
      stackCache.set(sample.stackIndex, node);
    }
    // CPU: counted samples are worth a period each, nanosecond values a period per sample.
    // Other types: values in their unit, no CPU time.
    const s = cpuNanosValued ? (period > 0 ? count / period : 0) : count;
    const ns = !cpu ? 0 : cpuNanosValued ? count : count * period;
    tree.add(node, sign * s, sign * ns);
    samples += s;
    nanos += ns;
    events += cpu ? s : n;
  }
  addProfileTotals(agg, samples, nanos, events, minMs, maxMs, profileMs, profileEndMs);
}

/**
 * Adds one profile's totals to its workload's profile: samples, events and CPU time, and the
 * time span from its sample timestamps (min/max, Infinity when none), else from the profile's
 * own time and duration.
 */
export function addProfileTotals(agg: WorkloadProfile, samples: number, nanos: number, events: number, minMs: number, maxMs: number, profileMs: number, profileEndMs: number): void {
  if (samples === 0 && nanos === 0) return;
  if (minMs === Infinity && !Number.isNaN(profileMs)) {
    minMs = profileMs;
    maxMs = profileEndMs;
  }
  agg.samples += samples;
  agg.events += events;
  agg.cpuNanos += nanos;
  if (minMs !== Infinity) {
    agg.startMs = Number.isNaN(agg.startMs) ? minMs : Math.min(agg.startMs, minMs);
    agg.endMs = Number.isNaN(agg.endMs) ? maxMs : Math.max(agg.endMs, maxMs);
  }
}

/** Whether a profile, looked at alone, is CPU time (see profile-type.ts for the rule across a scope). */
export function isCpuProfile(profile: Profile, strings: readonly string[]): boolean {
  const c = classifyProfile(typeNamesOf(profile, strings));
  return 'type' in c && c.type === CPU;
}

/**
 * Turns dictionary locations into frames. Each location is resolved once per request; a
 * location with inlined lines yields one frame per line (callee first, as on the wire).
 */
export class FrameResolver {
  private readonly stacks: StackResolver;

  constructor(private readonly dict: ProfilesDictionary) {
    this.stacks = new StackResolver((loc, sink) => {
      for (const f of locationToFrames(dict, loc)) sink.frame(f.name, f.file, f.line, f.binary, f.kind);
    });
  }

  /** Frames of a location, leaf (innermost inlined callee) first. */
  framesOf(locationIndex: number): Frame[] {
    return this.stacks.framesOf(locationIndex);
  }

  /** The call-tree node for a stack index (stack_table entries are leaf first). */
  nodeFor(tree: CallTree, stackIndex: number): number {
    const locs = this.dict.stackTable[stackIndex]?.locationIndices ?? [];
    return this.stacks.nodeFor(tree, locs, 0, locs.length);
  }
}

/** Frames of one location, innermost first. Never empty: unnamed code is `binary+0xoffset`. */
export function locationToFrames(dict: ProfilesDictionary, locationIndex: number): Frame[] {
  const strings = dict.stringTable;
  const loc = dict.locationTable[locationIndex];
  if (!loc) return [{ name: '[unknown]', file: '', line: 0, binary: '', kind: '' }];
  const attrs = loc.attributeIndices.length > 0 ? tableAttributes(loc.attributeIndices, dict.attributeTable, strings) : {};
  const kind = attributeString(attrs['profile.frame.type']) ?? '';
  const mapping = loc.mappingIndex > 0 ? dict.mappingTable[loc.mappingIndex] : undefined;
  const binary = mapping ? basename(strings[mapping.filenameStrindex] ?? '') : '';
  const frames: Frame[] = [];
  for (const line of loc.lines) {
    const fn = line.functionIndex > 0 ? dict.functionTable[line.functionIndex] : undefined;
    const name = fn ? strings[fn.nameStrindex] || strings[fn.systemNameStrindex] || '' : '';
    if (!name) continue;
    const file = fn ? (strings[fn.filenameStrindex] ?? '') : '';
    const lineNo = Number(line.line) || (fn ? Number(fn.startLine) : 0);
    frames.push({ name, file, line: lineNo, binary, kind });
  }
  if (frames.length === 0) {
    const address = loc.address;
    let name: string;
    if (mapping && binary) {
      const offset = address >= mapping.memoryStart ? address - mapping.memoryStart + mapping.fileOffset : address;
      name = `${binary}+0x${offset.toString(16)}`;
    } else {
      name = `0x${address.toString(16)}`;
    }
    frames.push({ name, file: '', line: 0, binary, kind });
  }
  return frames;
}

/** Nanoseconds since the epoch to milliseconds, exact to the microsecond (a double holds no more). */
export function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1000n) / 1000;
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Adds `src` into `dst` (same workload and type): trees merge, totals add, time bounds widen. */
export function mergeWorkloadProfile(dst: WorkloadProfile, src: WorkloadProfile): void {
  dst.tree.merge(src.tree);
  addTotals(dst, src);
}

/** mergeWorkloadProfile without the tree (already added into): totals add, bounds widen. */
export function addTotals(dst: WorkloadProfile, src: WorkloadProfile): void {
  dst.samples += src.samples;
  dst.events += src.events;
  dst.cpuNanos += src.cpuNanos;
  if (src.periodNanos > 0) dst.periodNanos = src.periodNanos;
  if (!Number.isNaN(src.startMs)) dst.startMs = Number.isNaN(dst.startMs) ? src.startMs : Math.min(dst.startMs, src.startMs);
  if (!Number.isNaN(src.endMs)) dst.endMs = Number.isNaN(dst.endMs) ? src.endMs : Math.max(dst.endMs, src.endMs);
  dst.skippedProfiles += src.skippedProfiles;
}
