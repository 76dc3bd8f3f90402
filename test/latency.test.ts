import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Gateway } from '../src/gateway/gateway.js';
import { NodeSampler } from '../src/node/sampler.js';
import { Exporter } from '../src/pipeline/exporter/exporter.js';
import type { ProfileResponse } from '../src/api/types.js';
import { startUiServer } from '../src/ui/server.js';
import { hasGcc } from './burners/build.js';
import { buildBurster, startBurster } from './helpers/burster.js';
import { ebpfUnavailable, quietLog, sleep } from './helpers/ebpf.js';

/**
 * The path bench/latency.bench.ts times, asserted to work at all (no timing): a CPU burst in a
 * long-lived process → the real eBPF node sampler → its exporter → the gateway → the UI, where
 * the burst's function shows up in the profile API under its callers.
 */
test('a CPU burst reaches the UI API: node sampler → gateway → ui, the burst function under its callers', async (t) => {
  const why = ebpfUnavailable() ?? (hasGcc() ? undefined : 'gcc is not installed');
  if (why) return t.skip(why);
  const service = 'pl-latency-test';
  const key = `host/Service/${service}`;
  const loopback = { host: '127.0.0.1', port: 0 };
  const burster = startBurster(buildBurster(), service);
  t.after(() => burster.stop());
  const ui = await startUiServer({ port: 0, otlp: { grpc: loopback, http: false } });
  t.after(() => ui.close());
  const gw = new Gateway({
    receiver: { grpc: loopback, http: false },
    exporters: [{ name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}` }],
  });
  const gwAddr = await gw.start();
  t.after(() => gw.stop(1000));
  const exporter = new Exporter({ name: 'gateway', protocol: 'grpc', endpoint: `127.0.0.1:${gwAddr.grpc!.port}` });
  t.after(() => exporter.shutdown(1000));
  const sampler = new NodeSampler({ hz: 49, intervalMs: 500, kubernetes: 'off', workloads: [key] }, exporter, quietLog);
  t.after(() => sampler.stop());
  await sampler.start();

  const enable = await fetch(`${ui.url}/api/sources/${encodeURIComponent(key)}/profiling`, { method: 'POST' });
  assert.equal(enable.status, 200);
  let p: ProfileResponse | undefined;
  const end = Date.now() + 45_000;
  // Burst until the function shows (a hang guard, not a speed check: each burst is 300 ms of CPU).
  while (Date.now() < end) {
    await burster.burst(300);
    await sleep(1200);
    p = (await (await fetch(`${ui.url}/api/sources/${encodeURIComponent(key)}/profile`)).json()) as ProfileResponse;
    // Enough samples that one stray stack cannot decide the caller check below.
    if (p.symbols.some((r) => r.name === 'pl_latency_inner' && r.total >= 10)) break;
  }
  assert.ok(p, 'the profile was read');
  const inner = p.symbols.find((r) => r.name === 'pl_latency_inner');
  assert.ok(inner, `pl_latency_inner in the UI; symbols: ${p.symbols.map((r) => r.name).join(', ')}`);
  assert.ok(inner.self > 0 && inner.kind === 'native');
  const burst = p.symbols.find((r) => r.name === 'pl_latency_burst');
  // Most of the leaf's stacks go through its caller; a sample that lands in the leaf's
  // prologue (before it pushes its frame pointer) skips the caller, so not every one does.
  assert.ok(
    burst && burst.total >= inner.total / 2,
    `its caller pl_latency_burst is on most of the same stacks (pl_latency_burst ${burst?.total}, pl_latency_inner ${inner.total})`,
  );
  assert.equal(sampler.stats().consumeErrors, 0);
});
