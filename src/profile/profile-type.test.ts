import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Profile as PprofProfile } from 'pprof-format';
import { encodeRequest } from '../otlp/codec.js';
import { RequestBuilder } from '../otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../otlp/messages.js';
import { readWireRequest } from '../otlp/wire/request.js';
import { validateWire } from '../otlp/wire/validate.js';
import { OtlpValidationError } from '../otlp/errors.js';
import { K8S_INVENTORY } from '../../test/helpers/fixtures.js';
import { CPU_PERIOD, T0, cpuAndOffCpuRequest } from '../../test/profile-types-fixture.js';
import { aggregateRequest, aggregateRequestTypes, type WorkloadProfiles } from './aggregate.js';
import { aggregateEncoded, aggregateWireTypes } from './aggregate-encoded.js';
import { classifyProfile, classifyScope, profileTypeOfKey, type TypeNames } from './profile-type.js';
import { foldedStacks } from './folded.js';
import { toPprof } from './pprof.js';
import { requestTimes, timeline } from './timeline.js';

const KEY = 'default/Deployment/inventory';
const names = (sampleType: string, sampleUnit: string, periodType = '', periodUnit = ''): TypeNames => ({ sampleType, sampleUnit, periodType, periodUnit });
const keyOf = (n: TypeNames): string => {
  const c = classifyProfile(n);
  return 'type' in c ? c.type.key : `skip:${c.skip}`;
};

/** Both aggregation paths over one request: the message path and the wire path. */
function both(req: ExportProfilesServiceRequest): [string, Map<string, WorkloadProfiles>][] {
  return [
    ['message path', aggregateRequestTypes(req)],
    ['wire path', aggregateWireTypes(readWireRequest(encodeRequest(req)))],
  ];
}

test('a profile type is named from sample type and period type', () => {
  assert.equal(keyOf(names('samples', 'count', 'cpu', 'nanoseconds')), 'cpu');
  assert.equal(keyOf(names('samples', 'count')), 'cpu', 'samples without a period type: CPU samples');
  assert.equal(keyOf(names('cpu', 'nanoseconds', 'cpu', 'nanoseconds')), 'cpu');
  assert.equal(keyOf(names('', '', 'cpu', 'nanoseconds')), 'cpu', 'only a cpu period type');
  assert.equal(keyOf(names('off_cpu', 'nanoseconds')), 'off_cpu');
  assert.equal(keyOf(names('alloc_space', 'bytes', 'space', 'bytes')), 'alloc_space:bytes');
  assert.equal(keyOf(names('samples', 'count', 'wall', 'nanoseconds')), 'samples:count', 'wall-clock samples are not CPU time');
  assert.equal(keyOf(names('', '')), 'skip:missing_type');
  assert.equal(keyOf(names('alloc_space', '')), 'skip:missing_unit');
  assert.equal(keyOf({ sampleType: undefined, sampleUnit: 'count', periodType: '', periodUnit: '' }), 'skip:unreadable_type');
  assert.equal(keyOf({ sampleType: 'samples', sampleUnit: 'count', periodType: 'cpu', periodUnit: undefined }), 'skip:unreadable_type');
  const alloc = profileTypeOfKey('alloc_space:bytes')!;
  assert.deepEqual({ ...alloc }, { key: 'alloc_space:bytes', label: 'alloc_space (bytes)', unit: 'bytes', name: 'alloc_space' });
  assert.equal(profileTypeOfKey('cpu')!.unit, 'nanoseconds');
  assert.equal(profileTypeOfKey('off_cpu')!.label, 'Off-CPU');
  assert.equal(profileTypeOfKey('nonsense'), undefined);
});

test('in one scope, a cpu/nanoseconds profile beside a samples/count one repeats it and is skipped', () => {
  const classes = classifyScope([
    names('samples', 'count', 'cpu', 'nanoseconds'),
    names('cpu', 'nanoseconds', 'cpu', 'nanoseconds'),
    names('off_cpu', 'nanoseconds'),
  ]);
  assert.deepEqual(
    classes.map((c) => ('type' in c ? c.type.key : c.skip)),
    ['cpu', 'duplicate_cpu', 'off_cpu'],
  );
  const alone = classifyScope([names('cpu', 'nanoseconds', 'cpu', 'nanoseconds')]);
  assert.deepEqual(
    alone.map((c) => ('type' in c ? [c.type.key, c.cpuNanosValued] : c.skip)),
    [['cpu', true]],
  );
});

test('a CPU and an off-CPU profile of one workload in one scope stay apart, with their own totals', () => {
  const req = cpuAndOffCpuRequest();
  assert.equal(req.resourceProfiles[0].scopeProfiles.length, 1, 'one ScopeProfiles, as the eBPF profiler sends');
  assert.equal(req.resourceProfiles[0].scopeProfiles[0].profiles.length, 2, 'each sample type its own Profile');
  for (const [path, aggs] of both(req)) {
    const w = aggs.get(KEY)!;
    assert.deepEqual([...w.types.keys()], ['cpu', 'off_cpu'], path);
    const cpu = w.types.get('cpu')!;
    const off = w.types.get('off_cpu')!;
    assert.equal(foldedStacks(cpu.tree), 'main;idle 1\nmain;work 3\n', `${path}: CPU tree`);
    assert.equal(foldedStacks(off.tree), 'main;read;sys_read 5000000\nmain;wait 7000000\n', `${path}: off-CPU tree, in nanoseconds`);
    // CPU time = count × period; off-CPU time = the sum of the values.
    assert.deepEqual([cpu.samples, cpu.events, cpu.cpuNanos, cpu.periodNanos], [4, 4, 4 * CPU_PERIOD, CPU_PERIOD], `${path}: CPU totals`);
    assert.deepEqual([off.samples, off.events, off.cpuNanos, off.periodNanos], [12_000_000, 3, 0, 0], `${path}: off-CPU totals`);
    assert.equal(off.type.unit, 'nanoseconds');
    assert.equal(cpu.startMs, Number(T0 / 1_000_000n) + 1);
    assert.equal(off.endMs, Number(T0 / 1_000_000n) + 6);
    assert.equal(
      Object.values(w.skipped).reduce((a, b) => a + b, 0),
      0,
      `${path}: nothing skipped`,
    );
  }
  // One type asked for: CPU by default, and the other type's profiles are not counted as skipped.
  const cpuOnly = aggregateEncoded(encodeRequest(req)).get(KEY)!;
  assert.deepEqual([cpuOnly.type.key, cpuOnly.samples, cpuOnly.skippedProfiles], ['cpu', 4, 0]);
  const offOnly = aggregateRequest(req, { type: 'off_cpu' }).get(KEY)!;
  assert.deepEqual([offOnly.type.key, offOnly.samples], ['off_cpu', 12_000_000]);
});

test('samples/count and cpu/nanoseconds: skipped as a repeat in one scope, added (converted) from separate senders', () => {
  const build = (share: boolean): ExportProfilesServiceRequest => {
    const b = new RequestBuilder();
    const counted = b.profile(K8S_INVENTORY, { periodNanos: CPU_PERIOD, scope: { name: 'pprof' }, shareScope: share });
    const valued = b.profile(K8S_INVENTORY, { periodNanos: CPU_PERIOD, sampleType: ['cpu', 'nanoseconds'], scope: { name: 'pprof' }, shareScope: share });
    const stack = b.stackOfFrames([{ name: 'main' }, { name: 'spin' }]);
    // pprof's CPU profile: 3 samples, and the same 3 samples as 3 × period nanoseconds.
    b.addSample(counted, stack, { value: 3 });
    b.addSample(valued, stack, { value: 3 * CPU_PERIOD });
    return b.build();
  };
  for (const [path, aggs] of both(build(true))) {
    const w = aggs.get(KEY)!;
    const cpu = w.types.get('cpu')!;
    assert.deepEqual([cpu.samples, cpu.cpuNanos], [3, 3 * CPU_PERIOD], `${path}: counted once, not 6 samples`);
    assert.equal(w.skipped.duplicate_cpu, 1, path);
  }
  // Two scopes are two senders (a samples/count sampler and a cpu/nanoseconds one): both are CPU
  // time, so they add up in one tree, the nanoseconds converted to samples by the period.
  for (const [path, aggs] of both(build(false))) {
    const w = aggs.get(KEY)!;
    const cpu = w.types.get('cpu')!;
    assert.deepEqual([cpu.samples, cpu.cpuNanos], [6, 6 * CPU_PERIOD], path);
    assert.equal(foldedStacks(cpu.tree), 'main;spin 6\n', path);
    assert.equal(w.skipped.duplicate_cpu, 0, path);
  }
});

test('a profile whose type cannot be read is skipped and counted; the rest of the request is kept', () => {
  // One workload: CPU, an allocation profile (kept as its own type), a profile with no type
  // name, and one whose type string index points past the string table.
  const one = new RequestBuilder();
  const cpu = one.profile(K8S_INVENTORY, { periodNanos: CPU_PERIOD });
  one.addSample(cpu, one.stackOfFrames([{ name: 'main' }, { name: 'work' }]), { value: 2 });
  const allocP = one.profile(K8S_INVENTORY, { periodNanos: 524_288, sampleType: ['alloc_space', 'bytes'], periodType: ['space', 'bytes'] });
  one.addSample(allocP, one.stackOfFrames([{ name: 'main' }, { name: 'malloc' }]), { value: 4096 });
  const none = one.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: ['', ''], periodType: null });
  one.addSample(none, one.stackOfFrames([{ name: 'main' }]), { value: 1 });
  const bad = one.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: ['mystery', 'count'], periodType: null });
  one.addSample(bad, one.stackOfFrames([{ name: 'main' }]), { value: 1 });
  const built = one.build();
  // A sample type string index past the string table (what validation rejects at a receiver).
  const profiles = built.resourceProfiles[0].scopeProfiles.map((sp) => sp.profiles[0]);
  profiles[3].sampleType!.typeStrindex = built.dictionary!.stringTable.length + 10;
  assert.throws(() => validateWire(readWireRequest(encodeRequest(built))), OtlpValidationError, 'receivers reject a dangling string index with a 400');

  for (const [path, aggs] of both(built)) {
    const w = aggs.get(KEY)!;
    assert.deepEqual([...w.types.keys()], ['cpu', 'alloc_space:bytes'], path);
    assert.equal(foldedStacks(w.types.get('cpu')!.tree), 'main;work 2\n', path);
    const a = w.types.get('alloc_space:bytes')!;
    assert.deepEqual([a.samples, a.cpuNanos, a.periodNanos, a.type.unit], [4096, 0, 0, 'bytes'], `${path}: bytes, no CPU time`);
    assert.equal(w.skipped.missing_type, 1, path);
    assert.equal(w.skipped.unreadable_type, 1, path);
  }
  assert.equal(aggregateRequest(built).get(KEY)!.skippedProfiles, 2, 'a one-type result counts the skipped profiles too');
});

test('the timeline of each type follows its own samples: CPU samples, off-CPU nanoseconds', () => {
  const wire = readWireRequest(encodeRequest(cpuAndOffCpuRequest()));
  const t0 = Number(T0 / 1_000_000n);
  const cpu = timeline([requestTimes(wire)], { stepMs: 1 });
  assert.deepEqual(
    cpu.points.map((p) => [p.t - t0, p.samples, p.cpuNanos]),
    [
      [1, 1, CPU_PERIOD],
      [2, 1, CPU_PERIOD],
      [3, 1, CPU_PERIOD],
      [4, 0, 0],
      [5, 1, CPU_PERIOD],
    ],
  );
  assert.equal(cpu.periodNanos, CPU_PERIOD);
  const off = timeline([requestTimes(wire, 'off_cpu')], { stepMs: 1 });
  assert.deepEqual(
    off.points.map((p) => [p.t - t0, p.samples, p.cpuNanos]),
    [
      [1, 2_000_000, 0],
      [2, 0, 0],
      [3, 0, 0],
      [4, 3_000_000, 0],
      [5, 0, 0],
      [6, 7_000_000, 0],
    ],
  );
  assert.equal(off.periodNanos, 0);
  assert.equal(timeline([requestTimes(wire, 'alloc_space:bytes')], { stepMs: 1 }).points.length, 0);
});

test('pprof of an off-CPU profile has its own sample type and no period', () => {
  const off = aggregateRequest(cpuAndOffCpuRequest(), { type: 'off_cpu' }).get(KEY)!;
  const pprof = PprofProfile.decode(toPprof(off));
  const str = (i: number | bigint): string => pprof.stringTable.strings[Number(i)];
  assert.deepEqual(
    pprof.sampleType.map((v) => [str(v.type), str(v.unit)]),
    [['off_cpu', 'nanoseconds']],
  );
  assert.equal(str(pprof.defaultSampleType), 'off_cpu');
  assert.equal(Number(pprof.period), 0);
  assert.equal(
    pprof.sample.reduce((a, s) => a + Number(s.value[0]), 0),
    12_000_000,
  );
  const cpu = PprofProfile.decode(toPprof(aggregateRequest(cpuAndOffCpuRequest()).get(KEY)!));
  assert.deepEqual(
    cpu.sampleType.map((v) => [cpu.stringTable.strings[Number(v.type)], cpu.stringTable.strings[Number(v.unit)]]),
    [
      ['samples', 'count'],
      ['cpu', 'nanoseconds'],
    ],
  );
});
