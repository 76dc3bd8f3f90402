import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileStore } from './store.js';
import { DEFAULT_LIMITS, limitsFromEnv, ConfigError } from './config.js';
import { parseWorkloadKey } from '../profile/workload.js';
import { foldedStacks } from '../profile/folded.js';
import { symbolsTable } from '../profile/symbols.js';
import { aggregateEncoded } from '../profile/aggregate-encoded.js';
import { CPU } from '../profile/profile-type.js';
import { requestFromFolded, K8S_INVENTORY, K8S_CHECKOUT } from '../../test/helpers/fixtures.js';
import { ingest, receivedBatch } from '../../test/helpers/ingest.js';

const INVENTORY = 'default/Deployment/inventory';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function wl(key: string) {
  return parseWorkloadKey(key)!;
}

function svc(name: string): Record<string, string> {
  return { 'service.name': name };
}

test('data for a workload without a slot is dropped and counted; the source is still listed', () => {
  const store = new ProfileStore(DEFAULT_LIMITS, clock().now);
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 5' }]));
  assert.equal(store.counters.dropped.noSlot, 1);
  const [src] = store.listSources();
  assert.equal(src.key, INVENTORY);
  assert.equal(src.profiling.active, false);
  assert.throws(() => store.profile(INVENTORY), /no active profiling slot for default\/Deployment\/inventory/);
});

test('after Enable Profiling a slot buffers its workload only, with exact self/total', () => {
  const store = new ProfileStore(DEFAULT_LIMITS, clock().now);
  store.open(wl(INVENTORY));
  const req = requestFromFolded([
    { resource: K8S_INVENTORY, folded: 'main;walk;walk;leaf 4\nmain;walk;leaf 2\nmain;idle 4' },
    { resource: K8S_CHECKOUT, folded: 'main;pay 9' },
  ]);
  ingest(store, req);
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;idle 1' }]));
  const p = store.profile(INVENTORY);
  assert.equal(foldedStacks(p.tree), 'main;idle 5\nmain;walk;leaf 2\nmain;walk;walk;leaf 4\n');
  const walk = symbolsTable(p.tree).find((r) => r.name === 'walk')!;
  assert.deepEqual([walk.self, walk.total], [0, 6]);
  assert.equal(store.counters.dropped.noSlot, 1, 'checkout had no slot');
  const info = store.sourceInfo(INVENTORY)!;
  assert.equal(info.profiling.chunks, 2);
  assert.equal(info.profiling.samples, 11);
});

test('at the slot limit the least recently used slot is evicted; a view refreshes LRU order', () => {
  const c = clock();
  const store = new ProfileStore({ ...DEFAULT_LIMITS, maxSlots: 3 }, c.now);
  for (const name of ['a', 'b', 'c']) {
    store.open(wl(`host/Service/${name}`));
    c.advance(10);
  }
  store.profile('host/Service/a'); // a is now the most recently used
  store.open(wl('host/Service/d'));
  assert.deepEqual(
    store
      .listSources()
      .filter((s) => s.profiling.active)
      .map((s) => s.key),
    ['host/Service/a', 'host/Service/c', 'host/Service/d'],
  );
  store.open(wl('host/Service/e'));
  assert.equal(store.slot('host/Service/c'), undefined, 'c was least recently used next');
  assert.equal(store.counters.evictions.lru, 2);
});

test('the TTL sweep removes slots not viewed for the TTL, not before, and a view refreshes it', () => {
  const c = clock();
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotTtlSeconds: 120 }, c.now);
  store.open(wl('host/Service/kept'));
  store.open(wl('host/Service/idle'));
  c.advance(119_000);
  assert.deepEqual(store.sweep(), [], 'nothing expires before the TTL');
  store.profile('host/Service/kept');
  c.advance(1_000);
  assert.deepEqual(store.sweep(), ['host/Service/idle']);
  assert.ok(store.slot('host/Service/kept'));
  c.advance(118_999); // 119.999 s since the view of kept
  assert.deepEqual(store.sweep(), []);
  c.advance(1);
  assert.deepEqual(store.sweep(), ['host/Service/kept']);
  assert.equal(store.counters.evictions.ttl, 2);
});

test('only the cleanup loop sweeps: an expired slot stays until the loop runs', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const c = clock();
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotTtlSeconds: 10, cleanupIntervalSeconds: 15 }, c.now);
  store.start();
  store.open(wl('host/Service/x'));
  c.advance(11_000);
  t.mock.timers.tick(14_999);
  assert.ok(store.slot('host/Service/x'), 'expired but the loop has not run yet');
  t.mock.timers.tick(1);
  assert.equal(store.slot('host/Service/x'), undefined);
  store.stop();
});

test('the byte cap drops the oldest chunks and is never exceeded; the profile drops their samples', () => {
  // Measure a typical chunk, then allow about three of them.
  const probe = new ProfileStore(DEFAULT_LIMITS);
  probe.open(wl('host/Service/api'));
  ingest(probe, requestFromFolded([{ resource: svc('api'), folded: 'main;f0 1' }]));
  const chunkBytes = probe.slot('host/Service/api')!.bytes;
  const cap = chunkBytes * 3 + Math.floor(chunkBytes / 2);
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: cap });
  store.open(wl('host/Service/api'));
  for (let i = 0; i < 10; i++) {
    ingest(store, requestFromFolded([{ resource: svc('api'), folded: `main;f${i} ${i + 1}` }]));
    assert.ok(store.slot('host/Service/api')!.bytes <= cap, `after chunk ${i}: ${store.slot('host/Service/api')!.bytes} > ${cap}`);
  }
  const slot = store.slot('host/Service/api')!;
  assert.equal(slot.chunks.length, 3);
  assert.equal(foldedStacks(store.profile('host/Service/api').tree), 'main;f7 8\nmain;f8 9\nmain;f9 10\n');
  assert.equal(store.profile('host/Service/api').samples, 27);
  assert.equal(store.counters.dropped.byteCapChunks, 7);
  assert.equal(slot.samples, 27);
});

test('a one-workload request using its whole dictionary is kept as received; others are subset', async () => {
  const store = new ProfileStore(DEFAULT_LIMITS);
  store.open(wl(INVENTORY));
  const alone = requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 2\nmain;b 1' }]);
  const aloneBatch = receivedBatch(alone);
  await store.consume(aloneBatch);
  const both = requestFromFolded([
    { resource: K8S_INVENTORY, folded: 'main;c 4' },
    { resource: K8S_CHECKOUT, folded: 'main;pay 9' },
  ]);
  const bothBatch = receivedBatch(both);
  await store.consume(bothBatch);
  const [first, second] = store.slot(INVENTORY)!.chunks;
  assert.deepEqual(Buffer.from(first.bytes), Buffer.from(aloneBatch.encoded!), 'kept as received');
  assert.ok(second.bytes.byteLength < bothBatch.encoded!.byteLength, 'the shared request is cut down to one workload');
  assert.deepEqual([...aggregateEncoded(second.bytes).keys()], [INVENTORY]);
  assert.equal(foldedStacks(store.profile(INVENTORY).tree), 'main;a 2\nmain;b 1\nmain;c 4\n');
});

test('a one-workload request is kept as received, entries it does not use and all, and counted at that size', async () => {
  const store = new ProfileStore(DEFAULT_LIMITS);
  store.open(wl(INVENTORY));
  const req = requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 2\nmain;b 1' }]);
  req.dictionary!.stringTable.push('never-referenced');
  const batch = receivedBatch(req);
  await store.consume(batch);
  const slot = store.slot(INVENTORY)!;
  assert.deepEqual(Buffer.from(slot.chunks[0].bytes), Buffer.from(batch.encoded!));
  assert.equal(slot.bytes, batch.encoded!.byteLength);
  assert.equal(foldedStacks(store.profile(INVENTORY).tree), 'main;a 2\nmain;b 1\n');
});

test('after many drops the running aggregate equals a fresh aggregate of the chunks held', () => {
  const probe = new ProfileStore(DEFAULT_LIMITS);
  probe.open(wl('host/Service/api'));
  ingest(probe, requestFromFolded([{ resource: svc('api'), folded: 'main;f0;g 1' }]));
  const cap = probe.slot('host/Service/api')!.bytes * 4;
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: cap });
  store.open(wl('host/Service/api'));
  for (let i = 0; i < 40; i++) {
    const folded = `main;f${i % 7};g ${i + 1}\nmain;f${(i * 3) % 5} ${(i % 4) + 1}\nmain;shared 1`;
    ingest(store, requestFromFolded([{ resource: svc('api'), folded }]));
    const slot = store.slot('host/Service/api')!;
    const fresh = slot.profile(CPU, -Infinity, Infinity);
    const running = store.profile('host/Service/api');
    assert.equal(foldedStacks(running.tree), foldedStacks(fresh.tree), `after chunk ${i}`);
    assert.equal(running.samples, fresh.samples);
    assert.equal(running.cpuNanos, fresh.cpuNanos);
  }
  assert.ok(store.counters.dropped.byteCapChunks > 30);
});

test('a single chunk larger than the cap is refused and counted', () => {
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: 200 });
  store.open(wl('host/Service/api'));
  const big = Array.from({ length: 50 }, (_, i) => `main;function_with_a_long_name_${i} 1`).join('\n');
  const res = ingest(store, requestFromFolded([{ resource: svc('api'), folded: big }]));
  assert.equal(res.rejectedProfiles, 1);
  assert.match(res.errorMessage, /host\/Service\/api: chunk of \d+ bytes exceeds the slot cap of 200/);
  assert.equal(store.counters.dropped.chunkTooLarge, 1);
  assert.equal(store.slot('host/Service/api')!.chunks.length, 0);
});

test('live resize prunes by LRU and by bytes', () => {
  const c = clock();
  const store = new ProfileStore(DEFAULT_LIMITS, c.now);
  for (const name of ['a', 'b', 'c', 'd']) {
    store.open(wl(`host/Service/${name}`));
    ingest(store, requestFromFolded([{ resource: svc(name), folded: 'main;x 1' }]));
    ingest(store, requestFromFolded([{ resource: svc(name), folded: 'main;y 1' }]));
    c.advance(1);
  }
  const chunk = store.slot('host/Service/d')!.chunks[0].bytes.byteLength;
  const limits = store.setLimits({ maxSlots: 2, slotMaxBytes: chunk });
  assert.equal(limits.maxSlots, 2);
  assert.deepEqual(
    store
      .listSources()
      .filter((s) => s.profiling.active)
      .map((s) => s.key),
    ['host/Service/c', 'host/Service/d'],
  );
  assert.equal(foldedStacks(store.profile('host/Service/d').tree), 'main;y 1\n');
  assert.throws(() => store.setLimits({ maxSlots: 0 }), /maxSlots: must be at least 1/);
  assert.throws(() => store.setLimits({ nope: 1 } as never), /Unrecognized key/);
});

test('time windows select chunks and samples inside them', () => {
  const store = new ProfileStore(DEFAULT_LIMITS);
  store.open(wl('host/Service/api'));
  const t0 = 1_700_000_000_000n * 1_000_000n;
  ingest(store, requestFromFolded([{ resource: svc('api'), folded: 'main;early 3', timestampsAt: t0 }]));
  ingest(store, requestFromFolded([{ resource: svc('api'), folded: 'main;late 4', timestampsAt: t0 + 60_000_000_000n }]));
  const ms0 = 1_700_000_000_000;
  assert.equal(foldedStacks(store.profile('host/Service/api', { from: ms0 + 30_000 }).tree), 'main;late 4\n');
  assert.equal(foldedStacks(store.profile('host/Service/api', { to: ms0 + 2 }).tree), 'main;early 2\n');
  assert.equal(foldedStacks(store.profile('host/Service/api').tree), 'main;early 3\nmain;late 4\n');
});

test('a new store (a restart) has no slots', () => {
  const a = new ProfileStore();
  a.open(wl(INVENTORY));
  const b = new ProfileStore();
  assert.equal(b.slot(INVENTORY), undefined);
  assert.deepEqual(b.listSources(), []);
});

test('limits come from the environment; bad values name the variable', () => {
  assert.deepEqual(limitsFromEnv({}), DEFAULT_LIMITS);
  assert.deepEqual(limitsFromEnv({ PROFILES_MAX_SLOTS: '5', PROFILES_SLOT_MAX_BYTES: '1024' }), { ...DEFAULT_LIMITS, maxSlots: 5, slotMaxBytes: 1024 });
  const bad: [Record<string, string>, RegExp][] = [
    [{ PROFILES_MAX_SLOTS: 'many' }, /^PROFILES_MAX_SLOTS="many": must be a whole number$/],
    [{ PROFILES_SLOT_TTL_SECONDS: '0' }, /^PROFILES_SLOT_TTL_SECONDS="0": must be at least 1$/],
    [{ PROFILES_SLOT_MAX_BYTES: '-5' }, /^PROFILES_SLOT_MAX_BYTES="-5": must be a whole number$/],
    [{ PROFILES_CLEANUP_INTERVAL_SECONDS: '1.5' }, /^PROFILES_CLEANUP_INTERVAL_SECONDS="1.5": must be a whole number$/],
  ];
  for (const [env, re] of bad)
    assert.throws(
      () => limitsFromEnv(env),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
});

test('subscribers hear about new data for their slot only', () => {
  const store = new ProfileStore();
  store.open(wl('host/Service/a'));
  store.open(wl('host/Service/b'));
  let heard = 0;
  const off = store.subscribe('host/Service/a', () => heard++);
  ingest(store, requestFromFolded([{ resource: svc('a'), folded: 'main 1' }]));
  ingest(store, requestFromFolded([{ resource: svc('b'), folded: 'main 1' }]));
  assert.equal(heard, 1);
  off();
  ingest(store, requestFromFolded([{ resource: svc('a'), folded: 'main 1' }]));
  assert.equal(heard, 1);
});
