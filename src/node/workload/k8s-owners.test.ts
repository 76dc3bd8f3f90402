import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pino } from 'pino';
import { workloadOf } from '../../profile/workload.js';
import type { ObjectMeta, OwnerFetcher, Pod } from './k8s-owners.js';
import { PodIndex } from './pod-index.js';

// Recorded-shape API responses: GET /api/v1/pods?fieldSelector=spec.nodeName=node-a, and the
// ReplicaSets / Jobs the owner chain reads. `orphan-5f6c7d` (403/404 in the recording) and
// the Job `migrate` exercise the fallbacks.
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const pods = (fixture('pods-on-node.json') as { items: Pod[] }).items;
const owners = fixture('owners.json') as Record<string, { metadata: ObjectMeta }>;
const cid = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);

function source(calls: string[] = []): { podsOnNode: (n: string) => Promise<Pod[]>; owner: OwnerFetcher } {
  return {
    podsOnNode: async (node) => {
      calls.push(`pods:${node}`);
      return pods;
    },
    owner: async (kind, ns, name) => {
      calls.push(`${kind}/${ns}/${name}`);
      const o = owners[`${kind}/${ns}/${name}`];
      if (!o) throw new Error('HTTP 403 forbidden');
      return o.metadata;
    },
  };
}

async function index(calls?: string[]): Promise<PodIndex> {
  const idx = new PodIndex(source(calls), 'node-a', pino({ level: 'silent' }), 3_600_000);
  await idx.refresh();
  return idx;
}

test('owner chain: Deployment through its ReplicaSet, with every container of the pod', async () => {
  const idx = await index();
  const app = idx.get(cid(1), undefined)!;
  assert.deepEqual(app, {
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'inventory-7d4b9c-x2x9z',
    'k8s.pod.uid': '11111111-1111-1111-1111-111111111111',
    'k8s.node.name': 'node-a',
    'k8s.replicaset.name': 'inventory-7d4b9c',
    'k8s.deployment.name': 'inventory',
    'k8s.container.name': 'app',
    'container.id': cid(1),
  });
  assert.equal(workloadOf(app).key, 'shop/Deployment/inventory');
  assert.equal(idx.get(cid(2), undefined)!['k8s.container.name'], 'istio-proxy');
  assert.equal(workloadOf(idx.get(cid(3), undefined)!).key, 'shop/Deployment/inventory'); // init container
});

test('owner chain: StatefulSet, DaemonSet, CronJob through its Job, bare Job, bare pod, custom controller', async () => {
  const idx = await index();
  const key = (n: number): string => workloadOf(idx.get(cid(n), undefined)!).key;
  assert.equal(key(5), 'data/StatefulSet/db');
  assert.equal(key(6), 'pilotlight/DaemonSet/pilotlight-node');
  assert.equal(key(7), 'batch/CronJob/report');
  assert.equal(key(8), 'batch/Job/migrate');
  assert.equal(key(9), 'default/Pod/debug');
  assert.equal(key(10), 'default/Pod/rollout-abc');
});

test('owner chain: an unreadable ReplicaSet falls back to the pod-template-hash naming rule', async () => {
  const idx = await index();
  assert.equal(workloadOf(idx.get(cid(4), undefined)!).key, 'shop/Deployment/orphan');
});

test('pods without container statuses are found by pod uid; owners are fetched once per list', async () => {
  const calls: string[] = [];
  const idx = await index(calls);
  assert.equal(idx.get(undefined, '99999999-9999-9999-9999-999999999999')!['k8s.pod.name'], 'starting-1');
  assert.equal(calls[0], 'pods:node-a');
  await idx.refresh();
  assert.equal(calls.filter((c) => c === 'ReplicaSet/shop/inventory-7d4b9c').length, 1, 'owner lookups are cached');
  assert.equal(idx.generation, 2);
});

test('a failed list keeps the last index', async () => {
  let fail = false;
  const src = source();
  const idx = new PodIndex(
    { podsOnNode: async (n) => (fail ? Promise.reject(new Error('connection refused')) : src.podsOnNode(n)), owner: src.owner },
    'node-a',
    pino({ level: 'silent' }),
    3_600_000,
  );
  await idx.refresh();
  fail = true;
  await idx.refresh();
  assert.equal(idx.listErrors, 1);
  assert.ok(idx.get(cid(1), undefined));
});
