import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Gateway } from '../src/gateway/gateway.js';
import { startUiServer } from '../src/ui/server.js';
import { BURN_C, hasCommand, hasGcc } from './burners/build.js';
import { buildFivePrograms, chainShare } from './burners/five.js';
import { startChild } from './helpers/ebpf.js';
import { ebpfProfilerBinary, ebpfReporterBinary, PEER_VERSIONS, startEbpfProfiler } from './helpers/peers.js';
import { foldedOf, UiClient } from './helpers/ui-client.js';
import { CLI } from './helpers/cli.js';

const has = hasCommand;

/**
 * The real OpenTelemetry eBPF profiler as the node's sampler, into Pilotlight's gateway and UI:
 * programs in four runtimes, started WITHOUT any profiling flags (no frame pointers, no perf
 * maps, no agents), must show their hot functions by name under the workload key the README
 * promises for the eBPF profiler's resources (no service.name: the executable, host/Process/…).
 */
test('OpenTelemetry eBPF profiler -> Pilotlight gateway -> UI: Python, Java, Node.js and frameless native code named', async (t) => {
  const profiler = ebpfProfilerBinary();
  if (!profiler.path) return t.skip(profiler.why);
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'pl-ebpf-peer-'));

  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: false } });
  t.after(() => ui.close());
  const client = new UiClient(ui.url);
  const gateway = new Gateway({
    receiver: { grpc: { host: '127.0.0.1', port: 0 }, http: false },
    exporters: [{ name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}` }],
  });
  const gw = await gateway.start();
  t.after(() => gateway.stop(2000));

  // Each program: its workload key and the hot function (and caller) a person must see.
  const programs: { key: string; caller: string; hot: string }[] = [];

  // Native code built without frame pointers: the profiler unwinds it from .eh_frame.
  if (hasGcc()) {
    const exe = join(dir, `${tag}-native`);
    execFileSync('gcc', ['-O2', '-fomit-frame-pointer', '-fno-inline', `-Dpl_burn_outer=${tag}_outer`, `-Dpl_burn_inner=${tag}_inner`, '-o', exe, BURN_C]);
    startChild(t, exe, ['60']);
    programs.push({ key: `host/Process/${tag}-native`, caller: `${tag}_outer`, hot: `${tag}_inner` });
  }
  const python = ['python3.11'].find((p) => has(p));
  if (python) {
    const script = join(dir, 'hot.py');
    writeFileSync(
      script,
      `import time\ndef ${tag}_py_hot(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return s\ndef ${tag}_py_loop():\n    end = time.time() + 60\n    while time.time() < end:\n        ${tag}_py_hot(100000)\n${tag}_py_loop()\n`,
    );
    startChild(t, python, [script]);
    programs.push({ key: `host/Process/${python}`, caller: `${tag}_py_loop`, hot: `${tag}_py_hot` });
  }
  if (has('javac', ['-version']) && has('java', ['-version'])) {
    const cls = `PlHot${tag}`;
    writeFileSync(
      join(dir, `${cls}.java`),
      `public class ${cls} {\n  static long sink;\n  static long javaHot(int n) { long s = 0; for (int i = 0; i < n; i++) s += (long) i * i ^ (s >>> 3); return s; }\n  static void javaLoop() { long end = System.currentTimeMillis() + 60000; while (System.currentTimeMillis() < end) sink += javaHot(100000); }\n  public static void main(String[] a) { javaLoop(); }\n}\n`,
    );
    execFileSync('javac', ['-d', dir, join(dir, `${cls}.java`)]);
    startChild(t, 'java', ['-cp', dir, cls]);
    programs.push({ key: 'host/Process/java', caller: 'javaLoop', hot: 'javaHot' });
  }
  const js = join(dir, 'hot.js');
  writeFileSync(
    js,
    `function ${tag}JsHot(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * i) % 7; return s; }\nfunction ${tag}JsLoop() { const end = Date.now() + 60000; let s = 0; while (Date.now() < end) s += ${tag}JsHot(100000); return s; }\n${tag}JsLoop();\n`,
  );
  startChild(t, process.execPath, [js]);
  programs.push({ key: 'host/Process/node', caller: `${tag}JsLoop`, hot: `${tag}JsHot` });

  for (const p of programs) await client.enable(p.key);
  await startEbpfProfiler(t, profiler.path, { agent: `127.0.0.1:${gw.grpc!.port}`, hz: 20, reporterInterval: '1s' });

  for (const p of programs) {
    const profile = await client.profileWhen(
      p.key,
      (r) => r.symbols.some((s) => s.name.includes(p.hot) && s.self > 0),
      `${p.hot} named in ${p.key} (eBPF profiler ${PEER_VERSIONS.EBPF_PROFILER_VERSION})`,
      90_000,
    );
    const folded = foldedOf(profile);
    const chain = folded.split('\n').find((l) => l.includes(p.hot));
    assert.ok(
      chain && chain.indexOf(p.caller) >= 0 && chain.indexOf(p.caller) < chain.indexOf(p.hot),
      `${p.key}: ${p.caller} above ${p.hot}, root first:\n${folded.slice(0, 3000)}`,
    );
  }
});

/**
 * What the eBPF profiler's exporter writes, byte for byte, where the profiler itself cannot run:
 * its own OTLP reporter (tools/peers/ebpf-profiler/reporter) sends the traces a Python process
 * yields, CPU samples (timestamps only) and off-CPU waits (values in nanoseconds) in one scope,
 * one resource per process with process.pid on it.
 */
test("the eBPF profiler's own OTLP reporter -> gateway -> UI: one workload for two pids, CPU and off-CPU apart, Python names, address-only native frames kept", async (t) => {
  const driver = ebpfReporterBinary();
  if (!driver.path) return t.skip(driver.why);
  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: false } });
  t.after(() => ui.close());
  const client = new UiClient(ui.url);
  const gateway = new Gateway({
    receiver: { grpc: { host: '127.0.0.1', port: 0 }, http: false },
    exporters: [{ name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}` }],
  });
  const gw = await gateway.start();
  t.after(() => gateway.stop(2000));
  const key = 'host/Process/python3.11';
  await client.enable(key);
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const { stdout } = await promisify(execFile)(driver.path, ['-agent', `127.0.0.1:${gw.grpc!.port}`, '-tag', tag], { timeout: 60_000 });
  const sent = JSON.parse(stdout) as { cpu_samples: number; off_cpu_nanos: number };
  assert.deepEqual(sent, { cpu_samples: 40, off_cpu_nanos: 10_000_000 });

  const cpu = await client.profileWhen(key, (p) => p.samples >= sent.cpu_samples, `${sent.cpu_samples} CPU samples`, 30_000);
  assert.equal(cpu.samples, sent.cpu_samples, 'both pids under one workload, every sample once');
  assert.equal(cpu.periodNanos, 50_000_000, '20 samples per second');
  assert.equal(cpu.cpuNanos, sent.cpu_samples * 50_000_000);
  const folded = foldedOf(cpu);
  assert.equal(
    folded,
    `python3.11+0x2468;python3.11+0x1234;<module>;${tag}_py_loop;${tag}_py_hot ${sent.cpu_samples}`,
    'root first; the interpreter frames by binary and offset',
  );
  const hot = cpu.symbols.find((s) => s.name === `${tag}_py_hot`)!;
  assert.equal(hot.kind, 'cpython');
  assert.equal(hot.file, '/srv/hot.py');
  assert.deepEqual(
    cpu.profileTypes.map((p) => p.key),
    ['cpu', 'off_cpu'],
  );

  const off = await client.profile(key, '?type=off_cpu');
  assert.equal(off.type.key, 'off_cpu');
  assert.equal(off.samples, sent.off_cpu_nanos, 'off-CPU time is the sum of the values');
  assert.equal(foldedOf(off), `python3.11+0x1234;<module>;${tag}_py_wait;do_nanosleep;schedule ${sent.off_cpu_nanos}`);
});

/**
 * `pilotlight node --sampler ebpf-profiler`, live: the node agent starts the real profiler,
 * attributes what it sends and exports it through a real gateway to a real UI. Five programs
 * (test/burners/five.ts, which bench/stacks.bench.ts measures too) started WITHOUT any profiling flags, each as a service: the hot function by name under the
 * service's key, with its two callers above it in at least 90 % of its samples.
 */
test('pilotlight node --sampler ebpf-profiler: Python, Java, Node.js, Go and -O2 C without frame pointers, each under its workload key with its callers', async (t) => {
  const profiler = ebpfProfilerBinary();
  if (!profiler.path) return t.skip(profiler.why);
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'pl-ebpf-node-'));
  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: false } });
  t.after(() => ui.close());
  const client = new UiClient(ui.url);
  const gateway = new Gateway({
    receiver: { grpc: { host: '127.0.0.1', port: 0 }, http: false },
    exporters: [{ name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}` }],
  });
  const gw = await gateway.start();
  t.after(() => gateway.stop(2000));

  const programs = buildFivePrograms(dir, tag, 90).map((p) => ({ ...p, key: `host/Service/${p.service}` }));
  for (const p of programs) startChild(t, p.cmd, p.args, { OTEL_SERVICE_NAME: p.service });
  for (const p of programs) await client.enable(p.key);

  const node = spawn(
    process.execPath,
    [
      ...CLI,
      'node',
      '--sampler',
      'ebpf-profiler',
      '--ebpf-profiler',
      profiler.path,
      '--gateway',
      `127.0.0.1:${gw.grpc!.port}`,
      '--hz',
      '20',
      '--interval',
      '1s',
      '--log-level',
      'info',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  node.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  node.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => node.once('exit', (code) => resolve(code)));
  t.after(() => node.kill('SIGKILL'));

  for (const p of programs) {
    const hot = p.chain[2];
    const profile = await Promise.race([
      client.profileWhen(p.key, (r) => chainShare(foldedOf(r), p.chain).hot >= 100, `100 samples of ${hot} under ${p.key}`, 120_000),
      exited.then((code) => assert.fail(`pilotlight node exited (${code}):\n${out.slice(-4000)}`)),
    ]);
    const share = chainShare(foldedOf(profile), p.chain);
    assert.ok(
      share.chained >= 0.9 * share.hot,
      `${p.lang}: ${p.chain.join(' → ')} in ${share.chained} of ${share.hot} samples of ${hot}:\n${foldedOf(profile).slice(0, 3000)}`,
    );
  }

  node.kill('SIGTERM');
  assert.equal(await exited, 0, out.slice(-4000));
  assert.match(out, /"msg":"node sampler stopped"/);
});
