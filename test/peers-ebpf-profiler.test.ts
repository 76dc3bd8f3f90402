import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Gateway } from '../src/gateway/gateway.js';
import { readElf, type ElfSymbols } from '../src/node/symbolize/elf.js';
import { offCpuMissing } from '../src/node/ebpf-profiler/preflight.js';
import { startUiServer } from '../src/ui/server.js';
import { BURN_C, hasCommand, hasGcc } from './burners/build.js';
import { buildFivePrograms, chainShare, javaHotMethod } from './burners/five.js';
import { startChild } from './helpers/ebpf.js';
import { ebpfProfilerBinary, ebpfReporterBinary, PEER_VERSIONS, startEbpfProfiler } from './helpers/peers.js';
import type { ProfileResponse } from '../src/api/types.js';
import { foldedOf, UiClient } from './helpers/ui-client.js';
import { CLI } from './helpers/cli.js';

const has = hasCommand;

/**
 * The real OpenTelemetry eBPF profiler as the node's sampler, into Pilotlight's gateway and UI:
 * programs in four runtimes, started WITHOUT any profiling flags (no frame pointers, no perf
 * maps, no agents), must show their hot functions by name under the workload key the README
 * promises for the eBPF profiler's resources (no service.name: the executable, host/Process/…);
 * native code built without frame pointers with its chain unwound (as addresses: straight from
 * the profiler, nothing names native frames).
 */
test('OpenTelemetry eBPF profiler -> Pilotlight gateway -> UI: Python, Java and Node.js named, frameless native code unwound', async (t) => {
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
  // Native frames go out as addresses (the profiler leaves naming them to the backend; `pilotlight
  // node` names them, the next test): checked against the executable's symbol table.
  let native: { key: string; exe: string; elf: ElfSymbols; caller: string; hot: string } | undefined;

  // Native code built without frame pointers: the profiler unwinds it from .eh_frame.
  if (hasGcc()) {
    const exe = join(dir, `${tag}-native`);
    execFileSync('gcc', ['-O2', '-fomit-frame-pointer', '-fno-inline', `-Dpl_burn_outer=${tag}_outer`, `-Dpl_burn_inner=${tag}_inner`, '-o', exe, BURN_C]);
    startChild(t, exe, ['60']);
    native = { key: `host/Process/${tag}-native`, exe: `${tag}-native`, elf: readElf(exe)!, caller: `${tag}_outer`, hot: `${tag}_inner` };
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
      `public class ${cls} {\n  static long sink;\n  ${javaHotMethod('javaHot')}\n  static void javaLoop() { long end = System.currentTimeMillis() + 60000; while (System.currentTimeMillis() < end) sink += javaHot(100000); }\n  public static void main(String[] a) { javaLoop(); }\n}\n`,
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
  if (native) await client.enable(native.key);
  await startEbpfProfiler(t, profiler, { agent: `127.0.0.1:${gw.grpc!.port}`, hz: 50, reporterInterval: '1s' });

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
  if (native) {
    const n = native;
    // Unwound from .eh_frame: the leaf's address in the hot function, its caller's in the caller.
    const inFn = (frame: string | undefined, fn: string): boolean => {
      const m = frame === undefined ? null : new RegExp(`^${n.exe}\\+0x([0-9a-f]+)$`).exec(frame);
      return m !== null && n.elf.lookup(Number.parseInt(m[1], 16))?.name === fn;
    };
    const chained = (line: string): boolean => {
      const frames = line.slice(0, line.lastIndexOf(' ')).split(';');
      return inFn(frames.at(-1), n.hot) && inFn(frames.at(-2), n.caller);
    };
    const share = (folded: string): { all: number; chained: number } => {
      let all = 0;
      let ok = 0;
      for (const line of folded.split('\n').filter(Boolean)) {
        const count = Number(line.slice(line.lastIndexOf(' ') + 1));
        all += count;
        if (chained(line)) ok += count;
      }
      return { all, chained: ok };
    };
    const profile = await client.profileWhen(n.key, (r) => share(foldedOf(r)).all >= 100, `100 samples of ${n.key}`, 90_000);
    const s = share(foldedOf(profile));
    assert.ok(
      s.chained >= 0.9 * s.all,
      `${n.key}: ${n.hot}'s address under ${n.caller}'s in ${s.chained} of ${s.all} samples:\n${foldedOf(profile).slice(0, 3000)}`,
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
test('pilotlight node, the eBPF profiler its default sampler here: Python, Java, Node.js, Go and -O2 C without frame pointers, each under its workload key with its callers', async (t) => {
  const profiler = ebpfProfilerBinary();
  if (!profiler.path) return t.skip(profiler.why);
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'pl-ebpf-node-'));
  const { client, gatewayPort } = await uiBehindGateway(t);
  const programs = buildFivePrograms(dir, tag, 90).map((p) => ({ ...p, key: `host/Service/${p.service}` }));
  for (const p of programs) startChild(t, p.cmd, p.args, { OTEL_SERVICE_NAME: p.service });
  for (const p of programs) await client.enable(p.key);
  const node = startAgent(t, profiler, gatewayPort);

  for (const p of programs) {
    const hot = p.chain[2];
    const profile = await Promise.race([
      client.profileWhen(p.key, (r) => chainShare(foldedOf(r), p.chain).hot >= 100, `100 samples of ${hot} under ${p.key}`, 120_000),
      node.exited.then((code) => assert.fail(`pilotlight node exited (${code}):\n${node.out().slice(-4000)}`)),
    ]);
    // The Go program's hot function is a frameless leaf, which the profiler's frame-pointer
    // walk of Go code passes over to the outer one: the agent puts the middle one back
    // (Symbolizer.skippedCaller), so every program's whole chain is checked.
    const share = chainShare(foldedOf(profile), p.chain);
    assert.ok(
      share.chained >= 0.9 * share.hot,
      `${p.lang}: ${p.chain.join(' → ')} in ${share.chained} of ${share.hot} samples of ${hot}:\n${foldedOf(profile).slice(0, 3000)}`,
    );
  }

  assert.match(node.out(), /"sampler":"ebpf-profiler".*"msg":"node sampler running"/, 'the default sampler where the profiler can run');
  assert.doesNotMatch(node.out(), /sampling with bpftrace/);
  node.child.kill('SIGTERM');
  assert.equal(await node.exited, 0, node.out().slice(-4000));
  assert.match(node.out(), /"msg":"node sampler stopped"/);
});

/**
 * Off-CPU with the real profiler: a C service alternates a spin (on the CPU) and a sleep (off
 * it) in functions only the test knows. The sleeping function is the off-CPU profile, not the
 * CPU one; the spinning one is the CPU profile, not the off-CPU one.
 */
test('pilotlight node --off-cpu with the eBPF profiler: where a service waits is in its off-CPU profile and not in its CPU profile', async (t) => {
  const profiler = ebpfProfilerBinary();
  if (!profiler.path) return t.skip(profiler.why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const tag = `pl${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'pl-ebpf-offcpu-'));
  const src = join(dir, 'wait.c');
  writeFileSync(
    src,
    `#include <time.h>\n#include <unistd.h>\nvolatile unsigned long sink;\n` +
      `__attribute__((noinline)) void ${tag}_spin(void) { for (unsigned long i = 0; i < 30000000; i++) sink += i * i; }\n` +
      `__attribute__((noinline)) void ${tag}_wait(void) { usleep(20000); }\n` +
      `int main(void) { time_t end = time(0) + 90; while (time(0) < end) { ${tag}_spin(); ${tag}_wait(); } return 0; }\n`,
  );
  const exe = join(dir, `${tag}-wait`);
  execFileSync('gcc', ['-O1', '-o', exe, src]);
  const service = `${tag}-wait`;
  const key = `host/Service/${service}`;
  const { client, gatewayPort } = await uiBehindGateway(t);
  startChild(t, exe, [], { OTEL_SERVICE_NAME: service });
  await client.enable(key);
  const node = startAgent(t, profiler, gatewayPort, ['--off-cpu', '--off-cpu-probability', '0.5']);

  const total = (p: ProfileResponse, fn: string): number => p.symbols.filter((x) => x.name === fn).reduce((a, x) => a + x.total, 0);
  const running = (what: Promise<ProfileResponse>): Promise<ProfileResponse> =>
    Promise.race([what, node.exited.then((code) => assert.fail(`pilotlight node exited (${code}):\n${node.out().slice(-4000)}`))]);
  const noKprobes = offCpuMissing();
  if (noKprobes) {
    // Off-CPU cannot run on this kernel: the agent says so in one line and samples CPU regardless.
    const cpu = await running(client.profileWhen(key, (p) => total(p, `${tag}_spin`) >= 50, `50 samples of ${tag}_spin on the CPU`, 90_000));
    assert.ok(total(cpu, `${tag}_spin`) >= 0.9 * cpu.samples, `${tag}_spin is on the CPU:\n${foldedOf(cpu).slice(0, 2000)}`);
    assert.match(node.out(), /"level":40,.*off-CPU profiling needs kprobes.*: sampling CPU only"/);
    assert.deepEqual(
      cpu.profileTypes.map((x) => x.key),
      ['cpu'],
    );
    return t.skip(`${noKprobes}: checked that the agent samples CPU only, and says so`);
  }
  const offCpu = await running(
    client
      .profileWhen(key, (p) => p.profileTypes.some((x) => x.key === 'off_cpu'), `off-CPU data of ${key}`, 90_000)
      .then(() =>
        client.profileWhen(key, (p) => total(p, `${tag}_wait`) > 0 && p.samples >= 1e9, `a second of ${tag}_wait off the CPU`, 60_000, '?type=off_cpu'),
      ),
  );
  const cpu = await client.profileWhen(key, (p) => total(p, `${tag}_spin`) >= 50, `50 samples of ${tag}_spin on the CPU`, 60_000);
  const offFolded = foldedOf(offCpu).slice(0, 2000);
  assert.ok(total(offCpu, `${tag}_wait`) >= 0.9 * offCpu.samples, `${tag}_wait is where it waits:\n${offFolded}`);
  assert.equal(total(offCpu, `${tag}_spin`), 0, `${tag}_spin never waits:\n${offFolded}`);
  // A CPU sample can land in the wait's few instructions before it sleeps: at most 1 %.
  assert.ok(total(cpu, `${tag}_wait`) <= 0.01 * cpu.samples, `${tag}_wait is not on the CPU:\n${foldedOf(cpu).slice(0, 2000)}`);
  assert.ok(total(cpu, `${tag}_spin`) >= 0.9 * cpu.samples, `${tag}_spin is:\n${foldedOf(cpu).slice(0, 2000)}`);
});

/** A UI behind a gateway on loopback: the client of the UI and the gateway's OTLP/gRPC port. */
async function uiBehindGateway(t: TestContext): Promise<{ client: UiClient; gatewayPort: number }> {
  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: false } });
  t.after(() => ui.close());
  const gateway = new Gateway({
    receiver: { grpc: { host: '127.0.0.1', port: 0 }, http: false },
    exporters: [{ name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}` }],
  });
  const gw = await gateway.start();
  t.after(() => gateway.stop(2000));
  return { client: new UiClient(ui.url), gatewayPort: gw.grpc!.port };
}

/** `pilotlight node` (the eBPF profiler, its default here) into the gateway at 50 Hz, flushing every second; killed when the test ends. */
function startAgent(
  t: TestContext,
  profiler: { path: string; shim?: string },
  gatewayPort: number,
  extra: string[] = [],
): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  // Under the memlock shim where the profiler needs it (ebpfProfilerBinary): the agent's child inherits it.
  const agent = [process.execPath, ...CLI];
  const [cmd, ...argv] = profiler.shim ? [profiler.shim, ...agent] : agent;
  // No --sampler: where the profiler can run, it is the default.
  const args = [
    'node',
    '--ebpf-profiler',
    profiler.path,
    '--gateway',
    `127.0.0.1:${gatewayPort}`,
    '--hz',
    '50',
    '--interval',
    '1s',
    '--log-level',
    'info',
    ...extra,
  ];
  const child = spawn(cmd, [...argv, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));
  return { child, out: () => out, exited };
}
