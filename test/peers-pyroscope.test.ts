import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { configSchema } from '../src/config/schema.js';
import { Gateway } from '../src/gateway/gateway.js';
import { gatewayPlan } from '../src/gateway/plan.js';
import { RequestAssembler, type ResolvedSample } from '../src/node/assemble.js';
import { PROTOBUF_CONTENT_TYPE } from '../src/otlp/codec.js';
import { startUiServer } from '../src/ui/server.js';
import { buildCBurner, hasGcc } from './burners/build.js';
import { ebpfUnavailable, startChild } from './helpers/ebpf.js';
import { ebpfReporterBinary, pyroscopeBinary, startPyroscope } from './helpers/peers.js';
import { foldedText, PyroscopeClient, type MergedProfile } from './helpers/pyroscope.js';
import { foldedOf, samplesThrough, UiClient } from './helpers/ui-client.js';
import { waitFor } from './helpers/wait.js';
import { CLI } from './helpers/cli.js';

const PERIOD = 50_000_000; // 20 Hz

/** Pyroscope, the UI, and a gateway fanning out to both as pilotlight.yaml would set it up. */
async function pipeline(t: TestContext, pyroscopePath: string) {
  const pyroscope = await startPyroscope(t, pyroscopePath);
  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: false } });
  t.after(() => ui.close());
  const config = configSchema.parse({ profiling: { enabled: true }, destinations: [{ type: 'pyroscope', url: pyroscope.url }] });
  const plan = gatewayPlan(config, {
    grpc: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    uiEndpoint: `127.0.0.1:${ui.otlp.grpc!.port}`,
    uiProtocol: 'grpc',
    uiApi: false,
  });
  const gateway = new Gateway(plan);
  const addrs = await gateway.start();
  t.after(() => gateway.stop(2000));
  return {
    pyroscope: new PyroscopeClient(pyroscope.url),
    ui: new UiClient(ui.url),
    gateway,
    gatewayUrl: `http://127.0.0.1:${addrs.http!.port}`,
    gatewayGrpc: `127.0.0.1:${addrs.grpc!.port}`,
  };
}

/** Polls Pyroscope until the merged profile has `want` (or stops growing past the limit). */
async function settled(
  client: PyroscopeClient,
  selector: string,
  fromMs: number,
  want: (p: MergedProfile) => boolean,
  limitMs = 60_000,
  profileType?: string,
): Promise<MergedProfile> {
  let last: MergedProfile = { stacks: new Map(), total: 0 };
  return waitFor(
    `Pyroscope to have what was sent for ${selector}`,
    async () => {
      last = await client.mergedProfile(selector, fromMs, Date.now() + 60_000, profileType);
      return want(last) ? last : undefined;
    },
    { timeoutMs: limitMs, intervalMs: 500, detail: () => `total ${last.total}\n${foldedText(last.stacks)}` },
  );
}

test('pilotlight node -> gateway -> real Grafana Pyroscope: the burner under its service_name, root first, as many samples as the UI shows, one series', async (t) => {
  const pyroscopePath = pyroscopeBinary();
  if (!pyroscopePath.path) return t.skip(pyroscopePath.why);
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed (the test burner is C)');

  const { pyroscope, ui, gateway, gatewayUrl } = await pipeline(t, pyroscopePath.path);
  // A process without a service name of its own: its executable's name is its workload's.
  const tag = `plp${randomBytes(3).toString('hex')}`;
  const built = buildCBurner([`-Dpl_burn_outer=${tag}_outer`, `-Dpl_burn_inner=${tag}_inner`]);
  const exe = join(dirname(built), tag);
  copyFileSync(built, exe);
  const key = `host/Process/${tag}`;
  await ui.enable(key);
  const from = Date.now() - 60_000;
  const burner = startChild(t, exe, ['60']);
  const node = startChild(t, process.execPath, [
    ...CLI,
    'node',
    '--sampler',
    'bpftrace',
    '--pid',
    String(burner.pid),
    '--gateway',
    gatewayUrl,
    '--interval',
    '500ms',
  ]);
  await ui.profileWhen(key, (p) => p.samples >= 80, '80 samples of the burner in the UI', 60_000);
  node.kill('SIGTERM');
  await new Promise((r) => node.once('exit', r));
  await Promise.all(gateway.exporters.map((e) => e.idle()));

  const shown = await ui.profile(key);
  const selector = `{service_name="${tag}"}`;
  const stored = await settled(pyroscope, selector, from, (p) => p.total >= shown.samples * PERIOD);
  const storedSamples = stored.total / PERIOD;
  t.diagnostic(`samples: UI ${shown.samples}, Pyroscope ${storedSamples} (process_cpu ${stored.total} ns / ${PERIOD} ns period)`);
  // Both got the same requests from the fan-out: equal, not merely close.
  assert.equal(storedSamples, shown.samples, `Pyroscope and the UI count the same samples:\n${foldedText(stored.stacks)}`);

  const chain = `main;${tag}_outer;${tag}_inner`;
  const through = [...stored.stacks].filter(([s]) => s.includes(chain)).reduce((n, [, v]) => n + v, 0) / PERIOD;
  assert.ok(
    through >= storedSamples * 0.8,
    `the burner's stack, root first, caller before callee (${through}/${storedSamples}):\n${foldedText(stored.stacks)}`,
  );
  assert.equal(through, samplesThrough(shown, chain), `the same stack counts in the UI:\n${foldedOf(shown)}`);

  const series = await pyroscope.series([selector], from, Date.now() + 60_000);
  t.diagnostic(`series for ${selector}: ${series.length} (${JSON.stringify(series)})`);
  assert.equal(series.length, 1, 'no series per pid or thread: the Pyroscope destination drops them');
  assert.equal(series[0]['process.pid'], undefined);
  assert.equal(series[0]['thread.name'], undefined);
  assert.equal(series[0]['host.name'], hostname(), 'workload-level attributes stay labels');
});

test('a Kubernetes Deployment lands in Pyroscope under its own service_name, with or without a service.name from the sender', async (t) => {
  const pyroscopePath = pyroscopeBinary();
  if (!pyroscopePath.path) return t.skip(pyroscopePath.why);
  const { pyroscope, ui, gatewayUrl } = await pipeline(t, pyroscopePath.path);
  const tag = randomBytes(3).toString('hex');
  const from = Date.now() - 60_000;
  // As the node sampler sends a pod's process of a Deployment (service.name filled by it), and
  // as a sender that leaves service.name to the pipeline does (the eBPF profiler with the
  // Collector's k8sattributes processor).
  const deployments = [
    { name: `checkout-${tag}`, sampler: true },
    { name: `ledger-${tag}`, sampler: false },
  ];
  const asm = new RequestAssembler({ hz: 20, windowStartMs: Date.now() - 1000, windowEndMs: Date.now() });
  for (const d of deployments) {
    const resource: ResolvedSample['resource'] = {
      'host.name': 'node-1',
      'k8s.namespace.name': 'shop',
      'k8s.node.name': 'node-1',
      'k8s.deployment.name': d.name,
    };
    if (d.sampler) resource['service.name'] = d.name;
    for (const pid of [101, 102, 103]) {
      const attributes = {
        'k8s.pod.name': `${d.name}-7d9f-${pid}`,
        'container.id': `${pid}`.repeat(16),
        'process.pid': pid,
        'thread.name': `worker-${pid}`,
        'process.executable.name': 'server',
      };
      asm.add({
        resource,
        attributes,
        count: 5,
        frames: [
          { name: `${d.name}_hot`, kind: 'native' },
          { name: 'main', kind: 'native' },
        ],
      });
    }
    await ui.enable(`shop/Deployment/${d.name}`);
  }
  const res = await fetch(`${gatewayUrl}/v1development/profiles`, {
    method: 'POST',
    headers: { 'content-type': PROTOBUF_CONTENT_TYPE },
    body: Buffer.from(asm.encode().bytes),
  });
  assert.equal(res.status, 200, await res.text());

  for (const d of deployments) {
    const selector = `{service_name="${d.name}"}`;
    const stored = await settled(pyroscope, selector, from, (p) => p.total >= 15 * PERIOD);
    assert.equal(stored.total, 15 * PERIOD, `${d.name}: 3 pods × 5 samples`);
    assert.deepEqual([...stored.stacks.keys()], [`main;${d.name}_hot`]);
    const series = await pyroscope.series([selector], from, Date.now() + 60_000);
    t.diagnostic(`${selector}: ${series.length} series ${JSON.stringify(series)}`);
    assert.equal(series.length, 1, 'one series for the Deployment, not one per pod, container, pid or thread');
    assert.equal(series[0]['k8s.namespace.name'], 'shop', 'the namespace is a label Pyroscope shows');
    assert.equal(series[0]['k8s.deployment.name'], d.name);
    const p = await ui.profile(`shop/Deployment/${d.name}`);
    assert.equal(p.samples, 15);
  }
  const unknown = await pyroscope.series(['{service_name=~"unknown_service.*"}'], from, Date.now() + 60_000);
  assert.deepEqual(unknown, [], 'nothing under unknown_service');
});

test("the eBPF profiler's requests -> gateway -> Pyroscope: service_name from the workload, one series per profile type for two pids, CPU and off-CPU", async (t) => {
  const pyroscopePath = pyroscopeBinary();
  if (!pyroscopePath.path) return t.skip(pyroscopePath.why);
  const driver = ebpfReporterBinary();
  if (!driver.path) return t.skip(driver.why);
  const { pyroscope, gatewayGrpc } = await pipeline(t, pyroscopePath.path);
  const from = Date.now() - 60_000;
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const { stdout } = await promisify(execFile)(driver.path, ['-agent', gatewayGrpc, '-tag', tag], { timeout: 60_000 });
  const sent = JSON.parse(stdout) as { cpu_samples: number; off_cpu_nanos: number };

  // The profiler names no service: the gateway gives Pyroscope the workload's, the executable.
  const selector = '{service_name="python3.11"}';
  const cpu = await settled(pyroscope, selector, from, (p) => p.total >= sent.cpu_samples * PERIOD);
  assert.equal(cpu.total, sent.cpu_samples * PERIOD);
  assert.ok([...cpu.stacks.keys()][0].endsWith(`<module>;${tag}_py_loop;${tag}_py_hot`), foldedText(cpu.stacks));
  const series = await pyroscope.series([selector], from, Date.now() + 60_000);
  t.diagnostic(`${selector}: ${series.length} series ${JSON.stringify(series)}`);
  const types = series.map((s) => s.__profile_type__).sort();
  assert.equal(types.length, 2, 'one series per profile type: no pid, thread or CPU labels');
  const offType = types.find((ty) => ty.startsWith('off_cpu'))!;
  assert.ok(offType, `an off-CPU series: ${types.join(', ')}`);
  const off = await settled(pyroscope, selector, from, (p) => p.total >= sent.off_cpu_nanos, 30_000, offType);
  assert.equal(off.total, sent.off_cpu_nanos);
  assert.ok([...off.stacks.keys()][0].endsWith(`${tag}_py_wait;do_nanosleep;schedule`), foldedText(off.stacks));

  // The same requests straight into Pyroscope, as a baseline: no service name, a series per pid,
  // thread and CPU.
  await promisify(execFile)(driver.path, ['-agent', pyroscope.url.replace('http://', ''), '-tag', tag], { timeout: 60_000 });
  const rawSelector = '{service_name="unknown_service:python3.11"}';
  await settled(pyroscope, rawSelector, from, (p) => p.total >= sent.cpu_samples * PERIOD);
  const raw = await pyroscope.series([rawSelector], from, Date.now() + 60_000);
  t.diagnostic(
    `straight from the profiler's reporter: ${raw.length} series under unknown_service:python3.11; through the gateway: ${series.length} under python3.11`,
  );
  assert.ok(raw.length > series.length, `${raw.length} series straight vs ${series.length} through the gateway`);
});
