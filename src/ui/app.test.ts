import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { buildUiApp } from './app.js';
import { ProfileStore } from '../store/store.js';
import { DEFAULT_LIMITS } from '../store/config.js';
import { requestFromFolded, K8S_INVENTORY } from '../../test/helpers/fixtures.js';
import type { ProfileResponse, SourcesResponse, SlotResponse, SlotsResponse } from '../api/types.js';
import { ingest } from '../../test/helpers/ingest.js';

const KEY = 'default/Deployment/inventory';
const ENC = encodeURIComponent(KEY);

async function setup(limits = DEFAULT_LIMITS) {
  const store = new ProfileStore(limits);
  const app = await buildUiApp({ store });
  return { store, app };
}

test('sources list every workload seen, with or without a slot', async () => {
  const { store, app } = await setup();
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 1' }]));
  const res = await app.inject({ method: 'GET', url: '/api/sources' });
  assert.equal(res.statusCode, 200);
  const body = res.json() as SourcesResponse;
  assert.deepEqual(
    body.sources.map((s) => [s.key, s.namespace, s.kind, s.name, s.profiling.active]),
    [[KEY, 'default', 'Deployment', 'inventory', false]],
  );
  assert.equal(body.limits.maxSlots, 24);
});

test('enable, ingest, read the profile with exact self/total, download pprof, disable', async () => {
  const { store, app } = await setup();
  const enable = await app.inject({ method: 'POST', url: `/api/sources/${ENC}/profiling` });
  assert.equal(enable.statusCode, 200, enable.body);
  const slot = enable.json() as SlotResponse;
  assert.equal(slot.source.profiling.active, true);
  assert.equal(slot.limits.slotMaxBytes, 8388608);

  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;walk;walk;leaf 4\nmain;walk;leaf 2\nmain;idle 4' }]));
  const res = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile` });
  assert.equal(res.statusCode, 200, res.body);
  const p = res.json() as ProfileResponse;
  assert.equal(p.samples, 10);
  assert.equal(p.cpuNanos, 10 * 50_000_000);
  assert.equal(p.periodNanos, 50_000_000);
  const walk = p.symbols.find((s) => s.name === 'walk')!;
  assert.deepEqual([walk.self, walk.total], [0, 6]);
  const leaf = p.symbols.find((s) => s.name === 'leaf')!;
  assert.deepEqual([leaf.self, leaf.total], [6, 6]);
  assert.equal(p.flame.total[0], 10);

  const pb = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile.pb.gz` });
  assert.equal(pb.statusCode, 200);
  assert.match(String(pb.headers['content-disposition']), /attachment; filename="default-Deployment-inventory\.pb\.gz"/);
  const decoded = PprofProfile.decode(gunzipSync(pb.rawPayload));
  assert.equal(
    decoded.sample.reduce((s, x) => s + Number(x.value[0]), 0),
    10,
  );

  const off = await app.inject({ method: 'DELETE', url: `/api/sources/${ENC}/profiling` });
  assert.equal(off.statusCode, 200);
  assert.equal((off.json() as SlotResponse).source.profiling.active, false);
  const gone = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile` });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json().code, 'PL_UI_SLOT_NOT_FOUND');
});

test('bad input is a 4xx JSON error with a message, and the server keeps serving', async () => {
  const { app } = await setup();
  await app.inject({ method: 'POST', url: `/api/sources/${ENC}/profiling` });
  const cases: [string, string, number, string, RegExp, unknown?][] = [
    ['POST', '/api/sources/not-a-key/profiling', 400, 'PL_UI_BAD_KEY', /bad source key "not-a-key": expected namespace\/Kind\/name/],
    ['GET', '/api/sources/host%2FService%2Fnope/profile', 404, 'PL_UI_SLOT_NOT_FOUND', /no active profiling slot for host\/Service\/nope/],
    ['DELETE', '/api/sources/host%2FService%2Fnope/profiling', 404, 'PL_UI_SLOT_NOT_FOUND', /no active profiling slot/],
    ['GET', `/api/sources/${ENC}/profile?from=abc`, 400, 'PL_UI_BAD_WINDOW', /from="abc": expected milliseconds/],
    ['GET', `/api/sources/${ENC}/profile?from=20&to=10`, 400, 'PL_UI_BAD_WINDOW', /from \(20\) must be before to \(10\)/],
    ['GET', '/api/nothing-here', 404, 'PL_UI_NOT_FOUND', /no route GET \/api\/nothing-here/],
    ['PUT', '/api/slots', 400, 'PL_UI_BAD_LIMITS', /maxSlots: must be at least 1/, { maxSlots: 0 }],
    ['PUT', '/api/slots', 400, 'PL_UI_BAD_LIMITS', /Unrecognized key/, { slots: 3 }],
  ];
  for (const [method, url, status, code, re, body] of cases) {
    const res = await app.inject({ method: method as 'GET', url, payload: body as object | undefined });
    assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
    const err = res.json();
    assert.equal(err.code, code, url);
    assert.match(err.message, re, url);
    assert.equal(err.statusCode, status);
  }
  const bad = await app.inject({ method: 'PUT', url: '/api/slots', headers: { 'content-type': 'application/json' }, payload: '{oops' });
  assert.equal(bad.statusCode, 400);
  assert.ok(bad.json().message.length > 0);
  const still = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile` });
  assert.equal(still.statusCode, 200);
});

test('GET/PUT /api/slots report usage and resize live', async () => {
  const { app, store } = await setup();
  for (const n of ['a', 'b', 'c']) await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent(`host/Service/${n}`)}/profiling` });
  ingest(store, requestFromFolded([{ resource: { 'service.name': 'c' }, folded: 'main 3' }]));
  const before = (await app.inject({ method: 'GET', url: '/api/slots' })).json() as SlotsResponse;
  assert.equal(before.usage.slots, 3);
  assert.ok(before.usage.bytes > 0);
  const after = (await app.inject({ method: 'PUT', url: '/api/slots', payload: { maxSlots: 1 } })).json() as SlotsResponse;
  assert.equal(after.limits.maxSlots, 1);
  assert.equal(after.usage.slots, 1);
  assert.equal(after.evictions.lru, 2);
  assert.equal(after.usage.sources, 3, "the evicted slots' sources stay listed");
  // Fewer sources: the two without a slot go at once, and are counted.
  const trimmed = (await app.inject({ method: 'PUT', url: '/api/slots', payload: { maxSources: 1 } })).json() as SlotsResponse;
  assert.equal(trimmed.limits.maxSources, 1);
  assert.deepEqual([trimmed.usage.sources, trimmed.sourcesTrimmed], [1, 2]);
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /pilotlight_store_slots 1/);
  assert.match(metrics.body, /pilotlight_store_evictions_total\{reason="lru"\} 2/);
  assert.match(metrics.body, /pilotlight_store_sources 1\n/);
  assert.match(metrics.body, /pilotlight_store_source_limit 1\n/);
  assert.match(metrics.body, /pilotlight_store_sources_trimmed_total 2\n/);
});

test('the event stream announces new data for the slot', async () => {
  const { app, store } = await setup();
  await app.inject({ method: 'POST', url: `/api/sources/${ENC}/profiling` });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const ctrl = new AbortController();
    const res = await fetch(`${address}/api/sources/${ENC}/events`, { signal: ctrl.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (re: RegExp): Promise<RegExpMatchArray> => {
      for (;;) {
        const m = text.match(re);
        if (m) return m;
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${re}: ${text}`);
        text += decoder.decode(value);
      }
    };
    await readUntil(/event: data\ndata: (\{[^\n]*"samples":0[^\n]*\})\n\n/);
    ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 7' }]));
    const m = await readUntil(/event: data\ndata: (\{[^\n]*"samples":7[^\n]*\})\n\n/);
    assert.equal(JSON.parse(m[1]).key, KEY);
    ctrl.abort();
  } finally {
    await app.close();
  }
});

test('without a built web app the root explains how to build it', async () => {
  const { app } = await setup();
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /npm run build/);
});

test('a repeated profile query answers the same body until new data arrives; search and windows are their own answers', async () => {
  const { store, app } = await setup();
  await app.inject({ method: 'POST', url: `/api/sources/${ENC}/profiling` });
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 3' }]));
  const get = async (query = '') => {
    const res = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile${query}` });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    return res.body;
  };
  const first = await get();
  assert.equal(await get(), first);
  const searched = JSON.parse(await get('?search=a')) as ProfileResponse;
  assert.equal(searched.search?.matchedSamples, 3);
  assert.equal((JSON.parse(await get()) as ProfileResponse).search, undefined);
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;b 2' }]));
  const next = JSON.parse(await get()) as ProfileResponse;
  assert.equal(next.samples, 5);
  assert.ok(next.symbols.some((s) => s.name === 'b'));
});
