import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { workloadOf } from '../../profile/workload.js';
import { PodIndex } from './pod-index.js';
import { WorkloadResolver } from './resolver.js';

const root = mkdtempSync(join(tmpdir(), 'pl-proc-'));
after(() => rmSync(root, { recursive: true, force: true }));
const ID = 'ab'.repeat(32);

/** A fake /proc entry: cgroup, environ, stat and the exe link. */
function proc(pid: number, o: { cgroup: string; env?: Record<string, string>; exe?: string; start?: number }): void {
  const dir = join(root, String(pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup'), o.cgroup);
  writeFileSync(
    join(dir, 'environ'),
    Object.entries(o.env ?? {})
      .map(([k, v]) => `${k}=${v}\0`)
      .join(''),
  );
  writeFileSync(join(dir, 'stat'), `${pid} (x y) S 1 ${Array.from({ length: 17 }, () => '0').join(' ')} ${o.start ?? 100} 0 0\n`);
  rmSync(join(dir, 'exe'), { force: true });
  if (o.exe) symlinkSync(o.exe, join(dir, 'exe'));
}

test('off Kubernetes: OTEL_SERVICE_NAME, systemd unit, container, executable', () => {
  proc(10, { cgroup: '0::/user.slice/session-1.scope\n', env: { OTEL_SERVICE_NAME: 'checkout', PATH: '/bin' }, exe: '/usr/bin/node' });
  proc(11, { cgroup: '0::/system.slice/nginx.service\n', exe: '/usr/sbin/nginx' });
  proc(12, { cgroup: `0::/system.slice/docker-${ID}.scope\n`, exe: '/usr/local/bin/app' });
  proc(13, { cgroup: '0::/\n', exe: '/usr/bin/python3.11' });
  proc(14, { cgroup: '0::/\n', env: { OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=billing' }, exe: '/usr/bin/java' });
  const r = new WorkloadResolver({ procRoot: root, hostName: 'h1' });
  const w = (pid: number) => r.resolve(pid, 'comm');
  assert.equal(w(10).key, 'host/Service/checkout');
  assert.deepEqual(w(10).resource, { 'host.name': 'h1', 'service.name': 'checkout' });
  assert.deepEqual(w(10).sampleAttributes, { 'process.executable.name': 'node' });
  assert.equal(w(11).key, 'host/Service/nginx');
  assert.equal(w(11).resource['service.name'], 'nginx');
  assert.equal(w(12).key, `host/Container/${ID.slice(0, 12)}`);
  assert.equal(w(12).resource['container.id'], ID);
  assert.equal(w(13).key, 'host/Process/python3.11');
  // Every resource names a service (backends file profiles by it): the workload's name.
  assert.equal(w(12).resource['service.name'], ID.slice(0, 12));
  assert.deepEqual(w(13).resource, { 'host.name': 'h1', 'process.executable.name': 'python3.11', 'service.name': 'python3.11' });
  assert.equal(w(14).key, 'host/Service/billing');
  // The key is reproducible from the resource alone (what a receiver sees).
  for (const pid of [10, 11, 12, 13, 14]) assert.equal(workloadOf(w(pid).resource).key, w(pid).key);
  assert.equal(r.resolve(99, 'kworker/0:1').key, 'host/Process/kworker/0:1');
});

test('on Kubernetes: container id → pod → Deployment; pod-level attributes ride on samples', async () => {
  const pods = new PodIndex(
    {
      podsOnNode: async () => [
        {
          metadata: {
            name: 'web-abc12-xyz',
            namespace: 'shop',
            uid: 'u1',
            labels: { 'pod-template-hash': 'abc12' },
            ownerReferences: [{ kind: 'ReplicaSet', name: 'web-abc12', controller: true }],
          },
          spec: { nodeName: 'n1' },
          status: { containerStatuses: [{ name: 'web', containerID: `containerd://${ID}` }] },
        },
      ],
      owner: async () => ({ name: 'web-abc12', ownerReferences: [{ kind: 'Deployment', name: 'web', controller: true }] }),
    },
    'n1',
    pino({ level: 'silent' }),
  );
  await pods.refresh();
  proc(20, { cgroup: `0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${ID}.scope\n`, env: { OTEL_SERVICE_NAME: 'web-svc' }, exe: '/app/server' });
  const r = new WorkloadResolver({ procRoot: root, hostName: 'n1', pods });
  const w = r.resolve(20, 'server');
  assert.equal(w.key, 'shop/Deployment/web');
  assert.deepEqual(w.resource, {
    'host.name': 'n1',
    'k8s.namespace.name': 'shop',
    'k8s.node.name': 'n1',
    'k8s.deployment.name': 'web',
    'service.name': 'web-svc',
  });
  assert.equal(w.sampleAttributes['k8s.pod.name'], 'web-abc12-xyz');
  assert.equal(w.sampleAttributes['container.id'], ID);
  assert.equal(w.sampleAttributes['k8s.container.name'], 'web');
  assert.equal(workloadOf(w.resource).key, w.key);
  // Without a name of its own, a pod's process names the service after its Deployment.
  proc(21, { cgroup: `0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-${ID}.scope\n`, exe: '/app/server' });
  const unnamed = r.resolve(21, 'server');
  assert.equal(unnamed.key, 'shop/Deployment/web');
  assert.equal(unnamed.resource['service.name'], 'web');
  assert.equal(unnamed.resource['k8s.namespace.name'], 'shop');
  assert.equal(workloadOf(unnamed.resource).key, unnamed.key);
  pods.stop();
});

test('cached per process; a reused pid (new start time) is resolved afresh after a sweep', () => {
  proc(30, { cgroup: '0::/system.slice/a.service\n', exe: '/bin/a' });
  const r = new WorkloadResolver({ procRoot: root, hostName: 'h' });
  assert.equal(r.resolve(30, 'a').key, 'host/Service/a');
  proc(30, { cgroup: '0::/system.slice/b.service\n', exe: '/bin/b', start: 200 });
  assert.equal(r.resolve(30, 'b').key, 'host/Service/a', 'cached');
  r.beginFlush();
  r.sweep(1);
  assert.equal(r.resolve(30, 'b').key, 'host/Service/b');
});
