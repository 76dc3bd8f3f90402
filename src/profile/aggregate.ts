import { keyValues, tableAttributes, attributeString, type AttributeValue } from '../otlp/attributes.js';
import type { ExportProfilesServiceRequest, Profile, ProfilesDictionary } from '../otlp/messages.js';
import { CallTree } from './calltree.js';
import type { Frame } from './frames.js';
import { StackResolver } from './resolve.js';
import { workloadOf, type WorkloadId } from './workload.js';

/** One workload's samples, aggregated: a call tree plus totals and time bounds. */
export interface WorkloadProfile {
  workload: WorkloadId;
  /** Resource attributes of the first resource seen for this workload. */
  resource: Record<string, AttributeValue>;
  tree: CallTree;
  samples: number;
  cpuNanos: number;
  /** Nanoseconds per sample of the last profile aggregated (1e9 / hz); 0 when unknown. */
  periodNanos: number;
  /** Time bounds of the samples in ms since the epoch; NaN when no time was given. */
  startMs: number;
  endMs: number;
  /** Profiles skipped because their sample type is not CPU (off-CPU, allocations, …). */
  skippedProfiles: number;
}

export interface AggregateOptions {
  /** Only this workload key. */
  workload?: string;
  /** Time window in ms since the epoch, [from, to). Samples without any time are kept. */
  from?: number;
  to?: number;
  /**
   * Add samples into this tree instead of a new one per workload (meant with `workload`): the
   * profile store aggregates a chunk straight into its running tree, skipping a merge. The
   * returned profile's totals and time bounds are still the request's own.
   */
  tree?: CallTree;
  /**
   * The tree each workload's samples go into, by key; a workload given none is skipped. The
   * profile store aggregates a request of many workloads straight into its slots' running
   * trees in one pass, resolving the shared stacks once. Wire path (`aggregateWire`) only.
   */
  treeOf?: (workloadKey: string) => CallTree | undefined;
  /** -1 takes the request's samples out of `tree` again (totals stay positive). Default 1. */
  sign?: 1 | -1;
}

/** A profile to aggregate into: a new tree, or `opts.tree`. */
export function startProfile(workload: WorkloadId, resource: Record<string, AttributeValue>, opts: AggregateOptions): WorkloadProfile {
  const p = emptyWorkloadProfile(workload, resource);
  if (opts.tree) p.tree = opts.tree;
  return p;
}

export function emptyWorkloadProfile(workload: WorkloadId, resource: Record<string, AttributeValue> = {}): WorkloadProfile {
  return {
    workload,
    resource,
    tree: new CallTree(),
    samples: 0,
    cpuNanos: 0,
    periodNanos: 0,
    startMs: NaN,
    endMs: NaN,
    skippedProfiles: 0,
  };
}

/**
 * Aggregates a validated request into one WorkloadProfile per workload key. Stacks are
 * resolved to frames once per (workload, stack index); samples only add to a node.
 */
export function aggregateRequest(req: ExportProfilesServiceRequest, opts: AggregateOptions = {}): Map<string, WorkloadProfile> {
  const out = new Map<string, WorkloadProfile>();
  const dict = req.dictionary;
  const strings = dict?.stringTable ?? [];
  const resolver = dict ? new FrameResolver(dict) : undefined;
  const stackCaches = new Map<string, Map<number, number>>();
  const from = opts.from ?? -Infinity;
  const to = opts.to ?? Infinity;
  const windowed = opts.from !== undefined || opts.to !== undefined;

  for (const rp of req.resourceProfiles) {
    const resource = keyValues(rp.resource?.attributes, strings);
    const workload = workloadOf(resource);
    if (opts.workload !== undefined && workload.key !== opts.workload) continue;
    let agg = out.get(workload.key);
    if (!agg) {
      agg = startProfile(workload, resource, opts);
      out.set(workload.key, agg);
    }
    let stackCache = stackCaches.get(workload.key);
    if (!stackCache) {
      stackCache = new Map();
      stackCaches.set(workload.key, stackCache);
    }
    for (const sp of rp.scopeProfiles) {
      for (const profile of sp.profiles) {
        if (!isCpuProfile(profile, strings)) {
          agg.skippedProfiles++;
          continue;
        }
        addProfile(agg, profile, strings, resolver!, stackCache, windowed, from, to, opts.sign ?? 1);
      }
    }
  }
  return out;
}

function addProfile(
  agg: WorkloadProfile,
  profile: Profile,
  strings: readonly string[],
  resolver: FrameResolver,
  stackCache: Map<number, number>,
  windowed: boolean,
  from: number,
  to: number,
  sign: 1 | -1,
): void {
  const period = Number(profile.period);
  const valueIsNanos = profile.sampleType !== undefined && strings[profile.sampleType.unitStrindex] === 'nanoseconds';
  const profileMs = profile.timeUnixNano > 0n ? nanosToMs(profile.timeUnixNano) : NaN;
  const profileEndMs = profileMs + nanosToMs(profile.durationNano);
  const profileInWindow = !windowed || Number.isNaN(profileMs) || (profileMs >= from && profileMs < to);
  if (period > 0) agg.periodNanos = period;
  const tree = agg.tree;
  let minMs = Infinity;
  let maxMs = -Infinity;
  let samples = 0;
  let nanos = 0;

  for (const sample of profile.samples) {
    const values = sample.values;
    const ts = sample.timestampsUnixNano;
    let count = 0;
    if (ts.length > 0) {
      for (let i = 0; i < ts.length; i++) {
        const ms = nanosToMs(ts[i]);
        if (windowed && !(ms >= from && ms < to)) continue;
        count += values.length > 0 ? Number(values[i]) : 1;
        if (ms < minMs) minMs = ms;
        if (ms > maxMs) maxMs = ms;
      }
    } else {
      if (!profileInWindow) continue;
      if (values.length === 0) count = 1;
      else for (let i = 0; i < values.length; i++) count += Number(values[i]);
    }
    if (count === 0) continue;
    let node = stackCache.get(sample.stackIndex);
    if (node === undefined) {
      node = resolver.nodeFor(tree, sample.stackIndex);
      stackCache.set(sample.stackIndex, node);
    }
    const s = valueIsNanos ? (period > 0 ? count / period : 0) : count;
    const n = valueIsNanos ? count : count * period;
    tree.add(node, sign * s, sign * n);
    samples += s;
    nanos += n;
  }
  addProfileTotals(agg, samples, nanos, minMs, maxMs, profileMs, profileEndMs);
}

/** Only CPU profiles are aggregated; other sample types (off-CPU, memory) are skipped. */
/**
 * Adds one profile's totals to its workload: samples and CPU time, and the time span from its
 * sample timestamps (min/max, Infinity when none), else from the profile's own time and duration.
 */
export function addProfileTotals(agg: WorkloadProfile, samples: number, nanos: number, minMs: number, maxMs: number, profileMs: number, profileEndMs: number): void {
  if (samples === 0 && nanos === 0) return;
  if (minMs === Infinity && !Number.isNaN(profileMs)) {
    minMs = profileMs;
    maxMs = profileEndMs;
  }
  agg.samples += samples;
  agg.cpuNanos += nanos;
  if (minMs !== Infinity) {
    agg.startMs = Number.isNaN(agg.startMs) ? minMs : Math.min(agg.startMs, minMs);
    agg.endMs = Number.isNaN(agg.endMs) ? maxMs : Math.max(agg.endMs, maxMs);
  }
}

export function isCpuProfile(profile: Profile, strings: readonly string[]): boolean {
  const st = profile.sampleType ? strings[profile.sampleType.typeStrindex] : '';
  const pt = profile.periodType ? strings[profile.periodType.typeStrindex] : '';
  return (st === '' || st === 'samples' || st === 'cpu') && (pt === '' || pt === 'cpu');
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

/** Adds `src` into `dst` (same workload): trees merge, totals add, time bounds widen. */
export function mergeWorkloadProfile(dst: WorkloadProfile, src: WorkloadProfile): void {
  dst.tree.merge(src.tree);
  dst.samples += src.samples;
  dst.cpuNanos += src.cpuNanos;
  if (src.periodNanos > 0) dst.periodNanos = src.periodNanos;
  if (!Number.isNaN(src.startMs)) dst.startMs = Number.isNaN(dst.startMs) ? src.startMs : Math.min(dst.startMs, src.startMs);
  if (!Number.isNaN(src.endMs)) dst.endMs = Number.isNaN(dst.endMs) ? src.endMs : Math.max(dst.endMs, src.endMs);
  dst.skippedProfiles += src.skippedProfiles;
}
