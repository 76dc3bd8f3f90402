import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import { aggregateRequest } from '../src/profile/aggregate.js';
import { symbolsTable } from '../src/profile/symbols.js';
import { buildCBurner, hasGcc } from './burners/build.js';
import { ebpfProfilerMissing } from '../src/node/ebpf-profiler/preflight.js';
import { ebpfUnavailable } from './helpers/ebpf.js';
import { waitFor } from './helpers/wait.js';
import { ebpfProfilerBuilt } from './helpers/peers.js';
import { nobodyUnavailable } from './helpers/nobody.js';
import { CLI } from './helpers/cli.js';

/** Waits for the sampler (a hang guard, not a speed check): bpftrace may take long to start. */
const SLOW = { timeoutMs: 90_000, intervalMs: 100 };

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(t: TestContext, args: string[], options: { uid?: number; gid?: number; env?: Record<string, string> } = {}): Run {
  const child = spawn(process.execPath, [...CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
    env: { ...process.env, ...options.env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Processes whose parent is `ppid`, with their comm. */
function childrenOf(ppid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) });
    } catch {
      // gone
    }
  }
  return out;
}

/** Running (a zombie left for a reaper does not count: it holds no probes). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A bad flag or a bad endpoint is one line on stderr, exit code 1, no stack trace. */
function assertOneLineError(r: { code: number | null }, stderr: string, pattern: RegExp): void {
  assert.equal(r.code, 1, stderr);
  assert.match(stderr, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
}

test('bad flags and settings are one clear line and a non-zero exit', async (t) => {
  // Started together: each CLI start compiles the sources through tsx.
  const hz = runCli(t, ['node', '--hz', '0', '--eager-resolves', '5']);
  const eager = runCli(t, ['node', '--eager-resolves', 'many']);
  const http = runCli(t, ['node', '--protocol', 'http', '--gateway', '127.0.0.1:4318']);
  const bt = runCli(t, ['node', '--sampler', 'bpftrace', '--bpftrace', '/nonexistent/bpftrace']);
  const off = join(mkdtempSync(join(tmpdir(), 'pl-node-')), 'pilotlight.yaml');
  writeFileSync(off, 'profiling:\n  enabled: false\n');
  const disabled = runCli(t, ['node', '--config', off]);
  const [hzExit, httpExit, btExit, offExit, eagerExit] = await Promise.all([hz.exited, http.exited, bt.exited, disabled.exited, eager.exited]);
  assertOneLineError(eagerExit, eager.stderr(), /--eager-resolves.*whole number from 0 to 100000/);
  assertOneLineError(offExit, disabled.stderr(), /profiling\.enabled: false, so the profiles pipeline is off/);
  assertOneLineError(hzExit, hz.stderr(), /--hz.*whole number from 1 to 1000/);
  assertOneLineError(httpExit, http.stderr(), /--gateway.*URL/);
  if (process.getuid?.() === 0) assertOneLineError(btExit, bt.stderr(), /bpftrace is not installed/);
  else assertOneLineError(btExit, bt.stderr(), /needs root/);
});

test('off-CPU: a bad probability is one line naming it; asked of bpftrace, one warning saying it needs the eBPF profiler', async (t) => {
  const flag = runCli(t, ['node', '--off-cpu-probability', '1.5']);
  const zero = runCli(t, ['node', '--off-cpu-probability', '0']);
  const file = join(mkdtempSync(join(tmpdir(), 'pl-node-')), 'pilotlight.yaml');
  writeFileSync(file, 'profiling:\n  enabled: true\n  node:\n    offCpu:\n      enabled: true\n      probability: 0\n');
  const fromFile = runCli(t, ['node', '--config', file]);
  // bpftrace with off-CPU on: the warning, then bpftrace's own refusal.
  const bpftrace = runCli(t, ['node', '--sampler', 'bpftrace', '--off-cpu', '--bpftrace', '/nonexistent/bpftrace']);
  const plain = runCli(t, ['node', '--sampler', 'bpftrace', '--bpftrace', '/nonexistent/bpftrace']);
  // No sampler named: the eBPF profiler where it can run here, else bpftrace after one line saying why.
  const defaulted = runCli(t, ['node', '--bpftrace', '/nonexistent/bpftrace', '--ebpf-profiler', '/nonexistent/ebpf-profiler']);
  const [f, z, ff, b, p, d] = await Promise.all([flag.exited, zero.exited, fromFile.exited, bpftrace.exited, plain.exited, defaulted.exited]);
  assertOneLineError(f, flag.stderr(), /--off-cpu-probability.*probability above 0 and at most 1, got "1\.5"/);
  assertOneLineError(z, zero.stderr(), /--off-cpu-probability.*probability above 0 and at most 1, got "0"/);
  assertOneLineError(ff, fromFile.stderr(), /profiling\.node\.offCpu\.probability/);
  const warnings = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40)
      .map((l) => l.msg);
  assert.equal(b.code, 1, bpftrace.stderr());
  assert.deepEqual(warnings(bpftrace.stdout()), [
    'off-CPU profiles (profiling.node.offCpu.enabled, --off-cpu) need the eBPF profiler (--sampler ebpf-profiler); bpftrace sends CPU profiles only',
  ]);
  assert.equal(p.code, 1, plain.stderr());
  assert.equal(d.code, 1, defaulted.stderr());
  assert.deepEqual(warnings(defaulted.stdout()), [
    'sampling with bpftrace (frame pointers only), not the default eBPF profiler: the eBPF profiler is not at /nonexistent/ebpf-profiler (--ebpf-profiler): no executable there; set profiling.node.sampler (--sampler) to choose',
  ]);
  assert.match(defaulted.stderr(), /bpftrace/, 'then bpftrace refuses, as when named');
  assert.deepEqual(warnings(plain.stdout()), [], 'no warning when off-CPU is not asked for');
});

test('--sampler ebpf-profiler: a missing profiler or a missing right is one line saying where it looked or what is missing', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'pl-peers-'));
  const notInstalled = runCli(t, ['node', '--sampler', 'ebpf-profiler'], { env: { PILOTLIGHT_PEERS_DIR: empty, PATH: '/usr/bin:/bin' } });
  const notThere = runCli(t, ['node', '--sampler', 'ebpf-profiler', '--ebpf-profiler', '/nonexistent/ebpf-profiler']);
  const bad = runCli(t, ['node', '--sampler', 'perf']);
  // The file's profiling.node.sampler picks the sampler as the flag does.
  const file = join(mkdtempSync(join(tmpdir(), 'pl-node-')), 'pilotlight.yaml');
  writeFileSync(file, 'profiling:\n  enabled: true\n  node:\n    sampler: ebpf-profiler\n');
  const fromFile = runCli(t, ['node', '--config', file], { env: { PILOTLIGHT_PEERS_DIR: empty, PATH: '/usr/bin:/bin' } });
  const [a, b, c, d] = await Promise.all([notInstalled.exited, notThere.exited, bad.exited, fromFile.exited]);
  const looked = new RegExp(
    `the OpenTelemetry eBPF profiler is not installed \\(looked for ebpf-profiler on PATH and ${empty}/ebpf-profiler-\\*/ebpf-profiler\\); build it with npm run setup \\(needs Go >= 1\\.25\\)`,
  );
  assertOneLineError(a, notInstalled.stderr(), looked);
  assertOneLineError(d, fromFile.stderr(), looked);
  assertOneLineError(b, notThere.stderr(), /the eBPF profiler is not at \/nonexistent\/ebpf-profiler \(--ebpf-profiler\)/);
  assert.equal(c.code, 1);
  assert.match(bad.stderr(), /--sampler.*Allowed choices are bpftrace, ebpf-profiler/);

  // Where the profiler is built but may not run here, the agent says what is missing before starting anything.
  const missing = ebpfProfilerMissing();
  const built = ebpfProfilerBuilt();
  if (!built.path || !missing) return t.diagnostic(`the agent's refusal is not checked here: ${built.why ?? 'the profiler can run here'}`);
  const refused = runCli(t, ['node', '--sampler', 'ebpf-profiler', '--ebpf-profiler', built.path]);
  assertOneLineError(await refused.exited, refused.stderr(), new RegExp(`^pilotlight: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
});

test('without root: one message saying root (or CAP_BPF + CAP_PERFMON) is needed, exit code 1', async (t) => {
  // Dropping to `nobody` is the honest way to be "not root" here; only root can do that.
  if (process.getuid?.() !== 0) {
    const r = runCli(t, ['node']);
    return assertOneLineError(await r.exited, r.stderr(), /needs root/);
  }
  const why = nobodyUnavailable();
  if (why) return t.skip(why);
  const r = runCli(t, ['node', '--log-level', 'silent'], { uid: 65534, gid: 65534 });
  assertOneLineError(await r.exited, r.stderr(), /needs root \(or the CAP_BPF and CAP_PERFMON capabilities\)/);
});

test('pilotlight node sends the C burner under its workload key to a gateway, and SIGTERM leaves no bpftrace behind', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');

  const requests: ExportProfilesServiceRequest[] = [];
  const receiver = new Receiver({ grpc: { host: '127.0.0.1', port: 0 }, http: false, consumer: consumerOf((b) => void requests.push(b.request)) });
  const { grpc } = await receiver.start();
  t.after(() => receiver.stop(0));

  const burner = spawn(buildCBurner(), ['60'], { stdio: 'ignore', env: { ...process.env, OTEL_SERVICE_NAME: 'pl-cli-burner' } });
  t.after(() => burner.kill('SIGKILL'));

  const KEY = 'host/Service/pl-cli-burner';
  const cli = runCli(t, [
    'node',
    '--sampler',
    'bpftrace',
    '--gateway',
    `127.0.0.1:${grpc!.port}`,
    '--hz',
    '49',
    '--interval',
    '500ms',
    '--workload',
    KEY,
    '--log-level',
    'info',
  ]);

  let hotSamples = 0;
  const otherKeys = new Set<string>();
  let seen = 0;
  const hot = (): boolean => {
    for (; seen < requests.length; seen++) {
      for (const [key, p] of aggregateRequest(requests[seen])) {
        if (key !== KEY) otherKeys.add(key);
        else hotSamples += symbolsTable(p.tree).find((r) => r.name === 'pl_burn_inner')?.self ?? 0;
      }
    }
    return hotSamples >= 20;
  };
  await Promise.race([
    waitFor('pl_burn_inner samples under host/Service/pl-cli-burner', hot, SLOW),
    cli.exited.then((r) => assert.fail(`pilotlight node exited early (${r.code}): ${cli.stderr()}`)),
  ]);
  assert.deepEqual([...otherKeys], [], 'the --workload filter lets only that workload through');

  const bpftraces = childrenOf(cli.child.pid!).filter((c) => c.comm === 'bpftrace');
  assert.equal(bpftraces.length, 1, `one bpftrace child (children: ${JSON.stringify(childrenOf(cli.child.pid!))})`);
  const bt = bpftraces[0].pid;

  cli.child.kill('SIGTERM');
  const r = await cli.exited;
  assert.equal(r.code, 0, cli.stderr());
  await waitFor('bpftrace to be gone', () => !alive(bt), { ...SLOW, timeoutMs: 10_000 });
  assert.match(cli.stdout(), /"msg":"node sampler stopped"/);
  assert.doesNotMatch(cli.stdout(), /"level":50/, 'no errors logged');
});
