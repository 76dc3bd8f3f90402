import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CPU_BUCKET_MS } from '../store/cpu.js';
import { DEFAULT_LIMITS } from '../store/config.js';
import { ProfileStore } from '../store/store.js';
import { buildUiApp } from './app.js';
import { SUBSCRIPTION_PATH, USAGE_PATH, type SubscriptionResponse } from '../api/pipeline.js';

const KEY = 'default/Deployment/inventory';

async function setup(now = 1_700_000_000_000) {
  const clock = { now };
  const store = new ProfileStore(DEFAULT_LIMITS, () => clock.now);
  const app = await buildUiApp({ store });
  return { store, app, clock };
}

test('the subscription names the workloads with slots; its token changes with the set and never repeats across processes', async () => {
  const { store, app } = await setup();
  const first = (await app.inject({ url: SUBSCRIPTION_PATH })).json() as SubscriptionResponse;
  assert.deepEqual(first.workloads, []);
  await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent(KEY)}/profiling` });
  const second = (await app.inject({ url: SUBSCRIPTION_PATH })).json() as SubscriptionResponse;
  assert.deepEqual(second.workloads, [KEY]);
  assert.notEqual(second.token, first.token);
  store.close(KEY);
  const third = (await app.inject({ url: SUBSCRIPTION_PATH })).json() as SubscriptionResponse;
  assert.deepEqual(third.workloads, []);
  assert.notEqual(third.token, first.token, 'a token is never reused, even for an equal set');
  const other = await setup();
  const elsewhere = (await other.app.inject({ url: SUBSCRIPTION_PATH })).json() as SubscriptionResponse;
  assert.notEqual(elsewhere.token, first.token, 'another process (a restarted UI) has other tokens');
});

test('a poll with the current token waits for a change and answers the new set', async () => {
  const { store, app } = await setup();
  const { token } = (await app.inject({ url: SUBSCRIPTION_PATH })).json() as SubscriptionResponse;
  let answered = false;
  const poll = app.inject({ url: `${SUBSCRIPTION_PATH}?since=${encodeURIComponent(token)}&wait=30` }).then((r) => {
    answered = true;
    return r.json() as SubscriptionResponse;
  });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answered, false, 'the poll answered before anything changed');
  store.open({ key: KEY, namespace: 'default', kind: 'Deployment', name: 'inventory' });
  const changed = await poll;
  assert.deepEqual(changed.workloads, [KEY]);
  assert.notEqual(changed.token, token);
  // A stale token is answered at once.
  const stale = (await app.inject({ url: `${SUBSCRIPTION_PATH}?since=${encodeURIComponent(token)}&wait=30` })).json() as SubscriptionResponse;
  assert.equal(stale.token, changed.token);
});

test('usage reports count into the Sources list by bucket', async () => {
  const { store, app, clock } = await setup();
  const bucket = Math.floor(clock.now / CPU_BUCKET_MS) * CPU_BUCKET_MS - 5 * CPU_BUCKET_MS;
  const res = await app.inject({
    method: 'POST',
    url: USAGE_PATH,
    payload: { sources: [{ namespace: 'default', kind: 'Deployment', name: 'inventory', cpu: [[bucket, 5e9]] }] },
  });
  assert.equal(res.statusCode, 204, res.body);
  const info = store.sourceInfo(KEY);
  assert.ok(info, 'the reported workload is listed');
  // 5 s of CPU in one 10 s bucket: half a core there.
  assert.ok(info.cpuSeries.includes(0.5), `series ${info.cpuSeries.join(',')}`);
  assert.equal(info.profiling.active, false);
});

test('bad usage reports and polls are refused with 400 naming the problem; the store is unchanged', async () => {
  const { store, app } = await setup();
  const bad: [unknown, RegExp][] = [
    [{}, /sources/],
    [{ sources: [{ namespace: 'a', kind: 'Process', name: 'x', cpu: [[1, -5]] }] }, /cpu/],
    [{ sources: [{ namespace: 'a', kind: 'Process', name: 'x', cpu: [[1]] }] }, /cpu/],
    [{ sources: [{ namespace: '', kind: 'Process', name: 'x', cpu: [] }] }, /namespace/],
  ];
  for (const [payload, re] of bad) {
    const res = await app.inject({ method: 'POST', url: USAGE_PATH, payload: payload as object });
    assert.equal(res.statusCode, 400, JSON.stringify(payload));
    assert.match(res.body, re);
  }
  const notJson = await app.inject({ method: 'POST', url: USAGE_PATH, payload: 'sources', headers: { 'content-type': 'text/plain' } });
  assert.equal(notJson.statusCode, 400);
  const wait = await app.inject({ url: `${SUBSCRIPTION_PATH}?since=x&wait=3600` });
  assert.equal(wait.statusCode, 400);
  assert.match(wait.body, /wait/);
  assert.deepEqual(store.listSources(), []);
});
