import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { recordingLog, standIn } from '../../../test/helpers/stand-in.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { ChildStartError } from '../supervisor.js';
import { offCpuMissing } from './preflight.js';
import { profilerArgs, profilerSupervisor } from './sampler.js';

/** What the profiler prints once it samples, and what it prints when it may not lift RLIMIT_MEMLOCK (as v0.0.202633 prints them). */
const UP = 'time=2026-12-02T13:15:10.233Z level=INFO msg="Attached sched monitor"';
const RLIMIT =
  'time=2026-12-02T13:15:10.492Z level=ERROR msg="Failed to start agent controller: failed to load eBPF tracer: failed to load eBPF code: failed to set RODATA variables: ' +
  'failed to prepare programs and maps for system analysis: failed to adjust rlimit: failed to set temporary rlimit: operation not permitted"';

const settings = { readyTimeoutMs: 10_000, restartInitialMs: 100, restartMaxMs: 400 };

/** A shell script standing in for the profiler (a real executable, started as the profiler is). */
function script(t: TestContext, body: string): { path: string; dir: string } {
  return standIn(t, 'ebpf-profiler', body);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('a first start that fails is one line saying what is missing', async (t) => {
  const { log } = recordingLog();
  const rlimit = script(t, `echo '${RLIMIT}' >&2\nexit 1`);
  const err = await profilerSupervisor(rlimit.path, [], settings, log)
    .start()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof ChildStartError);
  assert.match(err.message, /^the eBPF profiler could not lift RLIMIT_MEMLOCK \(it needs CAP_SYS_RESOURCE/);
  assert.doesNotMatch(err.message, /\n/);

  const bare = await profilerSupervisor('/bin/false', [], settings, log)
    .start()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(bare instanceof ChildStartError);
  assert.equal(bare.message, 'the eBPF profiler exited with code 1');
});

test('a profiler that dies is restarted with doubling backoff, each exit logged with its reason, and stop() leaves no process', async (t) => {
  const { log, records } = recordingLog();
  const { path, dir } = script(t, `date +%s%N >> "$(dirname "$0")/starts"\necho '${UP}' >&2\nsleep 0.2\necho '${RLIMIT}' >&2\nexit 1`);
  const sup = profilerSupervisor(path, [], settings, log);
  await sup.start();
  const restarting = (): typeof records => records.filter((r) => /; restarting in \d+ ms$/.test(r.msg));
  await waitFor('four restarts', () => restarting().length >= 4, {
    timeoutMs: 10_000,
    intervalMs: 50,
    detail: () => JSON.stringify(records.map((r) => r.msg)),
  });
  const restarts = restarting();
  assert.ok(restarts.length >= 4, `four restarts within 10 s: ${JSON.stringify(records.map((r) => r.msg))}`);
  assert.deepEqual(
    restarts.slice(0, 4).map((r) => Number(/in (\d+) ms$/.exec(r.msg)![1])),
    [100, 200, 400, 400],
    'the wait doubles from restartInitialMs up to restartMaxMs',
  );
  for (const r of restarts) assert.match(r.msg, /^the eBPF profiler could not lift RLIMIT_MEMLOCK \(it needs CAP_SYS_RESOURCE[^\n]*\); restarting in/);
  // The starts really are that far apart: each run lasts 0.2 s, then the wait.
  const starts = readFileSync(join(dir, 'starts'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(BigInt(l) / 1_000_000n));
  const gaps = starts.slice(1).map((s, i) => s - starts[i]);
  assert.ok(gaps[0] >= 290 && gaps[1] >= 390 && gaps[2] >= 590, `gaps between starts grow: ${gaps.join(', ')} ms`);
  assert.equal(sup.stats.restarts, restarting().length, 'every restart counted');

  await sup.stop();
  const count = starts.length;
  await sleep(600);
  assert.equal(readFileSync(join(dir, 'starts'), 'utf8').trim().split('\n').length, count, 'no start after stop(), though a restart was pending');
  assert.equal(sup.pid, undefined);
});

test('stop() ends a running profiler and leaves no process', async (t) => {
  const { log } = recordingLog();
  const { path, dir } = script(t, `echo $$ > "$(dirname "$0")/pid"\necho '${UP}' >&2\nexec sleep 60`);
  const sup = profilerSupervisor(path, [], settings, log);
  await sup.start();
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  assert.equal(sup.pid, pid, 'the supervised pid is the profiler itself');
  assert.ok(alive(pid));
  await sup.stop();
  assert.equal(alive(pid), false);
});

test('a profiler left behind by an agent that was killed is stopped too', async (t) => {
  if (!existsSync('/usr/bin/setpriv') && !existsSync('/bin/setpriv')) return t.skip('util-linux setpriv is not installed');
  const { path, dir } = script(t, `echo $$ > "$(dirname "$0")/pid"\necho '${UP}' >&2\nexec sleep 60`);
  const here = dirname(fileURLToPath(import.meta.url));
  const agent = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      `import('${join(here, 'sampler.ts')}').then(async (m) => { await m.profilerSupervisor(${JSON.stringify(path)}, [], { readyTimeoutMs: 10000, restartInitialMs: 100, restartMaxMs: 400 }, (await import('pino')).pino({ level: 'silent' })).start(); console.log('up'); setInterval(() => {}, 1000); })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => agent.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    agent.stdout!.on('data', (d: Buffer) => d.toString().includes('up') && resolve());
    agent.once('exit', (code) => reject(new Error(`agent exited (${code})`)));
  });
  const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  t.after(() => alive(pid) && process.kill(pid, 'SIGKILL'));
  assert.ok(alive(pid));
  agent.kill('SIGKILL');
  await waitFor('the profiler to exit after its agent died', () => !alive(pid), { timeoutMs: 5000, intervalMs: 100 });
  assert.equal(alive(pid), false, 'the profiler got SIGTERM when its agent died');
});

test("the profiler's flags are ones its pinned version defines", (t) => {
  const versions = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tools', 'peers', 'versions.env'), 'utf8');
  const version = /^EBPF_PROFILER_VERSION=(\S+)/m.exec(versions)![1];
  const source = join(
    process.env.GOMODCACHE ?? join(process.env.HOME ?? '/root', 'go', 'pkg', 'mod'),
    'go.opentelemetry.io',
    `ebpf-profiler@${version}`,
    'cli_flags.go',
  );
  if (!existsSync(source)) return t.skip(`the profiler's source is not in the Go module cache (${source}): run npm run setup`);
  const defined = new Set([...readFileSync(source, 'utf8').matchAll(/fs\.\w+Var\(&[\w.]+,\s*"([\w-]+)"/g)].map((m) => m[1]));
  const args = profilerArgs({ hz: 49, intervalMs: 2000, offCpuThreshold: 0.5 }, 4317);
  const flags = args.filter((a) => a.startsWith('-')).map((a) => a.slice(1));
  assert.deepEqual(
    flags.filter((f) => !defined.has(f)),
    [],
    `flags ${flags.join(' ')}`,
  );
  assert.deepEqual(args, [
    '-collection-agent',
    '127.0.0.1:4317',
    '-disable-tls',
    '-samples-per-second',
    '49',
    '-reporter-interval',
    '2000ms',
    '-reporter-jitter',
    '0',
    '-off-cpu-threshold',
    '0.5',
  ]);
  assert.equal(profilerArgs({ hz: 20, intervalMs: 1000, offCpuThreshold: 0 }, 1).includes('-off-cpu-threshold'), false, 'off-CPU only when asked');
});

test('off-CPU on a kernel without kprobes: one line saying so, from the start or from what the profiler printed', async (t) => {
  // What v0.0.202633 prints on such a kernel (this machine's: no kprobe PMU, no kprobe_events).
  const noKprobes =
    'time=2026-12-02T19:52:35.738Z level=ERROR msg="Failed to start agent controller: failed to start off-cpu profiling: ' +
    "failed to attach to one of 1 symbols with prefix 'finish_task_switch'\"";
  const { log } = recordingLog();
  const err = await profilerSupervisor(script(t, `echo ${JSON.stringify(noKprobes)} >&2\nexit 1`).path, [], settings, log)
    .start()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(err instanceof ChildStartError);
  assert.match(
    err.message,
    /^the eBPF profiler could not start off-CPU profiling \(it needs kprobes; turn off-CPU off with --no-off-cpu\): .*finish_task_switch/,
  );

  const sys = mkdtempSync(join(tmpdir(), 'pl-sys-'));
  t.after(() => rmSync(sys, { recursive: true, force: true }));
  assert.match(
    offCpuMissing(sys) ?? '',
    /^off-CPU profiling needs kprobes .*no .*\/bus\/event_source\/devices\/kprobe, no .*\/kernel\/tracing\/kprobe_events\)$/,
  );
  mkdirSync(join(sys, 'kernel', 'tracing'), { recursive: true });
  writeFileSync(join(sys, 'kernel', 'tracing', 'kprobe_events'), '');
  assert.equal(offCpuMissing(sys), undefined);
});
