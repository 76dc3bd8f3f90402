import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { Gateway } from '../src/gateway/gateway.js';
import { attributeString, keyValues } from '../src/otlp/attributes.js';
import { decodeRequest, encodeRequest } from '../src/otlp/codec.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { Exporter } from '../src/pipeline/exporter/exporter.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import { requestStats } from '../src/pipeline/request-stats.js';
import type { ProfileResponse, SourcesResponse } from '../src/api/types.js';
import { startUiServer } from '../src/ui/server.js';
import { CLI_MAIN } from './helpers/cli.js';
import { requestFromFolded } from './helpers/fixtures.js';
import { promValue } from './helpers/metrics.js';
import { freePort } from './helpers/peers.js';
import { startGatewayChild, startNode, type CliChild, type GatewayChild } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

/**
 * Faults, with real servers and processes on loopback: the UI killed and started again
 * mid-stream, a destination down for less and for more than maxElapsedTime, the gateway killed
 * and started again under a node's exporter. Every request carries a unique marker (its own
 * workload, `faults/Deployment/seq-N`), so delivery is counted per request: every one
 * delivered, none twice. Retry intervals are milliseconds; no assertion depends on timing.
 * (bpftrace killed and restarted is covered by test/node-sampler.test.ts.)
 */

const LOOPBACK = { host: '127.0.0.1', port: 0 };
/** A condition waited for bounds a hang (never a timing assertion): 30 s, probed every 20 ms. */
const WAIT = { timeoutMs: 30_000, intervalMs: 20 };
const STEADY = 'faults/Deployment/steady';
const FAST_RETRY = { initialInterval: 50, maxInterval: 250, maxElapsedTime: 60_000 };

/** Request `seq`: its marker workload, and a sample of the steady workload naming `seq` in its leaf. */
function request(seq: number): Uint8Array {
  return encodeRequest(
    requestFromFolded([
      { resource: { 'k8s.namespace.name': 'faults', 'k8s.deployment.name': `seq-${seq}` }, folded: 'main;mark 1' },
      { resource: { 'k8s.namespace.name': 'faults', 'k8s.deployment.name': 'steady' }, folded: `main;tick;fn_${seq} 2` },
    ]),
  );
}
const SAMPLES_PER_REQUEST = requestStats(decodeRequest(request(0), 'protobuf')).samples;

/** The seq markers in a decoded request. */
function seqsIn(batch: Parameters<Parameters<typeof consumerOf>[0]>[0]): number[] {
  const strings = batch.request.dictionary?.stringTable ?? [];
  const out: number[] = [];
  for (const rp of batch.request.resourceProfiles) {
    const name = attributeString(keyValues(rp.resource?.attributes, strings)['k8s.deployment.name']);
    const m = /^seq-(\d+)$/.exec(name ?? '');
    if (m) out.push(Number(m[1]));
  }
  return out;
}

async function post(base: string, seq: number): Promise<void> {
  const res = await fetch(`${base}/v1development/profiles`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.from(request(seq)),
  });
  assert.equal(res.status, 200, `the gateway took request ${seq}: ${await res.text()}`);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b);

/** A recording OTLP destination (a real receiver); `restart` brings up a new one on the same ports. */
async function destination(protocol: 'http' | 'grpc'): Promise<{ seqs: number[]; endpoint: string; stop(): Promise<void>; restart(): Promise<void> }> {
  const seqs: number[] = [];
  let r: Receiver | undefined;
  let port = 0;
  const start = async (): Promise<void> => {
    const listen = { host: '127.0.0.1', port };
    r = new Receiver({
      grpc: protocol === 'grpc' ? listen : false,
      http: protocol === 'http' ? listen : false,
      registry: new Registry(),
      consumer: consumerOf((b) => void seqs.push(...seqsIn(b))),
    });
    const a = await r.start();
    port = (protocol === 'grpc' ? a.grpc : a.http)!.port;
  };
  await start();
  return {
    seqs,
    endpoint: protocol === 'grpc' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`,
    stop: () => r!.stop(0),
    restart: start,
  };
}

/** Sorted seq markers among a UI's sources. */
async function uiSeqs(url: string): Promise<number[]> {
  const s = (await (await fetch(`${url}/api/sources`)).json()) as SourcesResponse;
  return sorted(
    s.sources
      .map((x) => /^faults\/Deployment\/seq-(\d+)$/.exec(x.key))
      .filter((m) => m !== null)
      .map((m) => Number(m[1])),
  );
}

/** A sender posting request after request to the gateway, which can be held between requests. */
function stream(base: string, pauseMs: number): { sent: () => number; hold(): Promise<void>; go(): void; stop(): Promise<void> } {
  let seq = 0;
  let held: (() => void) | undefined;
  let holding: Promise<void> | undefined;
  let stopped = false;
  let release: (() => void) | undefined;
  const loop = (async () => {
    while (!stopped) {
      if (holding) {
        held?.();
        await new Promise<void>((r) => (release = r));
      }
      await post(base, seq);
      seq++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    sent: () => seq,
    hold() {
      holding = new Promise<void>((r) => (held = r));
      return holding;
    },
    go() {
      holding = undefined;
      release?.();
    },
    async stop() {
      stopped = true;
      this.go();
      await loop;
    },
  };
}

describe('faults', () => {
  test('the UI killed and started again mid-stream: the gateway retries, every request reaches the new UI once, data resumes', async () => {
    const otlpPort = await freePort();
    const uiArgs = ['ui', '--port', '0', '--otlp-grpc', `127.0.0.1:${otlpPort}`, '--otlp-http', 'off', '--log-level', 'warn'];
    const startUi = async (): Promise<{ c: CliChild; url: string }> => {
      const c = startNode(CLI_MAIN, uiArgs);
      return { c, url: (await c.waitFor(/Pilotlight UI: (http:\S+)/))[1] };
    };
    let ui = await startUi();
    const gw = new Gateway({
      receiver: { grpc: false, http: LOOPBACK },
      exporters: [{ name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${otlpPort}`, enableDataCompression: false, timeout: 2000, retryOnFailure: FAST_RETRY }],
    });
    const base = `http://127.0.0.1:${(await gw.start()).http!.port}`;
    const s = stream(base, 25);
    try {
      await waitFor('10 requests are sent', () => s.sent() >= 10, WAIT);
      // A quiet moment: everything sent so far is in the first UI; then it is killed.
      await s.hold();
      await gw.exporters[0].idle();
      const before = s.sent();
      assert.deepEqual(await uiSeqs(ui.url), range(0, before));
      ui.c.child.kill('SIGKILL');
      await new Promise((r) => ui.c.child.once('exit', r));
      s.go();

      await waitFor(
        'the gateway retries the dead UI',
        async () => promValue(await gw.registry.metrics(), 'pilotlight_exporter_retries_total', { exporter: 'ui' }) > 0,
        WAIT,
      );
      await waitFor('10 requests are sent while the UI is down', () => s.sent() >= before + 10, WAIT);
      ui = await startUi();
      const enable = await fetch(`${ui.url}/api/sources/${encodeURIComponent(STEADY)}/profiling`, { method: 'POST' });
      assert.equal(enable.status, 200);
      const afterEnable = s.sent() + 1; // the request being sent now may have been queued before the slot
      await waitFor('10 more requests after the slot is open', () => s.sent() >= afterEnable + 10, WAIT);
      await s.stop();
      const total = s.sent();
      await gw.exporters[0].idle();

      // Every request since the kill reached the new UI, once; none from before was sent again.
      assert.deepEqual(await uiSeqs(ui.url), range(before, total));
      const metrics = await (await fetch(`${ui.url}/metrics`)).text();
      assert.equal(promValue(metrics, 'pilotlight_receiver_requests_total', { outcome: 'accepted' }), total - before, 'no request arrived twice');
      const gwMetrics = await gw.registry.metrics();
      assert.equal(promValue(gwMetrics, 'pilotlight_exporter_dropped_requests_total'), 0);
      // Data resumes: every request sent after Enable Profiling is in the slot's profile.
      const p = (await (await fetch(`${ui.url}/api/sources/${encodeURIComponent(STEADY)}/profile`)).json()) as ProfileResponse;
      const fns = new Set(p.symbols.map((r) => r.name));
      const missing = range(afterEnable, total).filter((i) => !fns.has(`fn_${i}`));
      assert.deepEqual(missing, [], 'requests sent after Enable Profiling are in the profile');
    } finally {
      await s.stop().catch(() => {});
      await gw.stop(1000);
      await ui.c.stop(2000);
    }
  });

  test('a destination down for less than maxElapsedTime gets every request after recovery, none twice; the UI is not held up', async () => {
    const dest = await destination('http');
    const ui = await startUiServer({ port: 0, otlp: { grpc: LOOPBACK, http: false } });
    const gw = new Gateway({
      receiver: { grpc: false, http: LOOPBACK },
      exporters: [
        { name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}`, timeout: 2000, retryOnFailure: FAST_RETRY },
        { name: 'dest', protocol: 'http', endpoint: dest.endpoint, timeout: 2000, retryOnFailure: { ...FAST_RETRY, maxElapsedTime: 30_000 } },
      ],
    });
    const base = `http://127.0.0.1:${(await gw.start()).http!.port}`;
    try {
      for (const i of range(0, 5)) await post(base, i);
      await waitFor('the destination has the first 5', () => dest.seqs.length === 5, WAIT);
      await dest.stop();
      for (const i of range(5, 25)) await post(base, i);
      await waitFor('the UI has all 25 while the destination is down', async () => (await uiSeqs(ui.url)).length === 25, WAIT);
      await waitFor(
        'the gateway retries the destination',
        async () => promValue(await gw.registry.metrics(), 'pilotlight_exporter_retries_total', { exporter: 'dest' }) >= 20,
        WAIT,
      );
      assert.equal(dest.seqs.length, 5);
      await dest.restart();
      await gw.exporters[1].idle();
      assert.equal(dest.seqs.length, 25, `every request once: ${JSON.stringify(sorted(dest.seqs))}`);
      assert.deepEqual(sorted(dest.seqs), range(0, 25));
      const m = await gw.registry.metrics();
      assert.equal(promValue(m, 'pilotlight_exporter_dropped_requests_total'), 0);
      assert.equal(promValue(m, 'pilotlight_exporter_sent_requests_total', { exporter: 'dest' }), 25);
    } finally {
      await gw.stop(1000);
      await dest.stop();
      await ui.close();
    }
  });

  test('a destination down for longer than maxElapsedTime: each request dropped once, counted and logged with its reason; later ones delivered', async () => {
    const dest = await destination('grpc');
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const ui = await startUiServer({ port: 0, otlp: { grpc: LOOPBACK, http: false } });
    const gw = new Gateway({
      logger,
      receiver: { grpc: false, http: LOOPBACK },
      exporters: [
        { name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}`, timeout: 2000, retryOnFailure: FAST_RETRY },
        {
          name: 'dest',
          protocol: 'grpc',
          endpoint: dest.endpoint,
          timeout: 2000,
          retryOnFailure: { initialInterval: 20, maxInterval: 100, maxElapsedTime: 400 },
        },
      ],
    });
    const addrs = await gw.start();
    const base = `http://127.0.0.1:${addrs.http!.port}`;
    try {
      await dest.stop();
      for (const i of range(0, 10)) await post(base, i);
      const metricsUrl = `${base}/metrics`;
      await waitFor(
        'all 10 are given up on',
        async () => promValue(await (await fetch(metricsUrl)).text(), 'pilotlight_exporter_dropped_requests_total', { exporter: 'dest' }) === 10,
        WAIT,
      );
      const m = await (await fetch(metricsUrl)).text();
      assert.equal(promValue(m, 'pilotlight_exporter_dropped_requests_total', { exporter: 'dest', reason: 'retries_exhausted' }), 10);
      assert.equal(promValue(m, 'pilotlight_exporter_dropped_samples_total', { exporter: 'dest', reason: 'retries_exhausted' }), 10 * SAMPLES_PER_REQUEST);
      assert.ok(promValue(m, 'pilotlight_exporter_retries_total', { exporter: 'dest' }) >= 10, 'each was retried first');
      assert.equal(promValue(m, 'pilotlight_exporter_dropped_requests_total', { exporter: 'ui' }), 0);
      const drops = lines.filter((l) => l.exporter === 'dest' && l.reason === 'retries_exhausted');
      assert.equal(drops.length, 10, 'one log line per dropped request');
      for (const d of drops) {
        assert.match(String(d.msg), /^dropped a request \(retries_exhausted\): gRPC UNAVAILABLE/);
        assert.equal(d.samples, SAMPLES_PER_REQUEST);
      }
      assert.deepEqual(await uiSeqs(ui.url), range(0, 10), 'the UI got every request meanwhile');

      await dest.restart();
      for (const i of range(10, 15)) await post(base, i);
      await gw.exporters[1].idle();
      assert.deepEqual(sorted(dest.seqs), range(10, 15), 'later requests are delivered; the dropped ones never come back');
    } finally {
      await gw.stop(1000);
      await dest.stop();
      await ui.close();
    }
  });

  test("the gateway killed and started again: the node's exporter queue holds every request and drains it into the UI once", async () => {
    const ui = await startUiServer({ port: 0, otlp: { grpc: LOOPBACK, http: false } });
    const gwPort = await freePort();
    let gw: GatewayChild = await startGatewayChild(`127.0.0.1:${ui.otlp.grpc!.port}`, [], { grpc: gwPort });
    // The exporter `pilotlight node` sends through, fed directly.
    const node = new Exporter({
      name: 'gateway',
      protocol: 'grpc',
      endpoint: `127.0.0.1:${gwPort}`,
      registry: new Registry(),
      timeout: 2000,
      retryOnFailure: { initialInterval: 50, maxInterval: 500, maxElapsedTime: 120_000 },
      sendingQueue: { maxItems: 100, numConsumers: 2 },
    });
    const feed = async (i: number): Promise<void> => {
      const bytes = request(i);
      const r = await node.consume({ request: decodeRequest(bytes, 'protobuf'), encoded: bytes });
      assert.equal(r.rejectedProfiles, 0, `request ${i} queued`);
    };
    try {
      for (const i of range(0, 5)) await feed(i);
      await node.idle();
      await waitFor('the UI has the first 5', async () => (await uiSeqs(ui.url)).length === 5, WAIT);

      gw.child.kill('SIGKILL');
      await new Promise((r) => gw.child.once('exit', r));
      for (const i of range(5, 30)) await feed(i);
      await waitFor(
        'the exporter retries the dead gateway',
        async () => promValue(await node.registry.metrics(), 'pilotlight_exporter_retries_total') > 0,
        WAIT,
      );
      const held = node.queueSize;
      assert.ok(held >= 25 - 2, `the queue holds what the workers are not retrying (${held})`);
      assert.equal(promValue(await node.registry.metrics(), 'pilotlight_exporter_queue_size'), held);

      gw = await startGatewayChild(`127.0.0.1:${ui.otlp.grpc!.port}`, [], { grpc: gwPort });
      await node.idle();
      await waitFor('the UI has all 30', async () => (await uiSeqs(ui.url)).length === 30, { ...WAIT, timeoutMs: 60_000 });
      assert.deepEqual(await uiSeqs(ui.url), range(0, 30));
      const m = await node.registry.metrics();
      assert.equal(promValue(m, 'pilotlight_exporter_dropped_requests_total'), 0);
      assert.equal(promValue(m, 'pilotlight_exporter_sent_requests_total'), 30);
      assert.equal(node.queueSize, 0);
      assert.equal(promValue(await ui.receiver.registry.metrics(), 'pilotlight_receiver_requests_total', { outcome: 'accepted' }), 30, 'none twice');
    } finally {
      await node.shutdown(0);
      await gw.stop(2000);
      await ui.close();
    }
  });
});
