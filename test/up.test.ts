/**
 * `pilotlight up` as a user runs it: a child process started from the CLI entry point, read
 * through its progress lines and driven through the UI's HTTP API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProfileResponse, SourcesResponse } from '../src/api/types.js';
import { sourcePath } from '../src/api/types.js';
import { upCommand } from '../src/cli/up-command.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import { aggregateRequest } from '../src/profile/aggregate.js';
import { DEMOS, demoKey } from '../src/up/demo.js';
import { ebpfUnavailable } from './helpers/ebpf.js';
import { nobodyUnavailable } from './helpers/nobody.js';
import { waitFor } from './helpers/wait.js';

const REPO = join(import.meta.dirname, '..');
// The TypeScript sources through tsx, as bin/pilotlight.js does on a clone without dist/ (a
// stale dist/ must not decide this test).
const CLI = [process.execPath, '--import', import.meta.resolve('tsx'), join(REPO, 'src', 'cli', 'main.ts')];
const FREE_PORTS = ['--port', '0', '--gateway-grpc', '127.0.0.1:0', '--gateway-http', '127.0.0.1:0', '--ui-otlp-grpc', '127.0.0.1:0', '--ui-otlp-http', 'off'];
/** The waits here probe over HTTP: every 250 ms, through errors while a server is still starting. */
const POLL = { intervalMs: 250, retryErrors: true };

function runUp(args: string[], env: Record<string, string> = {}, user?: string): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...rest] = user ? ['setpriv', `--reuid=${user}`, `--regid=${user === 'nobody' ? 'nogroup' : user}`, '--clear-groups', ...CLI] : CLI;
  const r = spawnSync(cmd, [...rest, 'up', ...args], { cwd: tmpdir(), env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pl-up-')), 'pilotlight.yaml');
  writeFileSync(file, text);
  return file;
}

/** Every process whose environment carries the marker: `up` and all it started, at any depth. */
function processesWithMarker(marker: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (!readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(`PL_UP_TEST_MARK=${marker}`)) continue;
      out.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'latin1').replaceAll('\0', ' ').trim() });
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return out;
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

test('up --demo: the demos show up, profiling one shows its hot function, a destination gets them too, Ctrl-C leaves no process behind', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(`needs the eBPF sampler: ${why}`);
  // A destination besides the UI, as a Pyroscope or Collector would be: a real OTLP receiver.
  const atDestination = new Set<string>();
  const destination = new Receiver({
    grpc: { host: '127.0.0.1', port: 0 },
    http: false,
    consumer: consumerOf((b) => {
      for (const key of aggregateRequest(b.request).keys()) atDestination.add(key);
    }),
  });
  const { grpc } = await destination.start();
  t.after(() => destination.stop(0));
  const config = configFile(
    `profiling:\n  enabled: true\n  exporter:\n    timeout: 2s\ndestinations:\n  - type: otlp\n    name: backend\n    endpoint: 127.0.0.1:${grpc!.port}\n`,
  );
  const marker = randomUUID();
  // A folder of its own to run from, to see that nothing is left in it (no V8 isolate-*-v8.log).
  const cwd = mkdtempSync(join(tmpdir(), 'pl-up-cwd-'));
  t.after(() => rmSync(cwd, { recursive: true, force: true }));
  const child = spawn(CLI[0], [...CLI.slice(1), 'up', '--config', config, '--demo', '--sampler', 'bpftrace', ...FREE_PORTS], {
    cwd,
    env: { ...process.env, PL_UP_TEST_MARK: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.after(() => {
    // Whatever failed above, nothing of this test outlives it.
    for (const p of processesWithMarker(marker)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  const context = (): string => `\n--- stdout\n${stdout}\n--- stderr (tail)\n${stderr.slice(-2000)}`;

  const url = await waitFor(
    'the UI URL',
    () => {
      if (child.exitCode !== null) return 'exited';
      return /Pilotlight is running: open (http:\/\/\S+)/.exec(stdout)?.[1];
    },
    { timeoutMs: 90_000, ...POLL },
  ).catch((err: Error) => assert.fail(`${err.message}${context()}`));
  assert.notEqual(url, 'exited', `up exited with ${child.exitCode} before it was running${context()}`);

  // Progress named each part as it came up, the demos with their keys.
  for (const part of ['ui', 'gateway', 'node']) assert.match(stdout, new RegExp(`^ {2}${part} +up `, 'm'), context());
  for (const d of DEMOS) assert.match(stdout, new RegExp(`demo +up +${demoKey(d)} `), context());
  const children = processesWithMarker(marker).filter((p) => p.pid !== child.pid);
  assert.ok(
    children.some((p) => p.cmdline.includes('bpftrace')),
    `bpftrace runs: ${JSON.stringify(children)}`,
  );
  assert.ok(
    children.some((p) => p.cmdline.includes('shop.js')) && children.some((p) => p.cmdline.includes('demo-imaging')),
    `both demos run: ${JSON.stringify(children)}`,
  );

  for (const demo of DEMOS) {
    const key = demoKey(demo);
    // The sampler sees the demo before anyone asks for it: the source is listed.
    await waitFor(
      `${key} in /api/sources`,
      async () => {
        const { sources } = await getJson<SourcesResponse>(`${url}/api/sources`);
        return sources.find((s) => s.key === key);
      },
      { timeoutMs: 30_000, ...POLL },
    ).catch((err: Error) => assert.fail(`${err.message}${context()}`));
    await getJson(`${url}${sourcePath(key)}/profiling`, { method: 'POST' });
    const profile = await waitFor(
      `${demo.hotFunction} in ${key}'s symbols table`,
      async () => {
        const p = await getJson<ProfileResponse>(`${url}${sourcePath(key)}/profile`);
        return p.symbols.some((r) => r.name === demo.hotFunction && r.self > 0) ? p : undefined;
      },
      { timeoutMs: 30_000, ...POLL },
    ).catch((err: Error) => assert.fail(`${err.message}${context()}`));
    const hot = profile.symbols.find((r) => r.name === demo.hotFunction)!;
    // Every row of the demo's table is its own code or what it runs on, never another workload's.
    assert.ok(hot.total <= profile.samples, `${demo.hotFunction}: total ${hot.total} of ${profile.samples} samples`);
  }

  // The gateway also fanned every workload out to the destination, demos included.
  assert.match(stdout, /gateway +up +.* → ui, backend/, context());
  await waitFor('the demos at the destination', () => (DEMOS.every((d) => atDestination.has(demoKey(d))) ? true : undefined), {
    timeoutMs: 10_000,
    ...POLL,
  }).catch(() => assert.fail(`the destination got ${[...atDestination].join(', ')}${context()}`));

  child.kill('SIGINT');
  const end = await exited(child);
  assert.deepEqual(end, { code: 0, signal: null }, `up exits cleanly on SIGINT${context()}`);
  assert.match(stdout, /^ {2}ui +stopped/m, context());
  // The demos exit on SIGTERM and bpftrace on SIGINT at once; give the kernel a moment to reap.
  const left = await waitFor(
    'no process left',
    () => {
      const l = processesWithMarker(marker);
      return l.length === 0 ? l : undefined;
    },
    { timeoutMs: 5000, ...POLL },
  ).catch(() => processesWithMarker(marker));
  assert.deepEqual(left, [], 'no child of up is left running');
  assert.deepEqual(readdirSync(cwd), [], 'nothing is left in the folder up --demo ran from');
});

test('Ctrl-C while bpftrace is still starting stops what already runs and leaves nothing behind', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(`needs the eBPF sampler: ${why}`);
  // A bpftrace that takes its time to start, so the signal surely lands while up waits for it.
  const slow = join(mkdtempSync(join(tmpdir(), 'pl-up-')), 'slow-bpftrace');
  writeFileSync(slow, `#!/bin/sh\ntrap 'kill $! 2>/dev/null; exit 130' INT TERM\nsleep 60 & wait $!\nexec bpftrace "$@"\n`, { mode: 0o755 });
  const marker = randomUUID();
  const child = spawn(CLI[0], [...CLI.slice(1), 'up', '--demo', '--sampler', 'bpftrace', '--bpftrace', slow, ...FREE_PORTS], {
    cwd: tmpdir(),
    env: { ...process.env, PL_UP_TEST_MARK: marker, PILOTLIGHT_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  t.after(() => {
    for (const p of processesWithMarker(marker)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  await waitFor('the node sampler waiting for bpftrace', () => (/^ {2}node +waiting/m.test(stdout) || child.exitCode !== null ? true : undefined), {
    timeoutMs: 90_000,
    ...POLL,
  });
  assert.equal(child.exitCode, null, stdout);
  assert.ok(
    processesWithMarker(marker).some((p) => p.cmdline.includes('shop.js')),
    'the demos were running',
  );
  child.kill('SIGINT');
  assert.deepEqual(await exited(child), { code: 0, signal: null }, stdout);
  assert.doesNotMatch(stdout, /Pilotlight is running/);
  assert.match(stdout, /^ {2}ui +stopped/m, stdout);
  const left = await waitFor('no process left', () => (processesWithMarker(marker).length === 0 ? [] : undefined), { timeoutMs: 5000, ...POLL }).catch(() =>
    processesWithMarker(marker),
  );
  assert.deepEqual(left, [], 'no child of up is left running');
});

test('a port in use is one line naming the setting to change', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(`the prerequisites are checked first: ${why}`);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => busy.close());
  const port = (busy.address() as { port: number }).port;
  const r = runUp([
    '--sampler',
    'bpftrace',
    '--port',
    String(port),
    '--gateway-grpc',
    '127.0.0.1:0',
    '--gateway-http',
    '127.0.0.1:0',
    '--ui-otlp-grpc',
    '127.0.0.1:0',
    '--ui-otlp-http',
    'off',
  ]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`^pilotlight: 127\\.0\\.0\\.1:${port} is already in use; pick another port \\(profiling\\.ui\\.port / --port\\), or 0 for any free port$`, 'm'),
  );
  assert.doesNotMatch(r.stdout, /gateway/, 'nothing after the UI was started');
});

test('a config file with a bad key: one line naming the key, exit 1, nothing started', () => {
  const unknown = runUp(['--config', configFile('profiling:\n  enabled: true\n  ui:\n    maxSlot: 3\n')]);
  assert.equal(unknown.status, 1, unknown.stderr);
  assert.match(unknown.stderr, /^pilotlight: .*pilotlight\.yaml: profiling\.ui: unknown key "maxSlot"\n$/);
  assert.equal(unknown.stdout, '');
});

test('bad values and files are rejected naming the key, before anything starts', async () => {
  // In-process (the same action the CLI runs) to spare a process start per case.
  const cases: [string, RegExp][] = [
    ['profiling:\n  enabled: true\n  node:\n    hz: 5000\n', /pilotlight\.yaml: profiling\.node\.hz: /],
    ['profiling:\n  exporter:\n    timeout: soon\n', /pilotlight\.yaml: profiling\.exporter\.timeout: bad duration "soon"/],
    ['destinations:\n  - type: pyroscope\n    url: not a url\n', /pilotlight\.yaml: destinations\[0\]\.url: /],
    ['profiling:\n  enabled: true\n  ui:\n    otlp:\n      grpc: {port: 99999}\n', /profiling\.ui\.otlp\.grpc\.port: /],
  ];
  for (const [text, message] of cases) {
    await assert.rejects(
      upCommand()
        .exitOverride()
        .parseAsync(['--config', configFile(text)], { from: 'user' }),
      message,
      text,
    );
  }
  await assert.rejects(
    upCommand().exitOverride().parseAsync(['--config', '/nonexistent/pilotlight.yaml'], { from: 'user' }),
    /\/nonexistent\/pilotlight\.yaml: ENOENT/,
  );
  await assert.rejects(
    upCommand().exitOverride().parseAsync(['--ui-otlp-grpc', 'off', '--ui-otlp-http', 'off'], { from: 'user' }),
    /profiling\.ui\.otlp: both receivers are off/,
  );
  await assert.rejects(
    upCommand().exitOverride().parseAsync(['--interval', '10ms'], { from: 'user' }),
    /profiling\.node\.interval: must be between 100ms and 60s/,
  );
  process.env.PROFILES_MAX_SLOTS = 'lots';
  try {
    await assert.rejects(upCommand().exitOverride().parseAsync(['--no-profiling'], { from: 'user' }), /PROFILES_MAX_SLOTS="lots": must be a whole number/);
  } finally {
    delete process.env.PROFILES_MAX_SLOTS;
  }
});

test('profiling.enabled: false runs nothing and says so; a flag turns it on or off', async () => {
  const off = runUp(['--config', configFile('profiling:\n  enabled: false\n')]);
  assert.equal(off.status, 0, off.stderr);
  assert.match(off.stdout, /profiling is disabled \(profiling\.enabled in .*pilotlight\.yaml\): nothing to run/);
  assert.doesNotMatch(off.stdout, /starting/);

  let printed = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
  try {
    await upCommand().parseAsync(['--no-profiling'], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  assert.match(printed, /profiling is disabled \(--no-profiling\): nothing to run/);
});

test('profiling.node.sampler: ebpf-profiler runs the eBPF profiler, or says in one line what it lacks', async (t) => {
  const config = configFile('profiling:\n  enabled: true\n  node:\n    sampler: ebpf-profiler\n');
  const missing = process.getuid?.() === 0 ? (await import('../src/node/ebpf-profiler/preflight.js')).ebpfProfilerMissing() : 'not root';
  if (!missing) return t.skip('the eBPF profiler can run here: the live tests (test/peers-ebpf-profiler.test.ts) cover up with it');
  const r = runUp(['--config', config, ...FREE_PORTS]);
  assert.equal(r.status, 1, r.stderr);
  // The profiler's reason, not bpftrace's: the setting decides what up checks and starts.
  assert.match(r.stderr, /^pilotlight: .*eBPF profiler.*Fix: see the message, or set profiling\.node\.sampler: bpftrace\n$/s);
  assert.doesNotMatch(r.stdout, /starting/, 'nothing started');
});

test('a missing prerequisite is one message with its fix, before anything starts', (t) => {
  const noBpftrace = runUp(['--sampler', 'bpftrace', '--bpftrace', '/nonexistent/bpftrace', ...FREE_PORTS]);
  if (process.getuid?.() === 0) {
    assert.equal(noBpftrace.status, 1, noBpftrace.stderr);
    assert.equal(
      noBpftrace.stderr,
      'pilotlight: bpftrace was not found at /nonexistent/bpftrace. Fix: sudo apt-get install bpftrace (or: sudo npm run setup), or pass --bpftrace PATH\n',
    );
    assert.doesNotMatch(noBpftrace.stdout, /starting/, 'nothing started');
  }
  // The same as an ordinary user: no root, so both problems and both fixes in one message.
  const why = nobodyUnavailable();
  if (why) return t.skip(why);
  const asNobody = runUp(['--sampler', 'bpftrace', '--bpftrace', '/nonexistent/bpftrace', ...FREE_PORTS], {}, 'nobody');
  if (/setpriv: /.test(asNobody.stderr)) return t.skip(`cannot switch to nobody: ${asNobody.stderr.trim()}`);
  assert.equal(asNobody.status, 1, asNobody.stderr);
  assert.match(asNobody.stderr, /^pilotlight: the node sampler cannot start:\n/);
  assert.match(asNobody.stderr, /needs root .*Fix: run as root: sudo npm start\n/);
  assert.match(asNobody.stderr, /bpftrace was not found at \/nonexistent\/bpftrace\. Fix: /);
});
