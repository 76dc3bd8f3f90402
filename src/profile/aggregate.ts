// A test oracle: aggregation of a request decoded to protobuf-es messages, written from the data
// model independently of the wire path that Pilotlight runs (aggregate-encoded.ts). Tests and
// benches compare the two; nothing in Pilotlight's own code imports this module.
import { keyValues, tableAttributes, attributeString } from '../otlp/attributes.js';
import type { ExportProfilesServiceRequest, Profile, ProfilesDictionary } from '../otlp/messages.js';
import type { CallTree } from './calltree.js';
import type { Frame } from './frames.js';
import { StackResolver } from './resolve.js';
import { workloadOf } from './workload.js';
import { CPU, classifyProfile, classifyScope, type TypeNames } from './profile-type.js';
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

// The shared types and steps, for the tests that import them from here with the oracle.
export * from './workload-profile.js';

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
