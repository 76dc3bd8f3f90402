import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUiApp } from '../src/ui/app.js';
import { ProfileStore } from '../src/store/store.js';
import { DEFAULT_LIMITS } from '../src/store/config.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { CPU_SERIES_LENGTH, type SlotResponse, type SourcesResponse } from '../src/ui/api-types.js';
import { K8S_INVENTORY, requestFromFolded } from './helpers/fixtures.js';
import { ingest } from './helpers/ingest.js';

// On a 10 s bucket boundary.
const T = 1_700_000_100_000;
const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

test('GET /api/sources gives each source its cores over the last minute and a five-minute series', async () => {
  let now = T;
  const store = new ProfileStore(DEFAULT_LIMITS, () => now);
  const app = await buildUiApp({ store });
  // inventory: 1.2 s of CPU (120 samples at 10 ms) in each of the six buckets before T−10 s, over
  // OTLP's wire path; ls: 50 ms, at T−25 s, over the message path.
  const req = requestFromFolded(
    Array.from({ length: 6 }, (_, k) => ({ resource: K8S_INVENTORY, folded: `main;work${k} 120`, periodNanos: 10_000_000, timeUnixNano: ns(T - 70_000 + k * 10_000) })),
  );
  store.ingestEncoded(encodeRequest(req));
  ingest(store, requestFromFolded([{ resource: { 'process.executable.name': 'ls' }, folded: 'main 5', periodNanos: 10_000_000, timeUnixNano: ns(T - 25_000) }]));
  now = T + 2000;

  const res = await app.inject({ method: 'GET', url: '/api/sources' });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as SourcesResponse;
  const inv = body.sources.find((s) => s.key === 'default/Deployment/inventory')!;
  assert.ok(inv, res.body);
  // The newest bucket shown at T+2 s is [T−10 s, T): six buckets of 0.12 cores before it.
  assert.equal(inv.cpuSeries.length, CPU_SERIES_LENGTH);
  assert.deepEqual(inv.cpuSeries.slice(-8), [0, 0.12, 0.12, 0.12, 0.12, 0.12, 0.12, 0]);
  assert.equal(inv.cpuCores, 0.1, 'the last six buckets: five of 1.2 s and the newest empty, 6 s / 60 s');
  const ls = body.sources.find((s) => s.key === 'host/Process/ls')!;
  assert.deepEqual(ls.cpuSeries.slice(-3), [0.005, 0, 0], 'in [T−30 s, T−20 s)');
  assert.equal(ls.cpuCores, 0.0008);

  // Enable and disable answer with the same fields.
  const on = (await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent('host/Service/new')}/profiling` })).json() as SlotResponse;
  assert.equal(on.source.cpuCores, 0);
  assert.deepEqual(on.source.cpuSeries, new Array(CPU_SERIES_LENGTH).fill(0));
  const off = (await app.inject({ method: 'DELETE', url: `/api/sources/${encodeURIComponent('default/Deployment/inventory')}/profiling` })).statusCode;
  assert.equal(off, 404, 'no slot to close');
  await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent('default/Deployment/inventory')}/profiling` });
  const closed = (await app.inject({ method: 'DELETE', url: `/api/sources/${encodeURIComponent('default/Deployment/inventory')}/profiling` })).json() as SlotResponse;
  assert.equal(closed.source.cpuCores, 0.1, 'closing the slot keeps the CPU the source used');

  // Two minutes and a bit later the bare process is gone from the list; the Deployment stays.
  now = T + 2 * 60_000 + 1;
  const later = (await app.inject({ method: 'GET', url: '/api/sources' })).json() as SourcesResponse;
  assert.deepEqual(later.sources.map((s) => s.key), ['default/Deployment/inventory', 'host/Service/new']);
  await app.close();
});
