import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileStore, StoreError } from './store.js';
import { DEFAULT_LIMITS } from './config.js';
import { MAX_PROFILE_TYPES } from './slot.js';
import { RequestBuilder } from '../otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../otlp/messages.js';
import { parseWorkloadKey } from '../profile/workload.js';
import { foldedStacks } from '../profile/folded.js';
import { OFF_CPU } from '../profile/profile-type.js';
import { K8S_INVENTORY } from '../../test/helpers/fixtures.js';
import { ingest } from '../../test/helpers/ingest.js';
import { CPU_PERIOD, T0, cpuAndOffCpuRequest } from '../../test/profile-types-fixture.js';

const KEY = 'default/Deployment/inventory';
const MS0 = Number(T0 / 1_000_000n);

function open(limits = DEFAULT_LIMITS): ProfileStore {
  const store = new ProfileStore(limits);
  store.open(parseWorkloadKey(KEY)!);
  return store;
}

/** A request sent as protobuf and as OTLP/JSON: both come into the store the one way, as protobuf. */
const PATHS: [string, (s: ProfileStore, r: ExportProfilesServiceRequest) => void][] = [
  ['protobuf', (s, r) => void ingest(s, r)],
  ['OTLP/JSON', (s, r) => void ingest(s, r, 'json')],
];

test('a request with a CPU and an off-CPU profile for one workload: both kept apart, CPU by default', () => {
  for (const [path, take] of PATHS) {
    const store = open();
    take(store, cpuAndOffCpuRequest());
    assert.deepEqual(
      store.types(KEY).map((t) => [t.type.key, t.type.label, t.type.unit, t.samples, t.events]),
      [
        ['cpu', 'CPU', 'nanoseconds', 4, 4],
        ['off_cpu', 'Off-CPU', 'nanoseconds', 12_000_000, 3],
      ],
      path,
    );
    assert.equal(store.typeOf([KEY]).key, 'cpu', `${path}: CPU is the default`);
    const cpu = store.profile(KEY);
    assert.equal(foldedStacks(cpu.tree), 'main;idle 1\nmain;work 3\n', path);
    assert.deepEqual([cpu.samples, cpu.cpuNanos], [4, 4 * CPU_PERIOD], `${path}: CPU time = count × period`);
    const off = store.profile(KEY, {}, 'off_cpu');
    assert.equal(foldedStacks(off.tree), 'main;read;sys_read 5000000\nmain;wait 7000000\n', path);
    assert.deepEqual([off.samples, off.cpuNanos], [2_000_000 + 3_000_000 + 7_000_000, 0], `${path}: off-CPU time = the sum of the values`);
    // A window cuts each type by its own timestamps.
    const late = store.profile(KEY, { from: MS0 + 4 }, 'off_cpu');
    assert.equal(foldedStacks(late.tree), 'main;read;sys_read 3000000\nmain;wait 7000000\n', path);
    assert.equal(store.profile(KEY, { from: MS0 + 4 }).samples, 1, `${path}: CPU after +4 ms: one sample`);
    // The slot's sample count is every type's events: 4 CPU samples and 3 off-CPU events.
    assert.equal(store.sourceInfo(KEY)!.profiling.samples, 7, path);
    assert.equal(store.slot(KEY)!.chunks.length, 1, `${path}: one chunk holds both`);
  }
});

test('an unknown type is an error listing the types there are; cpu is always an answer', () => {
  const store = open();
  ingest(store, cpuAndOffCpuRequest([{ frames: [{ name: 'main' }, { name: 'wait' }], offCpu: [[1, 5_000]] }]));
  assert.equal(store.typeOf([KEY]).key, 'off_cpu', 'no CPU data: the first type the slot has is the default');
  assert.equal(store.profile(KEY).samples, 0, 'asked for CPU: an empty CPU profile');
  assert.throws(
    () => store.profile(KEY, {}, 'alloc_space:bytes'),
    (e: unknown) =>
      e instanceof StoreError &&
      e.code === 'UNKNOWN_TYPE' &&
      e.message === `type="alloc_space:bytes": no such profile type in ${KEY}; types there: off_cpu (Off-CPU)`,
  );
  assert.equal(store.profile(KEY, {}, OFF_CPU).samples, 5_000);
});

test('profiles skipped for a reason are counted; the rest of the request is kept', () => {
  for (const [path, take] of PATHS) {
    const store = open();
    const b = new RequestBuilder();
    const cpu = b.profile(K8S_INVENTORY, { periodNanos: CPU_PERIOD });
    b.addSample(cpu, b.stackOfFrames([{ name: 'main' }, { name: 'work' }]), { value: 2 });
    const none = b.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: ['', ''], periodType: null });
    b.addSample(none, b.stackOfFrames([{ name: 'main' }, { name: 'lost' }]), { value: 9 });
    const unitless = b.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: ['alloc_space', ''], periodType: null });
    b.addSample(unitless, b.stackOfFrames([{ name: 'main' }, { name: 'lost' }]), { value: 9 });
    take(store, b.build());
    assert.equal(foldedStacks(store.profile(KEY).tree), 'main;work 2\n', path);
    assert.deepEqual(
      store.types(KEY).map((t) => t.type.key),
      ['cpu'],
      path,
    );
    assert.equal(store.counters.skipped.missing_type, 1, path);
    assert.equal(store.counters.skipped.missing_unit, 1, path);
    // A chunk of skipped profiles only holds nothing to keep, but is counted all the same.
    const only = new RequestBuilder();
    only.addSample(only.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: ['', ''], periodType: null }), only.stackOfFrames([{ name: 'x' }]), { value: 1 });
    take(store, only.build());
    assert.equal(store.counters.skipped.missing_type, 2, path);
    assert.equal(store.slot(KEY)!.chunks.length, 1, path);
    assert.deepEqual(store.stats().skippedProfiles, { unreadable_type: 0, missing_type: 2, missing_unit: 1, duplicate_cpu: 0, too_many_types: 0 }, path);
  }
});

test(`a slot keeps at most ${MAX_PROFILE_TYPES} types; profiles of more are skipped and counted`, () => {
  const store = open();
  const b = new RequestBuilder();
  for (let i = 0; i < MAX_PROFILE_TYPES + 3; i++) {
    const p = b.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: [`kind${String(i).padStart(2, '0')}`, 'count'], periodType: null });
    b.addSample(p, b.stackOfFrames([{ name: 'main' }]), { value: i + 1 });
  }
  ingest(store, b.build());
  assert.equal(store.types(KEY).length, MAX_PROFILE_TYPES);
  assert.equal(store.counters.skipped.too_many_types, 3);
  assert.equal(store.profile(KEY, {}, 'kind00:count').samples, 1);
});

test("after many drops every type's running aggregate equals a fresh aggregate of the chunks held", () => {
  const probe = open();
  ingest(probe, cpuAndOffCpuRequest());
  const store = open({ ...DEFAULT_LIMITS, slotMaxBytes: probe.slot(KEY)!.bytes * 4 });
  const slot = store.slot(KEY)!;
  for (let i = 0; i < 40; i++) {
    const f = (name: string) => ({ name, binary: 'inventory' });
    // Off-CPU data only in the first 20 chunks: the type goes once its chunks are gone.
    const stacks = [
      { frames: [f('main'), f(`c${i % 5}`)], cpu: Array.from({ length: (i % 3) + 1 }, (_, k) => k) },
      ...(i < 20 ? [{ frames: [f('main'), f(`w${i % 4}`)], offCpu: [[1, 1000 * (i + 1)] as [number, number]] }] : []),
    ];
    ingest(store, cpuAndOffCpuRequest(stacks, K8S_INVENTORY, T0 + BigInt(i) * 1_000_000_000n));
    for (const t of slot.types()) {
      const fresh = slot.profile(t.type, -Infinity, Infinity);
      const running = store.profile(KEY, {}, t.type.key);
      assert.equal(foldedStacks(running.tree), foldedStacks(fresh.tree), `${t.type.key} after chunk ${i}`);
      assert.deepEqual([running.samples, running.events, running.cpuNanos], [fresh.samples, fresh.events, fresh.cpuNanos], `${t.type.key} after chunk ${i}`);
    }
  }
  assert.ok(store.counters.dropped.byteCapChunks > 30);
  assert.deepEqual(
    store.types(KEY).map((t) => t.type.key),
    ['cpu'],
    'off-CPU is gone with its chunks',
  );
});
