import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUiApp } from '../src/ui/app.js';
import { ProfileStore } from '../src/store/store.js';
import { DEFAULT_LIMITS } from '../src/store/config.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { CPU_SERIES_LENGTH, type SlotResponse, type SourcesResponse } from '../src/api/types.js';
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
    Array.from({ length: 6 }, (_, k) => ({
      resource: K8S_INVENTORY,
      folded: `main;work${k} 120`,
      periodNanos: 10_000_000,
      timeUnixNano: ns(T - 70_000 + k * 10_000),
    })),
  );
  store.ingestEncoded(encodeRequest(req));
  ingest(
    store,
    requestFromFolded([{ resource: { 'process.executable.name': 'ls' }, folded: 'main 5', periodNanos: 10_000_000, timeUnixNano: ns(T - 25_000) }]),
  );
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
  const closed = (
    await app.inject({ method: 'DELETE', url: `/api/sources/${encodeURIComponent('default/Deployment/inventory')}/profiling` })
  ).json() as SlotResponse;
  assert.equal(closed.source.cpuCores, 0.1, 'closing the slot keeps the CPU the source used');

  // Two minutes and a bit later the bare process is gone from the list; the Deployment stays.
  now = T + 2 * 60_000 + 1;
  const later = (await app.inject({ method: 'GET', url: '/api/sources' })).json() as SourcesResponse;
  assert.deepEqual(
    later.sources.map((s) => s.key),
    ['default/Deployment/inventory', 'host/Service/new'],
  );
  await app.close();
});

test('GET /api/sources answers a query: filter, state, order and a limit, keeping profiled and kept sources; a bad parameter is a 400 naming it', async () => {
  const now = T;
  const store = new ProfileStore(DEFAULT_LIMITS, () => now);
  const app = await buildUiApp({ store });
  // 1,200 Deployments, svc-0000 busiest: a fleet's list, more than one answer sends.
  store.addUsage(
    Array.from({ length: 1200 }, (_, i) => ({
      namespace: i % 2 === 0 ? 'even' : 'odd',
      kind: 'Deployment',
      name: `svc-${String(i).padStart(4, '0')}`,
      cpu: [[T - 20_000, (1200 - i) * 10_000_000] as [number, number]],
    })),
  );
  await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent('odd/Deployment/svc-1199')}/profiling` });
  const get = async (query: string): Promise<SourcesResponse> => {
    const res = await app.inject({ method: 'GET', url: `/api/sources?${query}` });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as SourcesResponse;
  };
  const keys = (r: SourcesResponse): string[] => r.sources.map((s) => s.key);

  const all = await get('');
  assert.equal(all.sources.length, 1200, 'no parameters: every source');
  assert.deepEqual(keys(all).slice(0, 2), ['even/Deployment/svc-0000', 'even/Deployment/svc-0002'], 'in key order');
  assert.deepEqual([all.total, all.matched], [1200, 1200]);

  const top = await get('sort=cpu&dir=desc&limit=3&keep=even/Deployment/svc-0600');
  assert.deepEqual(keys(top), [
    'even/Deployment/svc-0000',
    'odd/Deployment/svc-0001',
    'even/Deployment/svc-0002',
    'even/Deployment/svc-0600',
    'odd/Deployment/svc-1199',
  ]);
  assert.deepEqual([top.total, top.matched], [1200, 1200]);

  const found = await get('q=SVC-0999&sort=cpu&limit=3');
  assert.deepEqual(
    keys(found).filter((k) => !k.endsWith('1199')),
    ['odd/Deployment/svc-0999'],
    'the filter reaches past the first rows',
  );
  assert.equal(found.matched, 1);

  const odd = await get('q=odd/&state=off&sort=name&limit=2');
  assert.deepEqual(keys(odd).slice(0, 2), ['odd/Deployment/svc-0001', 'odd/Deployment/svc-0003'], 'names A to Z first');
  assert.equal(odd.matched, 599, 'the profiled one is not off');

  for (const [query, says] of [
    ['limit=0', 'limit='],
    ['limit=abc', 'limit='],
    ['state=on', 'state='],
    ['sort=size', 'sort='],
    ['sort=cpu&dir=up', 'dir='],
    ['dir=asc', 'dir needs sort'],
    [`q=${'x'.repeat(1001)}`, 'q is longer'],
  ]) {
    const res = await app.inject({ method: 'GET', url: `/api/sources?${query}` });
    assert.equal(res.statusCode, 400, query);
    const body = res.json() as { code: string; message: string };
    assert.equal(body.code, 'PL_UI_BAD_SOURCES_QUERY', res.body);
    assert.ok(body.message.includes(says), res.body);
  }
});
