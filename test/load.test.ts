import { DEFAULT_LIMITS } from '../src/store/config.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLoad } from './helpers/load.js';

/**
 * The load run (test/helpers/load.ts; bench/load.bench.ts runs it long), short: 20 senders
 * (real exporters, half gRPC, half HTTP) → `pilotlight gateway` (a child process) → the UI
 * server for 5 s (a request every 0.5 s), with small store caps so that the LRU and the byte cap work all the time.
 * No timing is asserted: only that nothing was lost or refused and that the caps held exactly
 * on every change.
 */
test('20 senders through the gateway into the UI for 5 s: no errors, caps exact on every change, LRU as modelled', async () => {
  const r = await runLoad({
    senders: 20,
    seconds: 5,
    intervalMs: 500,
    processesPerNode: 3,
    workloads: 12,
    maxDepth: 16,
    limits: { maxSlots: 4, slotTtlSeconds: 3600, slotMaxBytes: 16 * 1024, cleanupIntervalSeconds: 15, maxSources: DEFAULT_LIMITS.maxSources },
    viewerPauseMs: 20,
    sampleMs: 100,
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.violations, []);
  assert.ok(r.offered.requests >= 20, `every sender sent (${r.offered.requests} requests)`);
  assert.equal(r.delivered.uiAccepted, r.offered.requests, 'every request reached the UI once');
  // The caps were exercised, so "no violations" means something.
  assert.ok(r.store.lruEvictions > 0, 'the LRU evicted slots');
  assert.ok(r.store.byteCapChunks > 0, 'the byte cap dropped old chunks');
  assert.ok(r.store.maxSlots === 4, `the slot limit was reached (${r.store.maxSlots})`);
  assert.ok(r.checks > 100, `checked often (${r.checks})`);
  assert.ok(r.queries.while.length > 0, 'profiles were queried while ingesting');
});
