import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateRequest } from '../src/otlp/validate.js';
import { NodeSampler } from '../src/node/sampler.js';
import { aggregateRequest, mergeWorkloadProfile, emptyWorkloadProfile, type WorkloadProfile } from '../src/profile/aggregate.js';
import { foldedStacks } from '../src/profile/folded.js';
import { symbolsTable } from '../src/profile/symbols.js';
import { parseWorkloadKey } from '../src/profile/workload.js';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { tableAttributes } from '../src/otlp/attributes.js';
import { BURN_JS, NODE_PERF_FLAGS, buildCBurner, hasGcc } from './burners/build.js';
import { collectingConsumer, ebpfUnavailable, quietLog, sleep, startChild } from './helpers/ebpf.js';

const HZ = 20;
const SECONDS = 4;

function byWorkload(requests: ExportProfilesServiceRequest[]): Map<string, WorkloadProfile> {
  const out = new Map<string, WorkloadProfile>();
  for (const req of requests) {
    validateRequest(req);
    for (const [key, p] of aggregateRequest(req)) {
      const acc = out.get(key) ?? emptyWorkloadProfile(parseWorkloadKey(key)!, p.resource);
      mergeWorkloadProfile(acc, p);
      out.set(key, acc);
    }
  }
  return out;
}

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

test('samples every process with eBPF and names C and JIT-compiled JS hot functions under their workloads', async (t) => {
  const why = ebpfUnavailable();
  if (why) return t.skip(why);
  if (!hasGcc()) return t.skip('gcc is not installed');
  const cBurner = buildCBurner();
  startChild(t, cBurner, ['30'], { OTEL_SERVICE_NAME: 'pl-c-burner' });
  startChild(t, process.execPath, [...NODE_PERF_FLAGS, BURN_JS, '30'], { OTEL_SERVICE_NAME: 'pl-js-burner' });
  await sleep(500); // let node compile plBurnHot before sampling starts

  const { requests, consumer } = collectingConsumer();
  const sampler = new NodeSampler({ hz: HZ, intervalMs: 1000, kubernetes: 'off' }, consumer, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();
  const bpftracePid = sampler.bpftracePid;
  await sleep(SECONDS * 1000);
  await sampler.stop();

  assert.ok(requests.length >= SECONDS - 1, `one request per flush (got ${requests.length})`);
  const profiles = byWorkload(requests);
  const c = profiles.get('host/Service/pl-c-burner');
  const js = profiles.get('host/Service/pl-js-burner');
  assert.ok(c, `C burner workload present among ${[...profiles.keys()].join(', ')}`);
  assert.ok(js, 'JS burner workload present');

  // A busy thread gets ≈ hz samples a second; the machine is shared, so the range is generous.
  for (const p of [c, js]) {
    assert.ok(p.samples >= HZ * SECONDS * 0.3 && p.samples <= HZ * (SECONDS + 2) * 1.2, `${p.workload.key}: ${p.samples} samples`);
  }

  const cFolded = foldedStacks(c.tree);
  assert.match(cFolded, /main;pl_burn_outer;pl_burn_inner \d+/, cFolded);
  const cRows = symbolsTable(c.tree);
  const inner = cRows.find((r) => r.name === 'pl_burn_inner')!;
  assert.ok(inner.self >= c.samples * 0.5, `pl_burn_inner is the hot leaf (${inner.self}/${c.samples})`);
  assert.equal(inner.kind, 'native');

  const jsRows = symbolsTable(js.tree);
  const hot = jsRows.find((r) => r.name === 'plBurnHot');
  assert.ok(hot, `plBurnHot named; top symbols: ${jsRows.slice(0, 8).map((r) => `${r.name}(${r.self})`).join(', ')}`);
  assert.equal(hot.kind, 'v8js');
  assert.match(hot.file, /burn\.js$/);
  assert.ok(hot.total >= js.samples * 0.5, `plBurnHot on most JS stacks (${hot.total}/${js.samples})`);
  assert.match(foldedStacks(js.tree), /plBurnLoop;plBurnHot/);

  const pids = sampledPids(requests);
  assert.ok(!pids.has(process.pid), 'the sampler does not sample itself');
  assert.ok(bpftracePid && !pids.has(bpftracePid), 'nor its bpftrace');

  // pid and thread name ride on samples; the workload's resource carries service.name.
  assert.equal(c.resource['service.name'], 'pl-c-burner');
  const stats = sampler.stats();
  assert.equal(stats.bpftrace.restarts, 0);
  assert.equal(stats.bpftrace.malformedKeys, 0);
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
  const keys = [...byWorkload(requests).keys()];
  assert.deepEqual(keys, ['host/Service/pl-only-me']);
});
