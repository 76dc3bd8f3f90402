import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileStore } from './store.js';
import { PROCESS_RETENTION_MS, SOURCE_RETENTION_MS } from './sources.js';
import { CPU_RING_BUCKETS, CpuRing, bucketOf } from './cpu.js';
import { DEFAULT_LIMITS, limitsFromEnv } from './config.js';
import { encodeRequest } from '../otlp/codec.js';
import { RequestBuilder } from '../otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../otlp/messages.js';
import { parseWorkloadKey } from '../profile/workload.js';
import { CPU_RATE_BUCKETS, CPU_SERIES_LENGTH, type SourceInfo } from '../api/types.js';
import { K8S_INVENTORY, requestFromFolded } from '../../test/helpers/fixtures.js';
import { ingest as ingestRequest } from '../../test/helpers/ingest.js';

// A store clock on a bucket boundary (10 s), so where each bucket starts is plain to see.
const T = 1_700_000_100_000;
const MS = 1_000_000n; // nanoseconds per ms
const ns = (ms: number): bigint => BigInt(ms) * MS;
const PERIOD = 10_000_000; // 10 ms per CPU sample (100 Hz)

const API = 'host/Service/api';
const LS = 'host/Process/ls';
const INVENTORY = 'default/Deployment/inventory';

function clock(start = T): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

/** The series index of the bucket starting at `startMs`, when the store's clock reads `nowMs`. */
function indexOf(startMs: number, nowMs: number): number {
  const end = Math.floor((nowMs - 2000) / 10_000) - 1;
  return CPU_SERIES_LENGTH - 1 - (end - bucketOf(startMs));
}

function cpuOf(store: ProfileStore, key: string): { cores: number; series: number[] } {
  const s = store.sourceInfo(key);
  assert.ok(s, `${key} is a source`);
  return { cores: s.cpuCores, series: s.cpuSeries };
}

/** The series as {index: cores} for the non-zero buckets: short to compare. */
function nonZero(series: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  series.forEach((v, i) => {
    if (v !== 0) out[i] = v;
  });
  return out;
}

/**
 * Three workloads with known CPU, each a different way of telling it:
 * - api (a Service): 40 counted samples at 10 ms in a profile timed T−30 s (1 s long): 400 ms;
 *   plus a memory profile (alloc_space/bytes, 5 MB) that is no CPU;
 * - ls (a bare Process): 7 samples with timestamps at T−45 s: 70 ms; and a cpu/nanoseconds profile
 *   of 250 ms at T−45 s beside nothing counted: 250 ms more;
 * - inventory (a Deployment): a scope holding a counted profile (3 samples, 30 ms) and the same
 *   samples as cpu/nanoseconds (pprof's two values): counted once, 30 ms, at T−15 s.
 */
function knownRequest(): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  requestFromFolded(
    [
      { resource: { 'service.name': 'api' }, folded: 'main;a 30\nmain;b 10', periodNanos: PERIOD, timeUnixNano: ns(T - 30_000) },
      { resource: { 'process.executable.name': 'ls' }, folded: 'main;ls 7', periodNanos: PERIOD, timestampsAt: ns(T - 45_000) },
    ],
    b,
  );
  const stack = b.stackOfFrames([{ name: 'main' }, { name: 'alloc' }]);
  const mem = b.profile({ 'service.name': 'api' }, { periodNanos: 0, sampleType: ['alloc_space', 'bytes'], periodType: null, timeUnixNano: ns(T - 30_000) });
  b.addSample(mem, stack, { value: 5_000_000 });
  const lsNanos = b.profile(
    { 'process.executable.name': 'ls' },
    { periodNanos: PERIOD, sampleType: ['cpu', 'nanoseconds'], timeUnixNano: ns(T - 45_000), durationNano: 0n },
  );
  b.addSample(lsNanos, stack, { value: 250_000_000 });
  const counted = b.profile(K8S_INVENTORY, { periodNanos: PERIOD, timeUnixNano: ns(T - 15_000), durationNano: ns(1000), shareScope: true });
  b.addSample(counted, stack, { value: 3 });
  const valued = b.profile(K8S_INVENTORY, {
    periodNanos: PERIOD,
    sampleType: ['cpu', 'nanoseconds'],
    timeUnixNano: ns(T - 15_000),
    durationNano: ns(1000),
    shareScope: true,
  });
  b.addSample(valued, stack, { value: 3 * PERIOD });
  return b.build();
}

/** Both ingest paths, each into a store of its own (one slot open, to count with and without). */
function bothPaths(req: ExportProfilesServiceRequest, c = clock()): { path: string; store: ProfileStore }[] {
  const bytes = encodeRequest(req);
  return [
    { path: 'OTLP/JSON', ingest: (s: ProfileStore) => ingestRequest(s, req, 'json') },
    { path: 'protobuf', ingest: (s: ProfileStore) => s.ingestEncoded(bytes) },
  ].map(({ path, ingest }) => {
    const store = new ProfileStore(DEFAULT_LIMITS, c.now);
    store.open(parseWorkloadKey(API)!);
    assert.equal(ingest(store).rejectedProfiles, 0, path);
    return { path, store };
  });
}

test('CPU per source on both ingest paths: counted samples × period, cpu/nanoseconds values, no other types, no duplicates', () => {
  for (const { path, store } of bothPaths(knownRequest())) {
    const api = cpuOf(store, API);
    // 400 ms in the bucket [T−30 s, T−20 s): 0.04 cores over its 10 s; over the minute 0.4 s / 60 s.
    assert.deepEqual(nonZero(api.series), { [indexOf(T - 30_000, T)]: 0.04 }, `${path}: api`);
    assert.equal(api.cores, 0.0067, `${path}: api cores`);
    const ls = cpuOf(store, LS);
    // 7 × 10 ms by timestamps + 250 ms of cpu/nanoseconds, both in [T−50 s, T−40 s).
    assert.deepEqual(nonZero(ls.series), { [indexOf(T - 45_000, T)]: 0.032 }, `${path}: ls`);
    assert.equal(ls.cores, 0.0053, `${path}: ls cores`);
    const inv = cpuOf(store, INVENTORY);
    // 3 samples counted once (30 ms), not again as their 30 ms of nanoseconds. At T the newest
    // bucket shown is [T−20 s, T−10 s): [T−10 s, T) has only just ended, and is still settling.
    assert.deepEqual(nonZero(inv.series), { [indexOf(T - 15_000, T)]: 0.003 }, `${path}: inventory`);
    assert.equal(indexOf(T - 15_000, T), CPU_SERIES_LENGTH - 1, 'the newest bucket shown');
    assert.equal(inv.cores, 0.0005, `${path}: inventory cores`);
    for (const s of store.listSources()) assert.equal(s.cpuSeries.length, CPU_SERIES_LENGTH, `${path}: ${s.key}`);
  }
});

test('a profile window is spread over the buckets it covers; untimed samples count at arrival', () => {
  const b = new RequestBuilder();
  const stack = b.stackOfFrames([{ name: 'main' }]);
  // 10 s from T−35 s: half in [T−40 s, T−30 s), half in [T−30 s, T−20 s).
  const spread = b.profile({ 'service.name': 'api' }, { periodNanos: PERIOD, timeUnixNano: ns(T - 35_000), durationNano: ns(10_000) });
  b.addSample(spread, stack, { value: 100 });
  // No time at all: arrival (the store's clock, T).
  const untimed = b.profile({ 'service.name': 'batch' }, { periodNanos: PERIOD, timeUnixNano: 0n });
  b.addSample(untimed, stack, { value: 500 });
  const c = clock();
  for (const { path, store } of bothPaths(b.build(), c)) {
    c.set(T);
    assert.deepEqual(nonZero(cpuOf(store, API).series), { [indexOf(T - 40_000, T)]: 0.05, [indexOf(T - 30_000, T)]: 0.05 }, path);
    // Arrived at T: in bucket [T, T+10 s), shown once it has ended and settled (T+12 s).
    assert.deepEqual(cpuOf(store, 'host/Service/batch'), { cores: 0, series: new Array(CPU_SERIES_LENGTH).fill(0) }, `${path}: not settled yet`);
    c.set(T + 12_000);
    assert.deepEqual(nonZero(cpuOf(store, 'host/Service/batch').series), { [CPU_SERIES_LENGTH - 1]: 0.5 }, `${path}: settled`);
    assert.equal(cpuOf(store, 'host/Service/batch').cores, 0.0833, path);
  }
});

test('the bucket ring follows the store clock: a steady source, then silence, then nothing left', () => {
  const c = clock();
  const store = new ProfileStore(DEFAULT_LIMITS, c.now);
  const b = new RequestBuilder();
  const p = b.profile({ 'service.name': 'steady' }, { periodNanos: PERIOD, timeUnixNano: 0n });
  b.addSample(p, b.stackOfFrames([{ name: 'main' }]), { value: 25 }); // 250 ms, at arrival
  const req = b.build();
  const bytes = encodeRequest(req);
  // Four requests per 10 s bucket for six minutes, alternating the paths: 1 s of CPU per bucket, 0.1 cores.
  for (let i = 0; i < (6 * 60) / 2.5; i++) {
    if (i % 2 === 0) ingestRequest(store, req);
    else store.ingestEncoded(bytes);
    c.advance(2500);
  }
  const steady = cpuOf(store, 'host/Service/steady');
  assert.deepEqual(steady.series, new Array(CPU_SERIES_LENGTH).fill(0.1), 'every bucket of the last 5 min: 0.1 cores');
  assert.equal(steady.cores, 0.1);
  // Silent for 50 s (the last data came at T+357.5 s): the newest four buckets empty, the
  // minute's rate falls with them.
  c.advance(50_000);
  const quiet = cpuOf(store, 'host/Service/steady');
  assert.deepEqual(quiet.series.slice(-4), [0, 0, 0, 0]);
  assert.deepEqual(quiet.series.slice(0, CPU_SERIES_LENGTH - 4), new Array(CPU_SERIES_LENGTH - 4).fill(0.1));
  assert.equal(quiet.cores, 0.0333, '2 of the last 6 buckets still hold 1 s each');
  // Data that arrives now, timed 10 minutes back (older than the ring), is not counted; timed an
  // hour ahead (a sender's clock), it counts in the current bucket.
  const old = requestFromFolded([{ resource: { 'service.name': 'steady' }, folded: 'main 100', periodNanos: PERIOD, timeUnixNano: ns(c.now() - 600_000) }]);
  const ahead = requestFromFolded([{ resource: { 'service.name': 'steady' }, folded: 'main 200', periodNanos: PERIOD, timeUnixNano: ns(c.now() + 3_600_000) }]);
  store.ingestEncoded(encodeRequest(old));
  ingestRequest(store, ahead);
  c.advance(12_000 - (c.now() % 10_000));
  assert.equal(cpuOf(store, 'host/Service/steady').series.at(-1), 0.2, 'the future data, in the bucket it arrived in; none of the old');
  // Five minutes later nothing of it is left.
  c.advance(5 * 60_000);
  assert.deepEqual(cpuOf(store, 'host/Service/steady'), { cores: 0, series: new Array(CPU_SERIES_LENGTH).fill(0) });
});

test('CpuRing: a bucket is cleared when the ring comes round to it again', () => {
  const r = new CpuRing();
  r.advance(1000);
  r.add(1000 * 10_000, 5e9);
  assert.equal(r.nanosAt(1000), 5e9);
  r.advance(1000 + CPU_RING_BUCKETS - 1);
  assert.equal(r.nanosAt(1000), 5e9, 'still in the ring');
  r.advance(1000 + CPU_RING_BUCKETS);
  assert.equal(r.nanosAt(1000), 0, 'out of the ring');
  assert.equal(r.nanosAt(1000 + CPU_RING_BUCKETS), 0, 'its slot, reused, starts empty');
  // A window far longer than the ring: only its share in the ring's buckets counts, one step per bucket.
  const head = 1000 + CPU_RING_BUCKETS;
  r.addSpread(0, (head + 1) * 10_000, 1e12);
  assert.ok(Math.abs(r.nanosAt(head) - (1e12 * 10_000) / ((head + 1) * 10_000)) < 1);
});

test('aging: a bare process goes 2 minutes after its last data, a Deployment after 15; a slot keeps either', () => {
  const c = clock();
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotTtlSeconds: 3600 }, c.now);
  store.open(parseWorkloadKey('host/Process/kept')!);
  store.ingestEncoded(
    encodeRequest(
      requestFromFolded([
        { resource: { 'process.executable.name': 'ls' }, folded: 'main 1' },
        { resource: { 'process.executable.name': 'kept' }, folded: 'main 1' },
        { resource: K8S_INVENTORY, folded: 'main 1' },
      ]),
    ),
  );
  const listed = () => store.listSources().map((s) => s.key);
  assert.deepEqual(listed(), [INVENTORY, 'host/Process/kept', LS]);
  c.advance(PROCESS_RETENTION_MS);
  store.sweep();
  assert.deepEqual(listed(), [INVENTORY, 'host/Process/kept', LS], 'at 2 minutes ls is still there');
  c.advance(1);
  assert.deepEqual(listed(), [INVENTORY, 'host/Process/kept'], 'listed no more, before the sweep runs');
  store.sweep();
  assert.equal(store.sourceInfo(LS), undefined, 'and forgotten by the sweep');
  c.advance(SOURCE_RETENTION_MS - PROCESS_RETENTION_MS - 1);
  store.sweep();
  assert.deepEqual(listed(), [INVENTORY, 'host/Process/kept'], 'at 15 minutes the Deployment is still there');
  c.advance(1);
  store.sweep();
  assert.deepEqual(listed(), ['host/Process/kept'], 'the process with a slot stays');
  ingestRequest(store, requestFromFolded([{ resource: { 'process.executable.name': 'ls' }, folded: 'main 1' }]));
  assert.ok(listed().includes(LS), 'a command run again is listed again');
});

test('memory is bounded: at most maxSources sources, each with a fixed ring; a source with a slot outlives the trim', () => {
  const c = clock();
  const MAX_SOURCES = 3_000;
  const store = new ProfileStore({ ...DEFAULT_LIMITS, maxSources: MAX_SOURCES }, c.now);
  store.open(parseWorkloadKey('host/Process/p0')!);
  const total = MAX_SOURCES + 500;
  for (let from = 0; from < total; from += 1000) {
    const workloads = [];
    for (let i = from; i < Math.min(total, from + 1000); i++)
      workloads.push({ resource: { 'process.executable.name': `p${i}` }, folded: 'main 1', periodNanos: PERIOD });
    const req = requestFromFolded(workloads);
    if ((from / 1000) % 2 === 0) ingestRequest(store, req);
    else store.ingestEncoded(encodeRequest(req));
    c.advance(1000);
  }
  const list = store.listSources();
  assert.equal(list.length, MAX_SOURCES, 'the cap holds');
  assert.deepEqual([store.stats().usage.sources, store.stats().sourcesTrimmed], [MAX_SOURCES, 500], 'those forgotten are counted');
  const keys = new Set(list.map((s) => s.key));
  assert.ok(keys.has('host/Process/p0'), 'the oldest, but it has a slot');
  assert.ok(!keys.has('host/Process/p1') && !keys.has('host/Process/p500'), 'the longest unseen without a slot went');
  assert.ok(keys.has('host/Process/p501') && keys.has(`host/Process/p${total - 1}`));
  for (const s of list) assert.equal(s.cpuSeries.length, CPU_SERIES_LENGTH);
  assert.equal(CPU_RING_BUCKETS, CPU_SERIES_LENGTH + 2, 'a ring holds the series and two buckets more, never more');
  // A lower limit at run time trims at once, the longest unseen first, the slot's source kept.
  store.setLimits({ maxSources: 100 });
  const trimmed = new Set(store.listSources().map((s) => s.key));
  assert.equal(trimmed.size, 100);
  assert.ok(trimmed.has('host/Process/p0') && trimmed.has(`host/Process/p${total - 1}`) && !trimmed.has(`host/Process/p${total - 100}`));
});

test('the Sources list keeps 50,000 sources by default, and PROFILES_MAX_SOURCES sets another number', () => {
  assert.equal(DEFAULT_LIMITS.maxSources, 50_000);
  assert.equal(limitsFromEnv({ PROFILES_MAX_SOURCES: '200000' }).maxSources, 200_000);
  assert.throws(() => limitsFromEnv({ PROFILES_MAX_SOURCES: '0' }), /PROFILES_MAX_SOURCES="0": must be at least 1/);
});

test('cores over the last minute are the mean of the newest CPU_RATE_BUCKETS buckets', () => {
  const c = clock();
  const store = new ProfileStore(DEFAULT_LIMITS, c.now);
  // One bucket each, 1..8 s of CPU, in the eight buckets before T.
  const workloads = [];
  for (let k = 1; k <= 8; k++)
    workloads.push({ resource: { 'service.name': 'ramp' }, folded: `main;f${k} ${k * 100}`, periodNanos: PERIOD, timeUnixNano: ns(T - 10_000 * (9 - k)) });
  ingestRequest(store, requestFromFolded(workloads));
  c.set(T + 2000);
  const s: SourceInfo = store.sourceInfo('host/Service/ramp')!;
  assert.deepEqual(s.cpuSeries.slice(-8), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
  assert.equal(CPU_RATE_BUCKETS, 6);
  assert.equal(s.cpuCores, 0.55, '(3+4+5+6+7+8) s / 60 s');
});
