import { Function as PFunction, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { WorkloadProfile } from './workload-profile.js';
import { CPU } from './profile-type.js';

/**
 * The profile as pprof (`profile.proto`), uncompressed (the model stays browser-safe: a file or
 * download is gzip-compressed, as `go tool pprof` expects, where it is written). A CPU
 * profile has sample types samples/count and cpu/nanoseconds and period type cpu/nanoseconds;
 * any other type has its own (off_cpu/nanoseconds, alloc_space/bytes, …) and no period. One
 * location per frame, one mapping per binary.
 */
export function toPprof(profile: WorkloadProfile): Uint8Array {
  const tree = profile.tree;
  const strings = new StringTable();
  const str = (s: string): number => strings.dedup(s);
  const mappingIds = new Map<string, number>();
  const mappings: Mapping[] = [];
  const functions: PFunction[] = [];
  const locations: Location[] = [];
  const fnIds = new Map<string, number>();
  // One pprof function + location per frame id.
  const locationOfFrame = new Int32Array(tree.frames.size);
  tree.frames.frames.forEach((f, i) => {
    let mappingId = 0;
    if (f.binary) {
      mappingId = mappingIds.get(f.binary) ?? 0;
      if (mappingId === 0) {
        mappingId = mappings.length + 1;
        mappings.push(new Mapping({ id: mappingId, filename: str(f.binary), hasFunctions: true }));
        mappingIds.set(f.binary, mappingId);
      }
    }
    const fnKey = `${f.name}\0${f.file}`;
    let fnId = fnIds.get(fnKey);
    if (fnId === undefined) {
      fnId = functions.length + 1;
      functions.push(new PFunction({ id: fnId, name: str(f.name), systemName: str(f.name), filename: str(f.file) }));
      fnIds.set(fnKey, fnId);
    }
    const id = locations.length + 1;
    locations.push(new Location({ id, mappingId, line: [new Line({ functionId: fnId, line: f.line })] }));
    locationOfFrame[i] = id;
  });
  const cpu = profile.type.key === CPU.key;
  const samples: Sample[] = [];
  const selfNanos = tree.selfNanos;
  for (let n = 1; n < tree.size; n++) {
    if (tree.selfSamples[n] <= 0) continue;
    const ids: number[] = [];
    for (let m = n; m > 0; m = tree.parent[m]) ids.push(locationOfFrame[tree.frame[m]]);
    const value = cpu ? [Math.round(tree.selfSamples[n]), Math.round(selfNanos[n])] : [Math.round(tree.selfSamples[n])];
    samples.push(new Sample({ locationId: ids, value }));
  }
  const startNanos = Number.isNaN(profile.startMs) ? 0 : Math.round(profile.startMs * 1e6);
  const durationNanos = Number.isNaN(profile.startMs) ? 0 : Math.round((profile.endMs - profile.startMs) * 1e6);
  const type = profile.type;
  const pprof = new Profile({
    sampleType: cpu
      ? [new ValueType({ type: str('samples'), unit: str('count') }), new ValueType({ type: str('cpu'), unit: str('nanoseconds') })]
      : [new ValueType({ type: str(type.name), unit: str(type.unit) })],
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(startNanos),
    durationNanos: BigInt(durationNanos),
    ...(cpu ? { periodType: new ValueType({ type: str('cpu'), unit: str('nanoseconds') }), period: Math.round(profile.periodNanos) } : {}),
    defaultSampleType: str(type.name),
  });
  return pprof.encode();
}
