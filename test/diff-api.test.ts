import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUiApp } from '../src/ui/app.js';
import { ProfileStore } from '../src/store/store.js';
import { diffPath, type DiffResponse } from '../src/api/types.js';
import { K8S_CHECKOUT, requestFromFolded } from './helpers/fixtures.js';
import { bothWindows, PERIOD, T_A, T_B } from './helpers/time-windows.js';
import { ingest } from './helpers/ingest.js';

const KEY = 'default/Deployment/inventory';
const OTHER = 'shop/StatefulSet/checkout';

async function setup() {
  const store = new ProfileStore();
  const app = await buildUiApp({ store });
  for (const k of [KEY, OTHER]) await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent(k)}/profiling` });
  ingest(store, bothWindows());
  ingest(store, requestFromFolded([{ resource: K8S_CHECKOUT, folded: 'main;walk;leaf 1\nmain;other 3' }]));
  return { store, app };
}

const rowsOf = (d: DiffResponse) => d.symbols.map((r) => [r.name, r.baseSelf, r.baseTotal, r.self, r.total]);

test('diff of two ranges of one source: exact values, one-sided functions, recursion once', async () => {
  const { app } = await setup();
  const url = diffPath({ base: KEY, baseFrom: T_A, baseTo: T_A + 30_000, target: KEY, from: T_B, to: T_B + 30_000 });
  assert.equal(
    url,
    `/api/diff?base=default%2FDeployment%2Finventory&baseFrom=${T_A}&baseTo=${T_A + 30_000}&target=default%2FDeployment%2Finventory&from=${T_B}&to=${T_B + 30_000}`,
  );
  const res = await app.inject({ method: 'GET', url });
  assert.equal(res.statusCode, 200, res.body);
  const d = res.json() as DiffResponse;
  assert.deepEqual(d.base, { key: KEY, from: T_A, to: T_A + 30_000, samples: 12, cpuNanos: 12 * PERIOD, periodNanos: PERIOD, startMs: T_A, endMs: T_A + 3 });
  assert.deepEqual(d.target, { key: KEY, from: T_B, to: T_B + 30_000, samples: 10, cpuNanos: 10 * PERIOD, periodNanos: PERIOD, startMs: T_B, endMs: T_B + 4 });
  assert.deepEqual(rowsOf(d), [
    ['leaf', 6, 6, 8, 8],
    ['gc', 2, 2, 0, 0],
    ['idle', 4, 4, 2, 2],
    ['parse', 0, 0, 0, 5],
    ['walk', 0, 6, 0, 3],
    ['main', 0, 12, 0, 10],
  ]);
  const f = d.flame;
  const node = (path: string) => {
    const want = path.split(';');
    const stack: string[] = [];
    for (let i = 0; i < f.frame.length; i++) {
      stack.length = f.depth[i];
      stack.push(f.frame[i] < 0 ? '' : f.frames.name[f.frame[i]]);
      if (stack.slice(1).join(';') === want.join(';')) return [f.baseTotal[i], f.baseSelf[i], f.total[i], f.self[i]];
    }
    return undefined;
  };
  assert.deepEqual([f.baseTotal[0], f.total[0]], [12, 10]);
  assert.deepEqual(node('main;walk;walk'), [4, 0, 0, 0]);
  assert.deepEqual(node('main;walk;leaf'), [2, 2, 3, 3]);
  assert.deepEqual(node('main;parse;leaf'), [0, 0, 5, 5]);
  assert.deepEqual(node('main;gc'), [2, 2, 0, 0]);
});

test('diff of one source against another, whole slots; target defaults to base', async () => {
  const { app } = await setup();
  const d = (await app.inject({ method: 'GET', url: diffPath({ base: KEY, target: OTHER }) })).json() as DiffResponse;
  assert.deepEqual([d.base.samples, d.target.samples, d.base.from, d.target.to], [22, 4, null, null]);
  assert.deepEqual(
    rowsOf(d).filter(([n]) => n === 'other' || n === 'walk' || n === 'parse'),
    [
      ['other', 0, 0, 3, 3],
      ['parse', 0, 5, 0, 0],
      ['walk', 0, 9, 0, 1],
    ],
  );
  const self = (await app.inject({ method: 'GET', url: diffPath({ base: KEY, from: T_B }) })).json() as DiffResponse;
  assert.deepEqual([self.base.samples, self.target.samples, self.target.key], [22, 10, KEY]);
});

test('diff errors: no base, a bad key, a bad window, a source without a slot', async () => {
  const { app } = await setup();
  const cases: [string, number, string, RegExp][] = [
    ['/api/diff', 400, 'PL_UI_BAD_DIFF', /base is required/],
    ['/api/diff?base=nope', 400, 'PL_UI_BAD_KEY', /bad source key "nope"/],
    [`/api/diff?base=${encodeURIComponent(KEY)}&baseFrom=9&baseTo=3`, 400, 'PL_UI_BAD_WINDOW', /baseFrom \(9\) must be before baseTo \(3\)/],
    [`/api/diff?base=${encodeURIComponent(KEY)}&from=x`, 400, 'PL_UI_BAD_WINDOW', /from="x": expected milliseconds/],
    [`/api/diff?base=${encodeURIComponent(KEY)}&target=host%2FService%2Fnope`, 404, 'PL_UI_SLOT_NOT_FOUND', /no active profiling slot for host\/Service\/nope/],
  ];
  for (const [url, status, code, re] of cases) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    assert.equal(res.json().code, code, url);
    assert.match(res.json().message, re, url);
  }
});
