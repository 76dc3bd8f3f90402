import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCgroup, serviceNameOfUnit } from './cgroup.js';

const ID = 'a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef0123456789abcdef';
const UID = '2f4c7e1a-9b3d-4e5f-8a6b-1c2d3e4f5a6b';

test('containerd under systemd, cgroup v2', () => {
  const info = parseCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope\n`);
  assert.equal(info.containerId, ID);
  assert.equal(info.runtime, 'containerd');
  assert.equal(info.podUid, UID);
});

test('containerd with the cgroupfs driver, cgroup v1', () => {
  const text = [
    `12:memory:/kubepods/burstable/pod${UID}/${ID}`,
    `11:cpu,cpuacct:/kubepods/burstable/pod${UID}/${ID}`,
    `1:name=systemd:/kubepods/burstable/pod${UID}/${ID}`,
  ].join('\n');
  const info = parseCgroup(text);
  assert.equal(info.containerId, ID);
  assert.equal(info.podUid, UID);
});

test('CRI-O container, and its conmon monitor which is not the container', () => {
  assert.equal(parseCgroup(`0::/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/crio-${ID}.scope`).runtime, 'cri-o');
  const conmon = parseCgroup(`0::/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/crio-conmon-${ID}.scope`);
  assert.equal(conmon.containerId, undefined);
  assert.equal(conmon.podUid, UID);
});

test('docker, systemd and cgroupfs drivers, v1 and v2', () => {
  assert.deepEqual(parseCgroup(`0::/system.slice/docker-${ID}.scope`), {
    path: `/system.slice/docker-${ID}.scope`,
    containerId: ID,
    runtime: 'docker',
  });
  const v1 = parseCgroup(`9:name=systemd:/docker/${ID}\n4:memory:/docker/${ID}\n0::/\n`);
  assert.equal(v1.containerId, ID);
  assert.equal(v1.runtime, 'docker');
  assert.equal(parseCgroup(`0::/machine.slice/libpod-${ID}.scope/container`).containerId, undefined);
  assert.equal(parseCgroup(`0::/machine.slice/libpod-${ID}.scope`).runtime, 'podman');
});

test('systemd services, system and user, v1 and v2', () => {
  assert.equal(parseCgroup('0::/system.slice/nginx.service\n').systemdUnit, 'nginx.service');
  assert.equal(parseCgroup('1:name=systemd:/system.slice/postgresql@15-main.service\n2:cpu:/\n').systemdUnit, 'postgresql@15-main.service');
  assert.equal(parseCgroup('0::/user.slice/user-1000.slice/user@1000.service/app.slice/myapp.service').systemdUnit, 'myapp.service');
  assert.equal(parseCgroup('0::/user.slice/user-1000.slice/user@1000.service/init.scope').systemdUnit, undefined);
  assert.equal(parseCgroup('0::/user.slice/user-1000.slice/session-3.scope').systemdUnit, undefined);
  assert.equal(serviceNameOfUnit('nginx.service'), 'nginx');
});

test('nothing recognisable: the root cgroup or an unknown manager', () => {
  assert.deepEqual(parseCgroup('0::/\n'), { path: '/' });
  const here = parseCgroup('9:name=systemd:/\n4:memory:/process_api/7a0abf1c3e0f055894657533cf7af27d\n0::/\n');
  assert.equal(here.containerId, undefined);
  assert.equal(here.systemdUnit, undefined);
});
