import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { Gateway } from '../src/gateway/gateway.js';
import { EbpfProfilerSampler } from '../src/node/ebpf-profiler/sampler.js';
import { WorkloadResolver } from '../src/node/workload/resolver.js';
import { keyValues, tableAttributes } from '../src/otlp/attributes.js';
import { Exporter } from '../src/pipeline/exporter/exporter.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import type { ProfileResponse, SourcesResponse } from '../src/api/types.js';
import { startUiServer } from '../src/ui/server.js';
import { collectingConsumer, quietLog, sleep, startChild } from './helpers/ebpf.js';
import { ebpfReporterBinary } from './helpers/peers.js';
import { foldedOf, UiClient } from './helpers/ui-client.js';
import { waitFor } from './helpers/wait.js';

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `pilotlight node` with the eBPF profiler as its sampler, from the profiler's OTLP on: the
 * profiler's own reporter (tools/peers/ebpf-profiler/reporter, which writes exactly what the
 * profiler's exporter writes) sends into the node agent's loopback receiver what a Python
 * process yields, for pids 4242 and 4243; those two pids are made to be a real Python process
 * run as a service (a /proc whose 4242 and 4243 are that process), so the agent attributes them
 * as bpftrace's samples of that process would be. Then our exporter (gzip) → a real gateway →
 * a real UI, and a second gateway target that shows what went on the wire.
 */
test("the eBPF profiler's OTLP -> pilotlight node -> gateway -> UI: a Python service's samples under the key bpftrace gives its pid, service.name set, nothing under another key", (t) =>
  profilerToUi(t, false));

test("off-CPU on: the profiler's off-CPU waits reach the UI as the workload's off-CPU profile, every nanosecond once, and the CPU profile is the same as with it off", (t) =>
  profilerToUi(t, true));

/**
 * The driver reports CPU samples and off-CPU waits alike; `offCpu` is the node's setting
 * (profiling.node.offCpu), which decides whether the waits are sent on.
 */
async function profilerToUi(t: TestContext, offCpu: boolean): Promise<void> {
  const driver = ebpfReporterBinary();
  if (!driver.path) return t.skip(driver.why);
  const python = ['python3.11', 'python3'].find(has);
  if (!python) return t.skip('no python3 here to stand for the profiled Python process');
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const service = `pl-ebpf-${tag}`;

  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: false } });
  t.after(() => ui.close());
  const client = new UiClient(ui.url);
  const seen = collectingConsumer();
  const wire = new Receiver({ grpc: { host: '127.0.0.1', port: 0 }, http: false, consumer: seen.consumer });
  const wirePort = (await wire.start()).grpc!.port;
  t.after(() => wire.stop(0));
  const gateway = new Gateway({
    receiver: { grpc: { host: '127.0.0.1', port: 0 }, http: false },
    exporters: [
      { name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}` },
      { name: 'wire', protocol: 'grpc', endpoint: `127.0.0.1:${wirePort}` },
    ],
  });
  const gw = await gateway.start();
  t.after(() => gateway.stop(2000));

  // The Python process, run as a service; pyenv's shim execs the interpreter, so wait for it.
  const py = startChild(t, python, ['-c', 'import time; time.sleep(120)'], { OTEL_SERVICE_NAME: service });
  await waitFor('the shim to exec python', () => basename(readlinkSync(`/proc/${py.pid}/exe`)).startsWith('python'), { timeoutMs: 5000, intervalMs: 50 });
  const exe = basename(readlinkSync(`/proc/${py.pid}/exe`));
  assert.match(exe, /^python/);
  const procRoot = mkdtempSync(join(tmpdir(), 'pl-proc-'));
  t.after(() => rmSync(procRoot, { recursive: true, force: true }));
  for (const pid of [4242, 4243]) symlinkSync(`/proc/${py.pid}`, join(procRoot, String(pid)));
  symlinkSync('/proc/self', join(procRoot, 'self'));

  // The key the bpftrace sampler's resolver gives this process.
  const key = new WorkloadResolver({ hostName: hostname() }).resolve(py.pid!, exe).key;
  assert.equal(key, `host/Service/${service}`);
  await client.enable(key);

  const exporter = new Exporter({ name: 'gateway', protocol: 'grpc', endpoint: `127.0.0.1:${gw.grpc!.port}`, enableDataCompression: true, logger: quietLog });
  const sampler = new EbpfProfilerSampler({ hz: 20, intervalMs: 1000, procRoot, kubernetes: 'off', offCpuThreshold: offCpu ? 0.01 : 0 }, exporter, quietLog);
  const port = await sampler.startReceiver();
  t.after(async () => {
    await sampler.stop();
    await exporter.shutdown(2000);
  });

  const { stdout } = await promisify(execFile)(driver.path, ['-agent', `127.0.0.1:${port}`, '-tag', tag], { timeout: 60_000 });
  const sent = JSON.parse(stdout) as { cpu_samples: number; off_cpu_nanos: number };
  assert.deepEqual(sent, { cpu_samples: 40, off_cpu_nanos: 10_000_000 });

  const cpu = await client.profileWhen(key, (p) => p.samples >= sent.cpu_samples, `${sent.cpu_samples} CPU samples under ${key}`, 30_000);
  assert.equal(cpu.samples, sent.cpu_samples, 'both pids under the one workload, every sample once');
  assert.equal(cpu.periodNanos, 50_000_000);
  // The driver's python3.11 mapping carries a made-up build id: its frames stay as sent.
  assert.equal(foldedOf(cpu), `python3.11+0x2468;python3.11+0x1234;<module>;${tag}_py_loop;${tag}_py_hot ${sent.cpu_samples}`);
  const waitStack = `python3.11+0x1234;<module>;${tag}_py_wait;do_nanosleep;schedule`;
  if (offCpu) {
    const off = await offCpuWhen(client, key, (p) => p.samples >= sent.off_cpu_nanos, `${sent.off_cpu_nanos} ns off-CPU under ${key}`);
    assert.equal(off.type.key, 'off_cpu');
    assert.equal(off.type.unit, 'nanoseconds');
    assert.equal(off.samples, sent.off_cpu_nanos, 'every wait once, in nanoseconds');
    assert.equal(foldedOf(off), `${waitStack} ${sent.off_cpu_nanos}`, 'only the waits: no CPU sample in the off-CPU profile');
    assert.equal(off.cpuNanos, 0);
    assert.deepEqual(
      off.profileTypes.map((p) => [p.key, p.samples]),
      [
        ['cpu', sent.cpu_samples],
        ['off_cpu', sent.off_cpu_nanos],
      ],
    );
  }
  // The CPU profile is the same with off-CPU on or off: no wait mixed into it.
  const again = await client.profile(key);
  assert.equal(again.type.key, 'cpu');
  assert.equal(again.samples, sent.cpu_samples);
  assert.equal(foldedOf(again), `python3.11+0x2468;python3.11+0x1234;<module>;${tag}_py_loop;${tag}_py_hot ${sent.cpu_samples}`);
  assert.deepEqual(
    again.profileTypes.map((p) => p.key),
    offCpu ? ['cpu', 'off_cpu'] : ['cpu'],
    offCpu ? 'CPU and off-CPU apart' : 'off-CPU is not sent when the setting is off',
  );
  if (!offCpu) {
    const res = await fetch(`${ui.url}/api/sources/${encodeURIComponent(key)}/profile?type=off_cpu`);
    assert.equal(res.status, 400, 'no off-CPU type in the slot');
  }

  // Nothing under another key: not the profiler's own view of the process (host/Process/python3.11).
  await sleep(1500);
  const sources = (await (await fetch(`${ui.url}/api/sources`)).json()) as SourcesResponse;
  assert.deepEqual(
    sources.sources.map((s) => s.key),
    [key],
  );

  // On the wire, as the bpftrace sampler sends: service.name on the resource, the pid and
  // thread on samples, one resource for the workload; CPU, and off-CPU as a profile of its own.
  const resources = seen.requests.flatMap((r) =>
    r.resourceProfiles.map((rp) => {
      const strings = r.dictionary!.stringTable;
      const samples = rp.scopeProfiles.flatMap((sp) => sp.profiles.flatMap((p) => p.samples));
      return {
        resource: keyValues(rp.resource?.attributes, strings),
        types: rp.scopeProfiles.flatMap((sp) => sp.profiles.map((p) => `${strings[p.sampleType!.typeStrindex]}/${strings[p.sampleType!.unitStrindex]}`)),
        offCpuNanos: rp.scopeProfiles.flatMap((sp) =>
          sp.profiles.filter((p) => strings[p.sampleType!.typeStrindex] === 'off_cpu').flatMap((p) => p.samples.flatMap((s) => s.values.map(Number))),
        ),
        samples: samples.map((s) => tableAttributes(s.attributeIndices, r.dictionary!.attributeTable, strings)),
      };
    }),
  );
  assert.ok(resources.length > 0);
  for (const r of resources) {
    assert.deepEqual(r.resource, { 'host.name': hostname(), 'service.name': service });
    // A request may hold CPU samples, waits or both of a workload: each type once, CPU first.
    if (offCpu)
      assert.ok(
        ['samples/count', 'off_cpu/nanoseconds'].filter((x) => r.types.includes(x)).join() === r.types.join() && r.types.length > 0,
        JSON.stringify(r.types),
      );
    else assert.deepEqual(r.types, ['samples/count']);
    for (const s of r.samples) {
      assert.ok(s['process.pid'] === 4242 || s['process.pid'] === 4243, JSON.stringify(s));
      assert.equal(s['thread.name'], 'python3.11');
      assert.equal(s['thread.id'], undefined);
    }
  }
  assert.equal(
    resources.flatMap((r) => r.offCpuNanos).reduce((a, n) => a + n, 0),
    offCpu ? sent.off_cpu_nanos : 0,
  );
  const stats = sampler.stats();
  assert.equal(stats.samples, sent.cpu_samples);
  assert.equal(stats.offCpuNanos, offCpu ? sent.off_cpu_nanos : 0);
  if (offCpu) assert.deepEqual(stats.skippedProfiles, {});
  else assert.ok((stats.skippedProfiles['off_cpu/nanoseconds'] ?? 0) >= 1, JSON.stringify(stats.skippedProfiles));
}

/** Polls the off-CPU profile until `done` holds (a hang guard, not a speed check). */
async function offCpuWhen(client: UiClient, key: string, done: (p: ProfileResponse) => boolean, what: string, limitMs = 30_000): Promise<ProfileResponse> {
  let last = '';
  return waitFor(
    what,
    async () => {
      const res = await fetch(`${client.url}/api/sources/${encodeURIComponent(key)}/profile?type=off_cpu`);
      // 400 until the slot holds off-CPU data.
      if (res.status !== 200) {
        last = `${res.status} ${await res.text()}`;
        return undefined;
      }
      const p = (await res.json()) as ProfileResponse;
      last = `last off-CPU profile: ${p.samples}\n${foldedOf(p)}`;
      return done(p) ? p : undefined;
    },
    { timeoutMs: limitMs, intervalMs: 250, detail: () => last },
  );
}
