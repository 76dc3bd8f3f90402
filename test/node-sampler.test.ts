import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { test } from 'node:test';
import { NodeSampler } from '../src/node/sampler.js';
import type { WorkloadProfile } from '../src/profile/aggregate.js';
import { foldedStacks } from '../src/profile/folded.js';
import { symbolsTable, type SymbolRow } from '../src/profile/symbols.js';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { tableAttributes } from '../src/otlp/attributes.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { BURN_JS, NODE_PERF_FLAGS, buildCBurner, buildCLeafBurner, buildGoLeafBurner, goBinary, hasCxxFilt, hasGcc } from './burners/build.js';
import { collectingConsumer, ebpfUnavailable, profilesByWorkload, quietLog, sleep, startChild } from './helpers/ebpf.js';
import { cpuSecondsOf } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const HZ = 20;
const SECONDS = 4;
/** Waits for the sampler (a hang guard, not a speed check): bpftrace may take long to start. */
const SLOW = { timeoutMs: 90_000, intervalMs: 100 };

/** Every `process.pid` sample attribute in the requests. */
function sampledPids(requests: ExportProfilesServiceRequest[]): Set<number> {
  const pids = new Set<number>();
  for (const req of requests) {
    const d = req.dictionary!;
    for (const rp of req.resourceProfiles)
      for (const sp of rp.scopeProfiles)
        for (const p of sp.profiles)
          for (const s of p.samples) pids.add(Number(tableAttributes(s.attributeIndices, d.attributeTable, d.stringTable)['process.pid']));
  }
  return pids;
}

/**
 * The JS burner's hot function (test/burners/burn.js) among `rows`, asserted named (`how`: from
 * where; else the top symbols are listed) and a JIT-compiled JS frame.
 */
function plBurnHot(rows: SymbolRow[], how = ''): SymbolRow {
  const hot = rows.find((r) => r.name === 'plBurnHot');
  assert.ok(
    hot,
    `plBurnHot named${how}; top symbols: ${rows
      .slice(0, 8)
      .map((r) => `${r.name}(${r.self})`)
      .join(', ')}`,
  );
  assert.equal(hot.kind, 'v8js');
  return hot;
}

test('samples every process with eBPF and names C and JIT-compiled JS hot functions under their workloads', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const cBurner = buildCBurner();
  const cChild = startChild(t, cBurner, ['30'], { OTEL_SERVICE_NAME: 'pl-c-burner' });
  const jsChild = startChild(t, process.execPath, [...NODE_PERF_FLAGS, BURN_JS, '30'], { OTEL_SERVICE_NAME: 'pl-js-burner' });
  await sleep(500); // let node compile plBurnHot before sampling starts

  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: HZ, intervalMs: 1000, kubernetes: 'off' }, consumer, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();
  const cpu0 = [cpuSecondsOf(cChild.pid!), cpuSecondsOf(jsChild.pid!)];
  const bpftracePid = sampler.bpftracePid;
  await sleep(SECONDS * 1000);
  const cpu = [cpuSecondsOf(cChild.pid!) - cpu0[0], cpuSecondsOf(jsChild.pid!) - cpu0[1]];
  await sampler.stop();

  assert.ok(requests.length >= SECONDS - 1, `one request per flush (got ${requests.length})`);
  const profiles = profilesByWorkload(requests);
  const c = profiles.get('host/Service/pl-c-burner');
  const js = profiles.get('host/Service/pl-js-burner');
  assert.ok(c, `C burner workload present among ${[...profiles.keys()].join(', ')}`);
  assert.ok(js, 'JS burner workload present');

  // A busy thread gets ≈ hz samples per second of CPU it gets (on a shared machine that is
  // less than the wall time): compare with the CPU time the kernel charged each burner.
  for (const [i, p] of [c, js].entries()) {
    const expected = HZ * cpu[i];
    assert.ok(
      p.samples >= expected * 0.5 - 3 && p.samples <= expected * 1.5 + HZ,
      `${p.workload.key}: ${p.samples} samples for ${cpu[i].toFixed(2)} s of CPU at ${HZ} Hz`,
    );
  }

  const cFolded = foldedStacks(c.tree);
  assert.match(cFolded, /main;pl_burn_outer;pl_burn_inner \d+/, cFolded);
  const cRows = symbolsTable(c.tree);
  const inner = cRows.find((r) => r.name === 'pl_burn_inner')!;
  assert.ok(inner.self >= c.samples * 0.5, `pl_burn_inner is the hot leaf (${inner.self}/${c.samples})`);
  assert.equal(inner.kind, 'native');

  const jsRows = symbolsTable(js.tree);
  const hot = plBurnHot(jsRows);
  assert.match(hot.file, /burn\.js$/);
  assert.ok(hot.total >= js.samples * 0.5, `plBurnHot on most JS stacks (${hot.total}/${js.samples})`);
  assert.match(foldedStacks(js.tree), /plBurnLoop;plBurnHot/);
  // Node's own C++ frames under the JS ones read as code, not as manglings (with binutils).
  if (hasCxxFilt()) {
    assert.deepEqual(
      jsRows.filter((r) => /^_Z/.test(r.name)).map((r) => r.name),
      [],
      'no mangled names left',
    );
    assert.ok(
      jsRows.some((r) => /^(node|v8)::/.test(r.name)),
      `demangled node:: or v8:: frames; got ${jsRows.map((r) => r.name).join(', ')}`,
    );
  }

  const pids = sampledPids(requests);
  assert.ok(!pids.has(process.pid), 'the sampler does not sample itself');
  assert.ok(bpftracePid && !pids.has(bpftracePid), 'nor its bpftrace');

  // pid and thread name ride on samples; the workload's resource carries service.name.
  assert.equal(c.resource['service.name'], 'pl-c-burner');
  const stats = sampler.stats();
  assert.equal(stats.bpftrace.restarts, 0);
  assert.equal(stats.bpftrace.malformedKeys, 0);
});

/**
 * Of the samples in `hot` (a leaf: any frames above it are the kernel's), the share whose
 * stack holds `chain` (root first, ending in `hot`) as consecutive frames.
 */
function chainShare(p: WorkloadProfile, chain: string[]): { share: number; hot: number; stacks: string } {
  const hot = chain[chain.length - 1];
  let leafSamples = 0;
  let complete = 0;
  const lines = foldedStacks(p.tree)
    .split('\n')
    .filter((l) => l !== '');
  for (const line of lines) {
    const sp = line.lastIndexOf(' ');
    const frames = line.slice(0, sp).split(';');
    const n = Number(line.slice(sp + 1));
    const at = frames.lastIndexOf(hot);
    if (at < 0) continue; // `hot` calls nothing: frames above it are the kernel's
    leafSamples += n;
    if (at + 1 >= chain.length && frames.slice(at + 1 - chain.length, at + 1).join(';') === chain.join(';')) complete += n;
  }
  return { share: leafSamples === 0 ? 0 : complete / leafSamples, hot: leafSamples, stacks: lines.slice(0, 8).join('\n') };
}

test("a frameless leaf keeps its caller (read at the stack pointer): C at -O2 and Go show the whole chain in at least 90 % of the leaf's samples", async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (process.arch !== 'x64') return t.skip('the leaf-caller probe reads x86-64 call instructions');
  const programs: { key: string; bin: string; chain: string[] }[] = [];
  if (hasGcc()) programs.push({ key: 'host/Service/pl-leaf-c', bin: buildCLeafBurner(), chain: ['main', 'pl_leaf_outer', 'pl_leaf_middle', 'pl_leaf_hot'] });
  const go = goBinary();
  if (go) programs.push({ key: 'host/Service/pl-leaf-go', bin: buildGoLeafBurner(go), chain: ['main.main', 'main.gxOuter', 'main.gxMiddle', 'main.gxHot'] });
  if (programs.length === 0) return t.skip('neither gcc nor Go is installed');
  for (const p of programs) startChild(t, p.bin, ['30'], { OTEL_SERVICE_NAME: p.key.split('/')[2] });

  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: 49, intervalMs: 1000, kubernetes: 'off' }, consumer, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();
  await sleep(SECONDS * 1000);
  await sampler.stop();

  const profiles = profilesByWorkload(requests);
  for (const p of programs) {
    const profile = profiles.get(p.key);
    assert.ok(profile, `${p.key} present among ${[...profiles.keys()].join(', ')}`);
    const c = chainShare(profile, p.chain);
    t.diagnostic(`${p.key}: ${(c.share * 100).toFixed(1)} % of ${c.hot} leaf samples with the whole chain`);
    assert.ok(c.hot >= 20, `${p.key}: ${c.hot} samples in ${p.chain.at(-1)}`);
    assert.ok(c.share >= 0.9, `${p.key}: ${(c.share * 100).toFixed(1)} % of ${c.hot} leaf samples under ${p.chain.join(';')}; stacks:\n${c.stacks}`);
  }
  assert.ok(sampler.stats().leafCallers > 0, 'callers put back are counted');
});

test('a pid filter samples only that process, and the sampler never samples itself or bpftrace', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner();
  const a = startChild(t, bin, ['20'], { OTEL_SERVICE_NAME: 'pl-only-me' });
  startChild(t, bin, ['20'], { OTEL_SERVICE_NAME: 'pl-not-me' });
  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: 49, intervalMs: 500, pids: [a.pid!], kubernetes: 'off' }, consumer, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();
  await sleep(2500);
  await sampler.stop();
  const keys = [...profilesByWorkload(requests).keys()];
  assert.deepEqual(keys, ['host/Service/pl-only-me']);
});

test('a short-lived process that exits before the flush still gets its workload and symbols (read when first sampled)', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner();
  // Requests with whether each burner had exited (gone, or a zombie without maps) when the request was built.
  const requests: { request: ExportProfilesServiceRequest; cGone: boolean; jsGone: boolean }[] = [];
  const consumer = consumerOf((b) => void requests.push({ request: b.request, cGone: exited(kids.c?.pid), jsGone: exited(kids.js?.pid) }));
  // No cap here (other processes starting on a busy machine must not use it up); see the next test for the cap.
  const sampler = new NodeSampler({ hz: 49, intervalMs: 2000, kubernetes: 'off', eagerResolvesPerSecond: 100_000 }, consumer, quietLog);
  t.after(() => sampler.stop());
  const kids: { c?: ChildProcess; js?: ChildProcess } = {};
  await sampler.start();
  // ~0.3 s of CPU, then exit: well before the 2 s flush, so /proc/PID is gone when its samples are printed.
  const burner = (kids.c = startChild(t, bin, ['0.3'], { OTEL_SERVICE_NAME: 'pl-short-lived' }));
  // And a short Node.js process: its JIT frames are named from its perf map after it exited.
  const js = (kids.js = startChild(t, process.execPath, [...NODE_PERF_FLAGS, BURN_JS, '0.5'], { OTEL_SERVICE_NAME: 'pl-short-js' }));
  await Promise.all([burner, js].map((c) => new Promise<void>((resolve) => c.once('exit', () => resolve()))));
  await waitFor('a flush after the burners exited', () => requests.some((r) => r.cGone && r.jsGone), SLOW);
  await sampler.stop();

  // Only requests built after each exit: every sample of that burner in them was symbolized
  // and attributed when its /proc entry could no longer be read.
  const after = profilesByWorkload(requests.filter((r) => r.cGone).map((r) => r.request));
  const afterJs = profilesByWorkload(requests.filter((r) => r.jsGone).map((r) => r.request));
  const p = after.get('host/Service/pl-short-lived');
  assert.ok(
    p,
    `the exited burner's workload among ${[...after.keys()].filter((k) => !k.startsWith('host/Process/')).join(', ')} (and ${[...after.keys()].filter((k) => k.startsWith('host/Process/plburn')).join(', ') || 'no host/Process/plburn'}); ${JSON.stringify(sampler.stats())}`,
  );
  const rows = symbolsTable(p.tree);
  const inner = rows.find((r) => r.name === 'pl_burn_inner');
  assert.ok(inner, `pl_burn_inner named; got ${rows.map((r) => r.name).join(', ')}`);
  assert.match(foldedStacks(p.tree), /main;pl_burn_outer;pl_burn_inner \d+/);
  assert.equal(p.resource['service.name'], 'pl-short-lived');
  const pj = afterJs.get('host/Service/pl-short-js');
  assert.ok(pj, `the exited JS burner's workload among ${[...afterJs.keys()].join(', ')}`);
  plBurnHot(symbolsTable(pj.tree));
  const stats = sampler.stats();
  assert.ok(stats.eagerResolves >= 1, `resolved when first sampled (${JSON.stringify(stats)})`);
  assert.equal(stats.eagerSkipped, 0);
});

test('a burst of new processes is resolved at once only up to eagerResolvesPerSecond; the rest are counted', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner();
  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: 49, intervalMs: 1000, kubernetes: 'off', eagerResolvesPerSecond: 1 }, consumer, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();
  const started = Date.now();
  // Eight forked burners (no exec: announced on their first sample all the same), on top of
  // every process already running, announced when first sampled after the start.
  const burst = startChild(t, bin, ['0.5', '8'], { OTEL_SERVICE_NAME: 'pl-burst' });
  await new Promise<void>((resolve) => burst.once('exit', () => resolve()));
  await waitFor('a flush after the burst', () => requests.length >= 2, SLOW);
  const elapsed = (Date.now() - started) / 1000;
  await sampler.stop();
  const stats = sampler.stats();
  // The bucket holds one second's worth and refills at 1/s: never more than that was read.
  assert.ok(
    stats.eagerResolves + stats.eagerGone <= 1 + Math.ceil(elapsed) + 1,
    `eager resolutions capped (${stats.eagerResolves} + ${stats.eagerGone} gone in ${elapsed.toFixed(1)} s)`,
  );
  assert.ok(stats.eagerSkipped >= 1, `skipped announcements counted (${JSON.stringify(stats)})`);
  // Every announcement was either resolved, found gone, or skipped and counted (repeats aside).
  assert.ok(stats.bpftrace.processEvents >= stats.eagerResolves + stats.eagerGone + stats.eagerSkipped, JSON.stringify(stats));
});

/** Whether a process has exited: no /proc entry, or a zombie (whose maps and environ are gone). */
function exited(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

test('a bpftrace that dies is restarted with backoff, the restart logged and counted, and sampling goes on', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const burner = startChild(t, buildCBurner(), ['40'], { OTEL_SERVICE_NAME: 'pl-restart' });
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: 49, intervalMs: 500, pids: [burner.pid!], kubernetes: 'off', restartInitialMs: 200 }, consumer, log);
  t.after(() => sampler.stop());
  await sampler.start();
  const first = sampler.bpftracePid!;
  await waitFor('a first flush', () => requests.length >= 1, SLOW);

  process.kill(first, 'SIGKILL');
  await waitFor('bpftrace to be started again', () => sampler.stats().bpftrace.starts === 2 && sampler.bpftracePid !== first, SLOW);
  const second = sampler.bpftracePid!;
  const before = requests.length;
  await waitFor('flushes from the new bpftrace', () => requests.length >= before + 2, SLOW);
  await sampler.stop();

  const stats = sampler.stats();
  assert.equal(stats.bpftrace.restarts, 1);
  const restart = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'bpftrace exited; restarting');
  assert.ok(restart, `restart logged; log: ${logLines.join('')}`);
  assert.equal(restart.signal, 'SIGKILL');
  assert.equal(restart.restarts, 1);
  assert.equal(restart.inMs, 200, 'first backoff is restartInitialMs');
  assert.ok(
    logLines.some((l) => l.includes('"msg":"bpftrace attached"') && l.includes(`"pid":${second}`)),
    'the new bpftrace attached',
  );
  const keys = [...profilesByWorkload(requests.slice(before)).keys()];
  assert.deepEqual(keys, ['host/Service/pl-restart'], 'the new bpftrace keeps the pid filter');
});

test('code without symbols keeps its binary and offset (binary+0x…), marked native, never dropped', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner(['-s']); // stripped: no symbol table at all
  const burner = startChild(t, bin, ['20'], { OTEL_SERVICE_NAME: 'pl-stripped' });
  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: 49, intervalMs: 500, pids: [burner.pid!], kubernetes: 'off' }, consumer, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();
  await waitFor('samples of the stripped burner', () => requests.length >= 3, SLOW);
  await sampler.stop();
  const p = profilesByWorkload(requests).get('host/Service/pl-stripped');
  assert.ok(p, 'workload present');
  const rows = symbolsTable(p.tree);
  const unnamed = rows.filter((r) => r.name.startsWith('plburn+0x'));
  assert.ok(unnamed.length > 0 && unnamed.every((r) => r.kind === 'native'), `plburn+0x… frames, native: ${rows.map((r) => `${r.name}:${r.kind}`).join(', ')}`);
  // Each sampled instruction is its own frame, so the hot leaf is spread over several offsets.
  const leafSelf = unnamed.reduce((a, r) => a + r.self, 0);
  assert.ok(leafSelf >= p.samples * 0.5, `most samples end in plburn code (${leafSelf}/${p.samples})`);
  // main → outer → inner: three frames deep, none named, none dropped.
  assert.match(foldedStacks(p.tree), /plburn\+0x[0-9a-f]+;plburn\+0x[0-9a-f]+;plburn\+0x[0-9a-f]+ \d+/);
});

test('JIT frames of a process in its own pid and mount namespace are named from /proc/PID/root/tmp/perf-NSPID.map', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasUnshare()) return t.skip('unshare (util-linux) is not installed or cannot create namespaces here');
  // Like a container: node is pid 1 in its namespace and its /tmp is a private tmpfs, so the
  // perf map exists only as /proc/HOSTPID/root/tmp/perf-1.map. The script is opened before the
  // mount and read from stdin, as the checkout itself may live under /tmp.
  const script = `exec 3<"${BURN_JS}"; mount -t tmpfs tmpfs /tmp && exec "${process.execPath}" ${NODE_PERF_FLAGS.join(' ')} - 30 <&3`;
  const child = startChild(t, 'unshare', ['--pid', '--fork', '--kill-child', '--mount', '--propagation', 'private', 'sh', '-c', script], {
    OTEL_SERVICE_NAME: 'pl-ns-js',
  });
  // unshare forks: the burner is its child (killed with it: --kill-child).
  let pid: number | undefined;
  await waitFor('the namespaced node process', () => (pid = namespacedChild(child.pid!)) !== undefined, { ...SLOW, timeoutMs: 30_000 });
  await waitFor('its perf map', () => existsSync(`/proc/${pid}/root/tmp/perf-1.map`), { ...SLOW, timeoutMs: 30_000 });
  await sleep(500);
  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: 49, intervalMs: 500, pids: [pid!], kubernetes: 'off' }, consumer, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();
  await waitFor('samples of the namespaced burner', () => requests.length >= 4, SLOW);
  await sampler.stop();
  const p = profilesByWorkload(requests).get('host/Service/pl-ns-js');
  assert.ok(p, `workload present among ${[...profilesByWorkload(requests).keys()].join(', ')}`);
  plBurnHot(symbolsTable(p.tree), ' from the namespaced perf map');
});

function hasUnshare(): boolean {
  try {
    execFileSync('unshare', ['--pid', '--fork', '--mount', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The first child of `ppid` (unshare's forked process), once it runs node. */
function namespacedChild(ppid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid && stat.includes('(node)')) return Number(name);
    } catch {
      // gone
    }
  }
  return undefined;
}
