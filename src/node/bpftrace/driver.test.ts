import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { recordingLog, standIn } from '../../../test/helpers/stand-in.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { BpftraceDriver, type DriverOptions } from './driver.js';
import type { RawSample } from './output.js';

// Lines as bpftrace prints them with -f json (see output.test.ts), written by a shell script standing in for it.
const ATTACHED = '{"type": "attached_probes", "data": {"probes": 2}}';
const PROCESS = '{"type": "printf", "data": "pl-proc 12 345 1 burn\\n"}';
const MAP = '{"type": "map", "data": {"@s": {"7615,7615,burn,,\\n    0x55c94bc40154\\n,0": 3}}}';
const KSYMS = '{"type": "printf", "data": "pl-ksyms _stext\\n"}';

/** A shell script standing in for bpftrace (started as bpftrace is: `exec "$0" -f json -e PROGRAM PID`); `$dir` is its directory. */
function fakeBpftrace(t: TestContext, body: string): { path: string; dir: string } {
  return standIn(t, 'bpftrace', body, `dir="$(dirname "$0")"\nout() { printf '%s\\n' "$1"; }\nerr() { printf '%s\\n' "$1" >&2; }\n`);
}

function driver(t: TestContext, bpftrace: string, log: pino.Logger, o: Partial<DriverOptions> = {}): BpftraceDriver {
  const d = new BpftraceDriver({ bpftrace, program: 'profile:hz:49 { @s[pid] = count(); }', log, onSamples: () => undefined, ...o });
  t.after(() => d.stop());
  return d;
}

const startError = (d: BpftraceDriver): Promise<unknown> =>
  d.start().then(
    () => undefined,
    (e: unknown) => e,
  );

test('bpftrace is started with the program, attaches, and its output becomes samples, process announcements and counts; stop() sends SIGINT', async (t) => {
  const { log, records } = recordingLog();
  const { path, dir } = fakeBpftrace(
    t,
    [
      'printf "%s\\n" "$@" > "$dir/args"; echo "$$ $BPFTRACE_NO_USER_SYMBOLS" > "$dir/pid"',
      'trap \'echo INT > "$dir/signal"; exit 0\' INT',
      'err "WARNING: could not raise RLIMIT_MEMLOCK"',
      `out '${ATTACHED}'`,
      'sleep 0.3',
      `out '${PROCESS}'; out '${MAP}'; out 'not json'`,
      'err "WARNING: failed to look up stack id -17 (pid 1): -14"; err "WARNING: something else"',
      'while :; do sleep 0.05; done',
    ].join('\n'),
  );
  const samples: RawSample[][] = [];
  const processes: unknown[][] = [];
  const d = driver(t, path, log, { onSamples: (s) => samples.push(s), onProcess: (...a) => processes.push(a) });
  await d.start();
  const [pid, noUserSymbols] = readFileSync(join(dir, 'pid'), 'utf8').trim().split(' ');
  assert.equal(d.pid, Number(pid), 'the pid is bpftrace itself');
  assert.equal(noUserSymbols, '1');
  assert.deepEqual(readFileSync(join(dir, 'args'), 'utf8').trim().split('\n'), ['-f', 'json', '-e', 'profile:hz:49 { @s[pid] = count(); }', pid]);
  const attached = records.find((r) => r.msg === 'bpftrace attached');
  assert.deepEqual([attached?.probes, attached?.pid], [2, Number(pid)]);

  await waitFor('the relayed warning', () => records.some((r) => r.msg === 'bpftrace'), { detail: () => JSON.stringify(records) });
  assert.deepEqual(
    samples.flat().map((s) => [s.key.pid, s.key.user, s.count]),
    [[7615, ['0x55c94bc40154'], 3]],
  );
  assert.deepEqual(processes, [[12, '345', '1', 'burn']]);
  assert.deepEqual(
    records.filter((r) => r.level === 40).map((r) => [r.msg, r.stderr ?? r.line]),
    [
      ['unparsable bpftrace output line', 'not json'],
      ['bpftrace', 'WARNING: something else'],
    ],
    'noise and lost stacks are not logged',
  );
  assert.deepEqual(d.stats, { starts: 1, restarts: 0, flushes: 1, malformedKeys: 0, invalidLines: 1, lostStacks: 1, processEvents: 1 });

  await d.stop();
  assert.equal(readFileSync(join(dir, 'signal'), 'utf8').trim(), 'INT');
});

test('a program that loads the kernel symbols is started once it says so, not when its probes attach', async (t) => {
  const { log } = recordingLog();
  const { path } = fakeBpftrace(t, `out '${ATTACHED}'\nsleep 0.4\nout '${KSYMS}'\nexec sleep 60`);
  const d = driver(t, path, log, { program: 'BEGIN { printf("pl-ksyms %s\\n", ksym(0)); }' });
  const begun = Date.now();
  await d.start();
  assert.ok(Date.now() - begun >= 350, `started after the pl-ksyms line (${Date.now() - begun} ms)`);
});

test('a bpftrace that dies is restarted with doubling backoff, each restart logged and counted; none after stop()', async (t) => {
  const { log, records } = recordingLog();
  const { path, dir } = fakeBpftrace(
    t,
    `echo x >> "$dir/starts"\nout '${ATTACHED}'\nsleep 0.1\nerr 'ERROR: one'; err 'ERROR: two'; err 'ERROR: three'; err 'ERROR: four'\nexit 1`,
  );
  const d = driver(t, path, log, { restartInitialMs: 100, restartMaxMs: 400 });
  await d.start();
  const restarting = (): typeof records => records.filter((r) => r.msg === 'bpftrace exited; restarting');
  await waitFor('four restarts', () => restarting().length >= 4, { timeoutMs: 10_000, detail: () => JSON.stringify(records) });
  const first = restarting()[0];
  assert.deepEqual([first.code, first.signal, first.restarts, first.stderr], [1, null, 1, ['ERROR: two', 'ERROR: three', 'ERROR: four']]);
  assert.deepEqual(
    restarting()
      .slice(0, 4)
      .map((r) => r.inMs),
    [100, 200, 400, 400],
  );
  await d.stop();
  const starts = readFileSync(join(dir, 'starts'), 'utf8').length;
  assert.equal(d.stats.restarts, restarting().length);
  assert.ok(d.stats.starts >= d.stats.restarts && d.stats.starts <= d.stats.restarts + 1, 'a start per restart (the last one perhaps still pending at stop())');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(readFileSync(join(dir, 'starts'), 'utf8').length, starts, 'no start after stop()');
});

test('a first start that fails is one line saying why', async (t) => {
  const { log } = recordingLog();
  const missing = join(tmpdir(), 'pl-no-such-dir', 'bpftrace');
  assert.equal(existsSync(missing), false);
  const notFound = await startError(driver(t, missing, log));
  assert.ok(notFound instanceof Error);
  assert.equal(notFound.message, `bpftrace not found (${missing}); install it (Debian: apt-get install bpftrace)`);

  const denied = fakeBpftrace(t, 'err "WARNING: could not raise RLIMIT_MEMLOCK"\nerr "Attaching 1 probe..."\nerr "ERROR: Permission denied"\nexit 1');
  const deniedErr = await startError(driver(t, denied.path, log));
  assert.ok(deniedErr instanceof Error);
  assert.equal(deniedErr.message, 'bpftrace could not attach the profiling probe: ERROR: Permission denied');

  const silent = fakeBpftrace(t, 'exit 3');
  const silentErr = await startError(driver(t, silent.path, log));
  assert.ok(silentErr instanceof Error);
  assert.equal(silentErr.message, 'bpftrace could not attach the profiling probe (exit code 3)');

  const stuck = fakeBpftrace(t, 'exec sleep 60');
  const stuckErr = await startError(driver(t, stuck.path, log, { attachTimeoutMs: 300 }));
  assert.ok(stuckErr instanceof Error);
  assert.match(stuckErr.message, /^bpftrace could not attach the profiling probe/);
});
