import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUiApp } from '../src/ui/app.js';
import { ProfileStore } from '../src/store/store.js';
import type { ProfileResponse, TimelineResponse } from '../src/api/types.js';
import { K8S_INVENTORY, requestFromFolded } from './helpers/fixtures.js';
import { bothWindows, PERIOD, T_A, T_B, unnamedRequest, WINDOW_A, WINDOW_B, windowRequest } from './helpers/time-windows.js';
import { ingest } from './helpers/ingest.js';

const KEY = 'default/Deployment/inventory';
const ENC = encodeURIComponent(KEY);

async function setup() {
  const store = new ProfileStore();
  const app = await buildUiApp({ store });
  await app.inject({ method: 'POST', url: `/api/sources/${ENC}/profiling` });
  return { store, app };
}

const sym = (p: ProfileResponse, name: string) => {
  const r = p.symbols.find((s) => s.name === name);
  return r ? [r.self, r.total] : undefined;
};

test('timeline: exact buckets over two windows from separate chunks', async () => {
  const { store, app } = await setup();
  ingest(store, windowRequest(WINDOW_A, T_A));
  ingest(store, windowRequest(WINDOW_B, T_B));
  const res = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/timeline?step=20` });
  assert.equal(res.statusCode, 200, res.body);
  const t = res.json() as TimelineResponse;
  assert.equal(t.key, KEY);
  assert.equal(t.step, 20);
  assert.deepEqual(t.points, [
    { t: T_A, samples: 12, cpuNanos: 12 * PERIOD },
    { t: T_A + 20_000, samples: 0, cpuNanos: 0 },
    { t: T_A + 40_000, samples: 0, cpuNanos: 0 },
    { t: T_A + 60_000, samples: 10, cpuNanos: 10 * PERIOD },
  ]);
  assert.equal(t.untimedSamples, 0);
  assert.equal(t.periodNanos, PERIOD);
  // Default step 10 s: seven buckets.
  const def = (await app.inject({ method: 'GET', url: `/api/sources/${ENC}/timeline` })).json() as TimelineResponse;
  assert.deepEqual(
    def.points.map((p) => p.samples),
    [12, 0, 0, 0, 0, 0, 10],
  );
  // Sub-second steps: ms buckets inside window A.
  store.open({ key: 'shop/StatefulSet/checkout', namespace: 'shop', kind: 'StatefulSet', name: 'checkout' });
  ingest(store, windowRequest(WINDOW_A, T_A, { 'k8s.namespace.name': 'shop', 'k8s.statefulset.name': 'checkout' }));
  const fine = (
    await app.inject({ method: 'GET', url: `/api/sources/${encodeURIComponent('shop/StatefulSet/checkout')}/timeline?step=0.002` })
  ).json() as TimelineResponse;
  assert.deepEqual(
    fine.points.map((p) => [p.t - T_A, p.samples]),
    [
      [0, 8],
      [2, 4],
    ],
  );
});

test('range-filtered profile: exact self/total per window, and a cut inside a window', async () => {
  const { store, app } = await setup();
  ingest(store, bothWindows());
  const get = async (q: string) => {
    const res = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile${q}` });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as ProfileResponse;
  };
  const all = await get('');
  assert.equal(all.samples, 22);
  const a = await get(`?from=${T_A}&to=${T_A + 30_000}`);
  assert.deepEqual([a.samples, a.cpuNanos, a.from, a.to], [12, 12 * PERIOD, T_A, T_A + 30_000]);
  assert.deepEqual([sym(a, 'walk'), sym(a, 'leaf'), sym(a, 'gc'), sym(a, 'parse')], [[0, 6], [6, 6], [2, 2], undefined]);
  const b = await get(`?from=${T_B}`);
  assert.deepEqual([b.samples, sym(b, 'walk'), sym(b, 'leaf'), sym(b, 'parse'), sym(b, 'gc')], [10, [0, 3], [8, 8], [0, 5], undefined]);
  // [T_A + 2, T_A + 3): the third sample of the two 4-sample lines and of nothing else.
  const cut = await get(`?from=${T_A + 2}&to=${T_A + 3}`);
  assert.deepEqual([cut.samples, sym(cut, 'walk'), sym(cut, 'leaf'), sym(cut, 'idle')], [2, [0, 1], [1, 1], [1, 1]]);
  assert.equal(cut.flame.total[0], 2);
  // The buckets of a range add up to the range's profile.
  const fine = (await app.inject({ method: 'GET', url: `/api/sources/${ENC}/timeline?step=10` })).json() as TimelineResponse;
  assert.equal(
    fine.points.filter((p) => p.t >= T_A && p.t < T_A + 30_000).reduce((s, p) => s + p.samples, 0),
    a.samples,
  );
});

test('search on the profile route measures a share; an invalid regex is a 400 with the reason', async () => {
  const { store, app } = await setup();
  ingest(store, bothWindows());
  const ok = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile?search=${encodeURIComponent('/^(walk|parse)$/')}` });
  assert.equal(ok.statusCode, 200, ok.body);
  // walk;walk;leaf 4 + walk;leaf 2 + walk;leaf 3 + parse;leaf 5, recursion once.
  assert.deepEqual((ok.json() as ProfileResponse).search, { query: '/^(walk|parse)$/', matchedSamples: 14, totalSamples: 22, matchedFrames: 2 });
  const ranged = (await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile?from=${T_B}&search=leaf` })).json() as ProfileResponse;
  assert.deepEqual(ranged.search, { query: 'leaf', matchedSamples: 8, totalSamples: 10, matchedFrames: 1 });
  const none = (await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile` })).json() as ProfileResponse;
  assert.equal(none.search, undefined);
  const bad = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile?search=${encodeURIComponent('/walk(/')}` });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual(bad.json(), {
    statusCode: 400,
    code: 'PL_UI_BAD_SEARCH',
    error: 'Bad Request',
    message: 'invalid regular expression /walk(/: Unterminated group',
  });
});

test('the profile lists, per binary, samples spent in code that could not be named', async () => {
  const { store, app } = await setup();
  ingest(store, unnamedRequest());
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;ok 4' }]));
  const p = (await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile` })).json() as ProfileResponse;
  assert.equal(p.samples, 15);
  assert.deepEqual(p.unsymbolized, [
    { binary: 'libfoo.so', samples: 5 },
    { binary: '', samples: 1 },
  ]);
});

test('timeline errors: bad step, a step too fine for the span, no slot', async () => {
  const { store, app } = await setup();
  ingest(store, bothWindows());
  const cases: [string, number, string, RegExp][] = [
    [`/api/sources/${ENC}/timeline?step=0`, 400, 'PL_UI_BAD_STEP', /step="0": expected a positive number of seconds/],
    [`/api/sources/${ENC}/timeline?step=abc`, 400, 'PL_UI_BAD_STEP', /step="abc"/],
    [`/api/sources/${ENC}/timeline?step=0.001`, 400, 'PL_UI_BAD_STEP', /makes 60005 buckets .* use a step of at least 7 ms/],
    ['/api/sources/host%2FService%2Fnope/timeline', 404, 'PL_UI_SLOT_NOT_FOUND', /no active profiling slot for host\/Service\/nope/],
  ];
  for (const [url, status, code, re] of cases) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    assert.equal(res.json().code, code);
    assert.match(res.json().message, re);
  }
});
