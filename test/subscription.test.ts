import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { Gateway } from '../src/gateway/gateway.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { DEFAULT_LIMITS } from '../src/store/config.js';
import { CPU_BUCKET_MS } from '../src/store/cpu.js';
import type { StoreLimits } from '../src/api/types.js';
import { startUiServer, type UiServer } from '../src/ui/server.js';
import { K8S_CHECKOUT, K8S_INVENTORY, requestFromFolded } from './helpers/fixtures.js';
import { promValue } from './helpers/metrics.js';
import { UiClient } from './helpers/ui-client.js';
import { waitFor } from './helpers/wait.js';

/**
 * The UI's subscription (src/api/pipeline.ts): real gateways forward to a real UI only the
 * workloads it has slots for, and report the others' CPU time in place of their stacks.
 */

const INVENTORY = 'default/Deployment/inventory';
const CHECKOUT = 'shop/StatefulSet/checkout';
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const FAST = { enableDataCompression: false, timeout: 2000, retryOnFailure: { initialInterval: 1, maxInterval: 5, maxElapsedTime: 60_000 } };
/** The UI's clock runs this far ahead, so CPU counted from data taken "now" is in a bucket the Sources list already shows. */
const AHEAD_MS = 30_000;

/** One node's request: inventory (13 samples) and checkout (4), a one-second window from `atMs` (now by default). */
function nodeRequest(atMs = Date.now()): Uint8Array {
  const now = BigInt(atMs) * 1_000_000n;
  return encodeRequest(
    requestFromFolded([
      { resource: K8S_INVENTORY, folded: 'main;work;hot 10\nmain;idle 3', timeUnixNano: now },
      { resource: K8S_CHECKOUT, folded: 'main;pay 4', timeUnixNano: now },
    ]),
  );
}

const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function startUi(opts: { http?: number; grpc?: number; port?: number; limits?: Partial<StoreLimits>; clock?: () => number } = {}): Promise<UiServer> {
  const ui = await startUiServer({
    port: opts.port ?? 0,
    otlp: { grpc: { host: '127.0.0.1', port: opts.grpc ?? 0 }, http: { host: '127.0.0.1', port: opts.http ?? 0 } },
    limits: { ...DEFAULT_LIMITS, ...opts.limits },
    clock: opts.clock ?? (() => Date.now() + AHEAD_MS),
  });
  let closed = false;
  const close = ui.close.bind(ui);
  ui.close = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  stops.push(() => ui.close());
  return ui;
}

async function startGateway(uiOtlpHttpPort: number, api: string | false, usageIntervalMs = 100): Promise<{ gw: Gateway; url: string }> {
  const gw = new Gateway({
    receiver: { grpc: false, http: LOOPBACK },
    exporters: [
      {
        name: 'ui',
        protocol: 'http',
        endpoint: `http://127.0.0.1:${uiOtlpHttpPort}`,
        ...FAST,
        ...(api === false ? {} : { subscription: { api, usageIntervalMs, retryMs: 50 } }),
      },
    ],
  });
  const a = await gw.start();
  stops.push(() => gw.stop(2000));
  return { gw, url: `http://127.0.0.1:${a.http!.port}` };
}

async function post(gatewayUrl: string, body: Uint8Array = nodeRequest()): Promise<void> {
  const res = await fetch(`${gatewayUrl}/v1development/profiles`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: Buffer.from(body),
  });
  assert.equal(res.status, 200, await res.text());
}

function cpuNanos(ui: UiServer, key: string): number {
  const info = ui.store.sourceInfo(key);
  return info ? info.cpuSeries.reduce((a, b) => a + b, 0) : 0;
}

/** Cores summed over the series: equal between two UIs whenever they counted the same nanoseconds. */
function cpuSeries(ui: UiServer, key: string): number[] {
  return ui.store.sourceInfo(key)?.cpuSeries ?? [];
}

test('the gateway forwards only workloads with a slot; the others reach the Sources list as CPU only', async () => {
  const ui = await startUi();
  const { gw, url } = await startGateway(ui.otlp.http!.port, ui.url);
  await waitFor('the gateway knows the (empty) subscription', () => gw.subscription?.workloads?.size === 0);

  await post(url);
  await waitFor('both workloads are listed with their CPU', () => cpuNanos(ui, INVENTORY) > 0 && cpuNanos(ui, CHECKOUT) > 0);
  assert.equal(ui.store.counters.dropped.noSlot, 0, 'the UI got stacks of workloads it has no slot for');
  assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_ui_withheld_profiles_total'), 2);

  // Enable → forwarded from the next request on: the set reaches the gateway within one node interval (1 s).
  const client = new UiClient(ui.url);
  await client.enable(INVENTORY);
  await waitFor('the gateway subscribes to inventory', () => gw.subscription?.workloads?.has(INVENTORY) === true, 1000);
  await post(url);
  const p = await client.profileWhen(INVENTORY, (p) => p.samples === 13, 'the forwarded inventory samples');
  assert.equal(p.samples, 13);
  assert.equal(ui.store.counters.dropped.noSlot, 0, 'checkout was forwarded although it has no slot');
  assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_ui_withheld_profiles_total'), 3);

  // Disable → withheld again.
  const res = await fetch(`${ui.url}/api/sources/${encodeURIComponent(INVENTORY)}/profiling`, { method: 'DELETE' });
  assert.equal(res.status, 200);
  await waitFor('the gateway drops inventory from its set', () => gw.subscription?.workloads?.has(INVENTORY) === false, 1000);
  await post(url);
  await waitFor('both withheld', async () => promValue(await gw.registry.metrics(), 'pilotlight_gateway_ui_withheld_profiles_total') === 5);
  assert.equal(ui.store.counters.dropped.noSlot, 0);
});

test('CPU in the Sources list is the same whether a workload came as stacks or as a usage report', async () => {
  const clockBase = Date.now() + AHEAD_MS;
  const clock = () => clockBase;
  const viaUsage = await startUi({ clock });
  const viaStacks = await startUi({ clock });
  const a = await startGateway(viaUsage.otlp.http!.port, viaUsage.url);
  const b = await startGateway(viaStacks.otlp.http!.port, false);
  await waitFor('the gateway knows the subscription', () => a.gw.subscription?.workloads !== undefined);
  // A window that straddles the next bucket boundary: split between two buckets either way.
  const body = nodeRequest(Math.ceil(Date.now() / CPU_BUCKET_MS) * CPU_BUCKET_MS - 500);
  await post(a.url, body);
  await post(b.url, body);
  await waitFor('both UIs count checkout', () => cpuNanos(viaUsage, CHECKOUT) > 0 && cpuNanos(viaStacks, CHECKOUT) > 0);
  await waitFor('both UIs count inventory', () => cpuNanos(viaUsage, INVENTORY) > 0 && cpuNanos(viaStacks, INVENTORY) > 0);
  assert.equal(cpuSeries(viaStacks, CHECKOUT).filter((c) => c > 0).length, 2, 'the window is split over two buckets');
  assert.deepEqual(cpuSeries(viaUsage, CHECKOUT), cpuSeries(viaStacks, CHECKOUT));
  assert.deepEqual(cpuSeries(viaUsage, INVENTORY), cpuSeries(viaStacks, INVENTORY));
  assert.equal(viaUsage.store.counters.dropped.noSlot, 0);
  assert.equal(viaStacks.store.counters.dropped.noSlot, 2, 'without a subscription the UI gets and drops both');
});

test('eviction and the TTL sweep end the subscription of a workload', async () => {
  let offset = AHEAD_MS;
  const ui = await startUi({ limits: { maxSlots: 1 }, clock: () => Date.now() + offset });
  const { gw } = await startGateway(ui.otlp.http!.port, ui.url);
  const client = new UiClient(ui.url);
  await client.enable(INVENTORY);
  await waitFor('subscribed to inventory', () => gw.subscription?.workloads?.has(INVENTORY) === true, 1000);
  await client.enable(CHECKOUT); // evicts inventory (one slot at most)
  await waitFor(
    'inventory evicted, checkout subscribed',
    () => {
      const set = gw.subscription?.workloads;
      return set?.has(CHECKOUT) === true && !set.has(INVENTORY);
    },
    1000,
  );
  offset += (DEFAULT_LIMITS.slotTtlSeconds + 1) * 1000;
  assert.deepEqual(ui.store.sweep(), [CHECKOUT]);
  await waitFor('the swept slot leaves the subscription', () => gw.subscription?.workloads?.size === 0, 1000);
});

test('a restarted UI: the gateway learns its new set, and an enabled slot gets data again', async () => {
  const first = await startUi();
  const ports = { http: first.otlp.http!.port, grpc: first.otlp.grpc!.port, port: Number(new URL(first.url).port) };
  const { gw, url } = await startGateway(ports.http, first.url);
  await new UiClient(first.url).enable(INVENTORY);
  await waitFor('subscribed to inventory', () => gw.subscription?.workloads?.has(INVENTORY) === true, 1000);
  await first.close();

  const second = await startUi(ports);
  await waitFor('the gateway learns the restarted UI has no slots', () => gw.subscription?.workloads?.size === 0, 5000);
  const client = new UiClient(second.url);
  await client.enable(INVENTORY);
  await waitFor('subscribed again', () => gw.subscription?.workloads?.has(INVENTORY) === true, 1000);
  await post(url);
  const p = await client.profileWhen(INVENTORY, (p) => p.samples === 13, 'inventory after the restart');
  assert.equal(p.samples, 13);
  assert.equal(second.store.counters.dropped.noSlot, 0);
});

test('two gateways into one UI both honour the subscription', async () => {
  const ui = await startUi();
  const one = await startGateway(ui.otlp.http!.port, ui.url);
  const two = await startGateway(ui.otlp.http!.port, ui.url);
  const client = new UiClient(ui.url);
  await client.enable(INVENTORY);
  await waitFor('both subscribed', () => [one, two].every((g) => g.gw.subscription?.workloads?.has(INVENTORY) === true), 1000);
  await post(one.url);
  await post(two.url);
  const p = await client.profileWhen(INVENTORY, (p) => p.samples === 26, 'inventory from both gateways');
  assert.equal(p.samples, 26);
  assert.equal(ui.store.counters.dropped.noSlot, 0);
  for (const g of [one, two]) assert.equal(promValue(await g.gw.registry.metrics(), 'pilotlight_gateway_ui_withheld_profiles_total'), 1);
});

test('a receiver without the subscription API (404) gets every workload, as without a subscription', async () => {
  const ui = await startUi();
  const notPilotlight = http.createServer((_req, res) => res.writeHead(404).end('not found'));
  await new Promise<void>((r) => notPilotlight.listen(0, '127.0.0.1', r));
  stops.push(() => new Promise((r) => notPilotlight.close(() => r())));
  const api = `http://127.0.0.1:${(notPilotlight.address() as AddressInfo).port}`;
  const { gw, url } = await startGateway(ui.otlp.http!.port, api);
  await waitFor('the gateway asked', async () => /outcome="unsupported"\} [1-9]/.test(await gw.registry.metrics()));
  assert.equal(gw.subscription?.workloads, undefined);
  await post(url);
  await waitFor('the UI got (and dropped) both', () => ui.store.counters.dropped.noSlot === 2);
  assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_ui_subscription_workloads'), -1);
});
