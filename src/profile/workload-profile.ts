import type { AttributeValue } from '../otlp/attributes.js';
import { CallTree } from './calltree.js';
import { CPU, emptySkipCounts, profileTypeOfKey, totalSkipped, type ProfileType, type SkipCounts } from './profile-type.js';
import type { WorkloadId } from './workload.js';

// What aggregation makes of a request, and the steps every aggregation shares: the wire path
// (aggregate-encoded.ts) builds these; the store, the API and the CLI read and merge them.

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
 * Adds one profile's totals to its workload's profile: samples, events and CPU time, and the
 * time span from its sample timestamps (min/max, Infinity when none), else from the profile's
 * own time and duration.
 */
export function addProfileTotals(
  agg: WorkloadProfile,
  samples: number,
  nanos: number,
  events: number,
  minMs: number,
  maxMs: number,
  profileMs: number,
  profileEndMs: number,
): void {
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
