import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { K8S_CHECKOUT, K8S_INVENTORY, requestFromFolded } from '../../test/helpers/fixtures.js';
import { ConfigFileError, parseConfig } from '../config/load.js';
import { PYROSCOPE_DROPPED_ATTRIBUTES } from '../config/schema.js';
import { RequestBuilder } from '../otlp/builder.js';
import { decodeRequest, decodeResponse, encodeRequest } from '../otlp/codec.js';
import type { ExportProfilesServiceRequest, KeyValue } from '../otlp/messages.js';
import { tableAttributes } from '../otlp/attributes.js';
import { aggregateRequest } from '../profile/aggregate.js';
import { foldedStacks } from '../profile/folded.js';
import { consumerOf, type ConsumeResult, type ProfilesBatch } from '../pipeline/consumer.js';
import { exportMethod } from '../pipeline/otlp-grpc.js';
import { Receiver } from '../pipeline/receiver/receiver.js';
import { FanoutConsumer } from './fanout.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { gatewayPlan } from './plan.js';
import { promValue } from '../../test/helpers/metrics.js';
import { grpcSink, httpSink, type Sink } from '../../test/helpers/sinks.js';
import { waitFor } from '../../test/helpers/wait.js';

const REQUEST = requestFromFolded([
  { resource: K8S_INVENTORY, folded: 'main;work;hot 10\nmain;idle 3' },
  { resource: K8S_CHECKOUT, folded: 'main;pay 4' },
]);
const BYTES = Buffer.from(encodeRequest(REQUEST));
const PROFILES = 2;

/** Millisecond backoff so tests are quick; no assertion depends on timing. */
const FAST = { enableDataCompression: false, timeout: 2000, retryOnFailure: { initialInterval: 1, maxInterval: 5, maxElapsedTime: 60_000 } };
const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** A UI stand-in: a real OTLP receiver (gRPC + HTTP) that records what it is handed. */
async function uiReceiver(): Promise<{ received: ProfilesBatch[]; grpc: string; http: string; stop: () => Promise<void> }> {
  const received: ProfilesBatch[] = [];
  const r = new Receiver({ grpc: LOOPBACK, http: LOOPBACK, registry: new Registry(), consumer: consumerOf((b) => void received.push(b)) });
  const a = await r.start();
  return { received, grpc: `127.0.0.1:${a.grpc!.port}`, http: `http://127.0.0.1:${a.http!.port}`, stop: () => r.stop(500) };
}

async function startGateway(exporters: GatewayOptions['exporters']): Promise<{ gw: Gateway; httpUrl: string; grpcAddr: string }> {
  const gw = new Gateway({ receiver: { grpc: LOOPBACK, http: LOOPBACK }, exporters });
  const a = await gw.start();
  return { gw, httpUrl: `http://127.0.0.1:${a.http!.port}`, grpcAddr: `127.0.0.1:${a.grpc!.port}` };
}

async function postHttp(base: string, body: Uint8Array = BYTES): Promise<{ status: number; result: ConsumeResult }> {
  const res = await fetch(`${base}/v1development/profiles`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(body) });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status !== 200) return { status: res.status, result: { rejectedProfiles: -1, errorMessage: Buffer.from(bytes).toString('utf8') } };
  const ps = decodeResponse(bytes, 'protobuf').partialSuccess;
  return { status: 200, result: { rejectedProfiles: Number(ps?.rejectedProfiles ?? 0n), errorMessage: ps?.errorMessage ?? '' } };
}

function grpcExport(addr: string, body: Uint8Array = BYTES): Promise<{ code: grpc.status; result?: ConsumeResult; details?: string }> {
  const client = new grpc.Client(addr, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(exportMethod.path, exportMethod.requestSerialize, exportMethod.responseDeserialize, body, (err, res) => {
      client.close();
      if (err) return resolve({ code: err.code, details: err.details });
      const ps = decodeResponse(res!, 'protobuf').partialSuccess;
      resolve({ code: grpc.status.OK, result: { rejectedProfiles: Number(ps?.rejectedProfiles ?? 0n), errorMessage: ps?.errorMessage ?? '' } });
    });
  });
}

/** Folded stacks per workload: what a profile backend shows of a request. */
function foldedByWorkload(req: ExportProfilesServiceRequest): Record<string, string> {
  return Object.fromEntries([...aggregateRequest(req)].map(([key, p]) => [key, foldedStacks(p.tree)]));
}

/** Attributes as a record; a key or string value given by reference shows as `ref:<index>`. */
function attributesOf(kvs: readonly KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value?.value;
    out[kv.keyStrindex !== 0 ? `ref:${kv.keyStrindex}` : kv.key] =
      v?.case === 'stringValueStrindex' ? `ref:${v.value}` : v?.case === 'intValue' ? Number(v.value) : v?.value;
  }
  return out;
}

/** The sample attributes of every sample of the first profile of each resource. */
function sampleAttributes(req: ExportProfilesServiceRequest): Record<string, unknown>[][] {
  const d = req.dictionary!;
  return req.resourceProfiles.map((rp) =>
    rp.scopeProfiles[0].profiles[0].samples.map((s) => tableAttributes(s.attributeIndices, d.attributeTable, d.stringTable)),
  );
}

/**
 * What an eBPF profiler behind a Collector sends: a Deployment's process (k8s attributes, a
 * pid on the Resource, pid and thread on each sample) and a process whose Resource
 * attributes come by reference into the string table, as the Collector's marshaler writes them.
 */
function collectorRequest(): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  const opts = { periodNanos: 50_000_000, timeUnixNano: 1_700_000_000_000_000_000n };
  const checkout = b.profile({ 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout', 'k8s.pod.name': 'checkout-5d9f-x', 'process.pid': 4242 }, opts);
  const pay = b.stackOfFrames([{ name: 'main' }, { name: 'pay' }]);
  b.addSample(checkout, pay, { value: 3, attributes: { 'process.pid': 4242, 'thread.name': 'worker-1' } });
  b.addSample(checkout, pay, { value: 2, attributes: { 'process.pid': 4242, 'thread.name': 'worker-2' } });
  b.addSample(checkout, b.stackOfFrames([{ name: 'main' }, { name: 'idle' }]), { value: 1, attributes: { 'thread.name': 'worker-1' } });
  const payments = b.profile({ 'service.name': 'payments', 'host.name': 'node-1' }, opts);
  b.addSample(payments, b.stackOfFrames([{ name: 'serve' }]), { value: 4 });
  const req = b.build();
  for (const kv of req.resourceProfiles[1].resource!.attributes) {
    kv.keyStrindex = b.string(kv.key);
    kv.key = '';
    if (kv.value?.value.case === 'stringValue') kv.value.value = { case: 'stringValueStrindex', value: b.string(kv.value.value.value) };
  }
  return decodeRequest(encodeRequest(req), 'protobuf');
}

/** A loopback port with nobody listening. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function hangingServer(): Promise<{ endpoint: string; close: () => void }> {
  const s = http.createServer(() => {});
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

describe('FanoutConsumer', () => {
  const ok = consumerOf(() => {});
  const full = consumerOf(() => ({ rejectedProfiles: PROFILES, errorMessage: 'exporter "dest": sending queue is full' }));
  const half = consumerOf(() => ({ rejectedProfiles: 1, errorMessage: 'one profile had no samples' }));
  const closed = consumerOf(() => {
    throw new Error('exporter is shut down');
  });

  test('answers plain success when every branch keeps the request', async () => {
    const f = new FanoutConsumer([
      { name: 'ui', consumer: ok },
      { name: 'dest', consumer: ok },
    ]);
    assert.deepEqual(await f.consume({ request: REQUEST }), { rejectedProfiles: 0, errorMessage: '' });
  });

  test('answers partial success naming the branch that dropped it, when another branch kept it', async () => {
    const f = new FanoutConsumer([
      { name: 'ui', consumer: ok },
      { name: 'dest', consumer: full },
    ]);
    assert.deepEqual(await f.consume({ request: REQUEST }), { rejectedProfiles: PROFILES, errorMessage: 'exporter "dest": sending queue is full' });
    const g = new FanoutConsumer([
      { name: 'ui', consumer: closed },
      { name: 'dest', consumer: half },
    ]);
    assert.deepEqual(await g.consume({ request: REQUEST }), {
      rejectedProfiles: PROFILES,
      errorMessage: 'ui: exporter is shut down; dest: one profile had no samples',
    });
  });

  test('refuses (retryably) when no branch kept anything, since a retry duplicates nothing', async () => {
    const f = new FanoutConsumer([
      { name: 'ui', consumer: closed },
      { name: 'dest', consumer: full },
    ]);
    await assert.rejects(f.consume({ request: REQUEST }), /no destination took the request: ui: exporter is shut down; exporter "dest": sending queue is full/);
  });
});

describe('gatewayPlan', () => {
  const plan = (raw: unknown, overrides = {}) => gatewayPlan(parseConfig(raw, 'gw.yaml'), overrides, 'gw.yaml');

  test('feeds the UI when profiling is enabled, plus one exporter per destination with the shared tuning', () => {
    const p = plan({
      profiling: { enabled: true, exporter: { timeout: '2s', queue: { maxItems: 7 } }, gateway: { ui: { endpoint: 'ui:14317' } } },
      destinations: [
        { type: 'pyroscope', url: 'https://pyro.example', tenant: 'team-a', basicAuth: { username: 'u', password: 'p' } },
        { type: 'otlp', name: 'collector', endpoint: 'http://otel:4318', protocol: 'http', headers: { 'x-k': 'v' } },
      ],
    });
    assert.deepEqual(
      p.exporters.map((e) => [e.name, e.protocol, e.endpoint, e.timeout, e.sendingQueue?.maxItems]),
      [
        ['ui', 'grpc', 'ui:14317', 2000, 7],
        ['pyroscope', 'http', 'https://pyro.example', 2000, 7],
        ['collector', 'http', 'http://otel:4318', 2000, 7],
      ],
    );
    assert.deepEqual(p.exporters[1].headers, { 'X-Scope-OrgID': 'team-a', Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` });
    assert.deepEqual(p.exporters[2].headers, { 'x-k': 'v' });
  });

  test('a Pyroscope destination is reshaped and retries 500 by default; an OTLP one only when asked', () => {
    const p = plan({
      profiling: { enabled: true },
      destinations: [
        { type: 'pyroscope', url: 'http://pyro:4040' },
        { type: 'pyroscope', name: 'as-is', url: 'http://pyro:4040', attributes: { serviceNameFromWorkload: false, drop: [] }, retryOnHttpStatus: [] },
        { type: 'otlp', endpoint: 'otel:4317' },
        { type: 'otlp', name: 'trimmed', endpoint: 'http://otel:4318', protocol: 'http', attributes: { drop: ['thread.*'] }, retryOnHttpStatus: [500, 408] },
        { type: 'otlp', name: 'grpc-internal', endpoint: 'otel:4317', retryOnGrpcStatus: ['INTERNAL'] },
      ],
    });
    assert.deepEqual(
      p.exporters.map((e) => [e.name, e.shaping, e.retryOnHttpStatus ?? [], e.retryOnGrpcStatus ?? []]),
      [
        ['ui', undefined, [], []],
        ['pyroscope', { serviceNameFromWorkload: true, drop: [...PYROSCOPE_DROPPED_ATTRIBUTES] }, [500], []],
        // Still reshaped: Pyroscope reads attribute keys only in their plain form.
        ['as-is', { serviceNameFromWorkload: false, drop: [] }, [], []],
        ['otlp', undefined, [], []],
        ['trimmed', { serviceNameFromWorkload: false, drop: ['thread.*'] }, [500, 408], []],
        ['grpc-internal', undefined, [], ['INTERNAL']],
      ],
    );
  });

  test('flags win over the file; --ui-protocol http alone picks the UI default HTTP endpoint', () => {
    const p = plan(
      { profiling: { enabled: true } },
      { grpc: false, http: { host: '0.0.0.0', port: 9 }, uiProtocol: 'http', bearerToken: 't', maxRequestBytes: 10 },
    );
    assert.deepEqual(p.receiver, { grpc: false, http: { host: '0.0.0.0', port: 9 }, bearerToken: 't', maxRequestBytes: 10 });
    assert.deepEqual([p.exporters[0].protocol, p.exporters[0].endpoint], ['http', 'http://127.0.0.1:14318']);
  });

  test("the UI target subscribes through the UI's API by default; a file or --ui-api off turns that off", () => {
    assert.deepEqual(plan({ profiling: { enabled: true } }).exporters[0].subscription, { api: 'http://127.0.0.1:3000', usageIntervalMs: 1000 });
    const custom = { profiling: { enabled: true, gateway: { ui: { endpoint: 'ui:14317', subscription: { api: 'http://ui:3000', usageInterval: '5s' } } } } };
    assert.deepEqual(plan(custom).exporters[0].subscription, { api: 'http://ui:3000', usageIntervalMs: 5000 });
    assert.deepEqual(plan(custom, { uiApi: 'http://other:3000' }).exporters[0].subscription, { api: 'http://other:3000', usageIntervalMs: 5000 });
    assert.equal(plan(custom, { uiApi: false }).exporters[0].subscription, undefined);
    assert.equal(plan({ profiling: { enabled: true, gateway: { ui: { subscription: { enabled: false } } } } }).exporters[0].subscription, undefined);
    // Destinations never subscribe: they get everything.
    assert.equal(plan({ profiling: { enabled: true }, destinations: [{ type: 'otlp', endpoint: 'o:1' }] }).exporters[1].subscription, undefined);
  });

  test('a bad config names the key to fix', () => {
    const cases: [unknown, Record<string, unknown>, RegExp][] = [
      [{ destinations: [{ type: 'loki', url: 'http://x' }] }, {}, /^gw\.yaml: destinations\[0\]\.type: /],
      [
        {
          profiling: { enabled: true },
          destinations: [
            { type: 'otlp', endpoint: 'a:1' },
            { type: 'otlp', endpoint: 'b:1' },
          ],
        },
        {},
        /^gw\.yaml: destinations\[1\]\.name: "otlp" is already used/,
      ],
      [
        { profiling: { enabled: true }, destinations: [{ type: 'otlp', name: 'ui', endpoint: 'b:1' }] },
        {},
        /^gw\.yaml: destinations\[0\]\.name: "ui" is already used/,
      ],
      [
        { profiling: { enabled: true }, destinations: [{ type: 'pyroscope', url: 'ftp://pyro' }] },
        {},
        /^gw\.yaml: destinations\[0\]\.url: an HTTP endpoint is a URL/,
      ],
      [
        { profiling: { enabled: true }, destinations: [{ type: 'otlp', protocol: 'http', endpoint: 'otel:4318' }] },
        {},
        /^gw\.yaml: destinations\[0\]\.endpoint: an HTTP endpoint is a URL/,
      ],
      [{ profiling: { enabled: true, gateway: { ui: { endpoint: 'ui:1', protocol: 'http' } } } }, {}, /^gw\.yaml: profiling\.gateway\.ui\.endpoint: /],
      [{ profiling: { enabled: true } }, { uiEndpoint: 'ui:1', uiProtocol: 'http' }, /^--ui-endpoint: an HTTP endpoint is a URL/],
      [{ destinations: [{ type: 'otlp', name: 'b', endpoint: 'b:1' }] }, {}, /^gw\.yaml: profiling\.enabled: false, so the profiles pipeline is off/],
      [{ profiling: { enabled: true } }, { grpc: false, http: false }, /both OTLP listeners are off/],
      [{ profiling: { enabled: true, gateway: { ui: { subscription: { api: 'ui:3000' } } } } }, {}, /^gw\.yaml: profiling\.gateway\.ui\.subscription\.api: /],
      [{ profiling: { enabled: true } }, { uiApi: 'ui:3000' }, /^--ui-api: "ui:3000" is not an http\(s\) URL/],
      [
        { profiling: { enabled: true, gateway: { ui: { subscription: { usageInterval: '10ms' } } } } },
        {},
        /^gw\.yaml: profiling\.gateway\.ui\.subscription\.usageInterval: 10 ms is too short/,
      ],
      [
        { profiling: { enabled: true, gateway: { ui: { subscription: { enable: true } } } } },
        {},
        /^gw\.yaml: profiling\.gateway\.ui\.subscription: unknown key "enable"/,
      ],
      [
        { destinations: [{ type: 'pyroscope', url: 'http://p', retryOnHttpStatus: [200] }] },
        {},
        /^gw\.yaml: destinations\[0\]\.retryOnHttpStatus\[0\]: an HTTP error status is 400-599/,
      ],
      [
        { destinations: [{ type: 'pyroscope', url: 'http://p', retryOnGrpcStatus: ['INTERNAL'] }] },
        {},
        /^gw\.yaml: destinations\[0\]: unknown key "retryOnGrpcStatus"/,
      ],
      [{ destinations: [{ type: 'otlp', endpoint: 'c:1', retryOnGrpcStatus: ['BROKEN'] }] }, {}, /^gw\.yaml: destinations\[0\]\.retryOnGrpcStatus\[0\]: /],
      [
        { profiling: { enabled: true }, destinations: [{ type: 'otlp', endpoint: 'c:1', retryOnHttpStatus: [500] }] },
        {},
        /^gw\.yaml: destinations\[0\]\.retryOnHttpStatus: applies to protocol: http, and this one is grpc/,
      ],
      [
        { profiling: { enabled: true }, destinations: [{ type: 'otlp', endpoint: 'http://c:1', protocol: 'http', retryOnGrpcStatus: ['INTERNAL'] }] },
        {},
        /^gw\.yaml: destinations\[0\]\.retryOnGrpcStatus: applies to protocol: grpc/,
      ],
      [
        { destinations: [{ type: 'pyroscope', url: 'http://p', attributes: { dropp: [] } }] },
        {},
        /^gw\.yaml: destinations\[0\]\.attributes: unknown key "dropp"/,
      ],
      [
        { destinations: [{ type: 'pyroscope', url: 'http://p', attributes: { drop: ['process.pid', ''] } }] },
        {},
        /^gw\.yaml: destinations\[0\]\.attributes\.drop\[1\]: /,
      ],
      [
        { destinations: [{ type: 'otlp', endpoint: 'c:1', attributes: { serviceNameFromWorkload: 'yes' } }] },
        {},
        /^gw\.yaml: destinations\[0\]\.attributes\.serviceNameFromWorkload: /,
      ],
      [
        { profiling: { enabled: true }, destinations: [{ type: 'pyroscope', url: 'http://p', attributes: { drop: ['thread.id', 'service.*'] } }] },
        {},
        /^gw\.yaml: destinations\[0\]\.attributes\.drop\[1\]: "service\.\*" would drop service\.name/,
      ],
    ];
    for (const [raw, overrides, message] of cases) {
      assert.throws(
        () => plan(raw, overrides),
        (err: Error) => err instanceof ConfigFileError && message.test(err.message),
        JSON.stringify(raw),
      );
    }
  });
});

describe('Gateway over loopback', () => {
  test('fans one request out to the UI and an OTLP/gRPC destination, the same bytes to each, over HTTP and gRPC', async () => {
    const ui = await uiReceiver();
    const dest = await grpcSink();
    const { gw, httpUrl, grpcAddr } = await startGateway([
      { name: 'ui', protocol: 'grpc', endpoint: ui.grpc, ...FAST },
      { name: 'otlp', protocol: 'grpc', endpoint: dest.endpoint, headers: { 'x-tenant': 'blue' }, ...FAST, enableDataCompression: true },
    ]);
    try {
      assert.deepEqual(await postHttp(httpUrl), { status: 200, result: { rejectedProfiles: 0, errorMessage: '' } });
      assert.deepEqual(await grpcExport(grpcAddr), { code: grpc.status.OK, result: { rejectedProfiles: 0, errorMessage: '' } });
      await waitFor('both targets have both requests', () => ui.received.length === 2 && dest.accepted.length === 2);
      await Promise.all(gw.exporters.map((e) => e.idle()));
      for (const b of ui.received) assert.deepEqual(Buffer.from(encodeRequest(b.request)), BYTES);
      assert.deepEqual(dest.accepted, [BYTES, BYTES]);
      assert.equal(dest.headers[0]['x-tenant'], 'blue');
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_sent_requests_total', { exporter: 'otlp' }), 2);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_sent_requests_total', { exporter: 'ui' }), 2);
    } finally {
      await gw.stop(1000);
      await ui.stop();
      await dest.close();
    }
  });

  for (const [label, down] of [
    ['answering 503', async () => httpSink(() => ({ status: 503 }))],
    ['with its port closed', async () => ({ endpoint: `http://127.0.0.1:${await closedPort()}`, attempts: 0, close: async () => {} })],
  ] as const) {
    test(`keeps feeding the UI while a destination is down (${label})`, async () => {
      const ui = await uiReceiver();
      const dead = await down();
      const { gw, httpUrl } = await startGateway([
        { name: 'ui', protocol: 'http', endpoint: ui.http, ...FAST },
        // A small queue, so the dead destination fills it and then drops while the UI goes on.
        { name: 'dead', protocol: 'http', endpoint: dead.endpoint, ...FAST, sendingQueue: { maxItems: 2, numConsumers: 1 } },
      ]);
      try {
        const N = 20;
        const answers: ConsumeResult[] = [];
        for (let i = 0; i < N; i++) {
          const r = await postHttp(httpUrl);
          assert.equal(r.status, 200, r.result.errorMessage);
          answers.push(r.result);
        }
        await waitFor('the UI has every request', () => ui.received.length === N);
        await gw.exporters[0].idle();
        // The dead destination's queue filled: later answers say so, naming it, while the UI had them all.
        const partial = answers.filter((a) => a.rejectedProfiles > 0);
        assert.ok(partial.length > 0, 'some answers report the dead destination dropping');
        for (const a of partial)
          assert.deepEqual(a, {
            rejectedProfiles: PROFILES,
            errorMessage: 'exporter "dead": sending queue is full (2 requests or 67108864 bytes); request dropped',
          });
        assert.equal(
          promValue(await gw.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { exporter: 'dead', reason: 'queue_full' }),
          partial.length,
        );
        assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_sent_requests_total', { exporter: 'ui' }), N);
        if (label === 'answering 503') assert.ok(dead.attempts > 0, 'the dead destination was tried');
        assert.ok(
          promValue(await gw.registry.metrics(), 'pilotlight_exporter_retries_total', { exporter: 'dead' }) > 0,
          'the dead destination is being retried',
        );
      } finally {
        await gw.stop(500);
        await ui.stop();
        await dead.close();
      }
    });
  }

  test('refuses with 503 / UNAVAILABLE when every target dropped the request, so the sender retries', async () => {
    // A destination that takes requests and never answers (closed with the test, so no timer lingers).
    const slow = await hangingServer();
    const { gw, httpUrl, grpcAddr } = await startGateway([
      { name: 'only', protocol: 'http', endpoint: slow.endpoint, ...FAST, sendingQueue: { maxItems: 1, numConsumers: 1 } },
    ]);
    try {
      // One in flight, one queued; the third finds the queue full.
      assert.equal((await postHttp(httpUrl)).status, 200);
      await waitFor('the first request is in flight', () => gw.exporters[0].queueSize === 0);
      assert.equal((await postHttp(httpUrl)).status, 200);
      const refused = await postHttp(httpUrl);
      assert.equal(refused.status, 503);
      assert.match(refused.result.errorMessage, /no destination took the request: exporter "only": sending queue is full/);
      const g = await grpcExport(grpcAddr);
      assert.equal(g.code, grpc.status.UNAVAILABLE);
    } finally {
      await gw.stop(200);
      slow.close();
    }
  });

  test('a pyroscope destination POSTs to {url}/v1development/profiles with X-Scope-OrgID and basic auth', async () => {
    const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: Buffer }[] = [];
    const pyro = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((r) => pyro.listen(0, '127.0.0.1', r));
    const ui = await uiReceiver();
    const config = parseConfig({
      profiling: { enabled: true, exporter: { enableDataCompression: true, retryOnFailure: { initialInterval: '1ms', maxInterval: '5ms' } } },
      destinations: [
        {
          type: 'pyroscope',
          url: `http://127.0.0.1:${(pyro.address() as AddressInfo).port}/pyro`,
          tenant: 'team-a',
          basicAuth: { username: 'alice', password: 's3cret' },
        },
      ],
    });
    const plan = gatewayPlan(config, { grpc: LOOPBACK, http: LOOPBACK, uiEndpoint: ui.grpc, uiApi: false });
    const gw = new Gateway(plan);
    const a = await gw.start();
    try {
      assert.equal((await postHttp(`http://127.0.0.1:${a.http!.port}`)).status, 200);
      await waitFor('pyroscope and the UI have the request', () => seen.length === 1 && ui.received.length === 1);
      const [r] = seen;
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/pyro/v1development/profiles');
      assert.equal(r.headers['x-scope-orgid'], 'team-a');
      assert.equal(r.headers.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      assert.equal(r.headers['content-type'], 'application/x-protobuf');
      assert.equal(r.headers['content-encoding'], 'gzip');
      // Reshaped for Pyroscope (see below), with every stack and count as received.
      assert.deepEqual(foldedByWorkload(decodeRequest(gunzipSync(r.body), 'protobuf')), foldedByWorkload(REQUEST));
    } finally {
      await gw.stop(500);
      await ui.stop();
      pyro.closeAllConnections();
      await new Promise<void>((r) => pyro.close(() => r()));
    }
  });

  test('serves /healthz, /readyz and /metrics on its OTLP/HTTP port; /readyz fails once stopping', async () => {
    const ui = await uiReceiver();
    const { gw, httpUrl } = await startGateway([{ name: 'ui', protocol: 'grpc', endpoint: ui.grpc, ...FAST }]);
    try {
      assert.equal((await fetch(`${httpUrl}/healthz`)).status, 200);
      assert.equal((await fetch(`${httpUrl}/readyz`)).status, 200);
      assert.equal((await postHttp(httpUrl)).status, 200);
      const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
      assert.match(metrics, /pilotlight_receiver_requests_total\{transport="http",outcome="accepted"\} 1/);
      assert.match(metrics, /pilotlight_exporter_queue_capacity\{exporter="ui"\} 1000/);
    } finally {
      await gw.stop(500);
      await ui.stop();
    }
    await assert.rejects(fetch(`${httpUrl}/healthz`), 'the port is closed after stop');
  });
});

describe('Gateway reshaping for Pyroscope', () => {
  /** A gateway from a config file's destinations, feeding a UI stand-in; retries in milliseconds. */
  async function plannedGateway(destinations: unknown[], uiEndpoint: string): Promise<{ gw: Gateway; httpUrl: string }> {
    const config = parseConfig({
      profiling: { enabled: true, exporter: { enableDataCompression: false, retryOnFailure: { initialInterval: '1ms', maxInterval: '5ms' } } },
      destinations,
    });
    const gw = new Gateway(gatewayPlan(config, { grpc: LOOPBACK, http: LOOPBACK, uiEndpoint, uiApi: false }));
    const a = await gw.start();
    return { gw, httpUrl: `http://127.0.0.1:${a.http!.port}` };
  }

  test('Pyroscope gets plain keys, service.name from the workload and no pid or thread; the UI and an OTLP destination get the request as sent', async () => {
    const ui = await uiReceiver();
    const pyro = await httpSink();
    const otlp = await httpSink();
    const { gw, httpUrl } = await plannedGateway(
      [
        { type: 'pyroscope', url: pyro.endpoint },
        { type: 'otlp', endpoint: otlp.endpoint, protocol: 'http' },
      ],
      ui.grpc,
    );
    const sent = collectorRequest();
    const bytes = Buffer.from(encodeRequest(sent));
    try {
      assert.equal((await postHttp(httpUrl, bytes)).status, 200);
      await Promise.all(gw.exporters.map((e) => e.idle()));
      await waitFor('the UI has the request', () => ui.received.length === 1);

      const shaped = decodeRequest(pyro.accepted[0], 'protobuf');
      assert.deepEqual(
        shaped.resourceProfiles.map((rp) => attributesOf(rp.resource?.attributes)),
        [
          { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout', 'service.name': 'checkout' },
          { 'service.name': 'payments', 'host.name': 'node-1' },
        ],
      );
      // No thread or pid: the two `pay` samples became one, and every stack keeps its count.
      assert.deepEqual(sampleAttributes(shaped), [[{}, {}], [{}]]);
      assert.deepEqual(foldedByWorkload(shaped), foldedByWorkload(sent));

      // The UI branch and the plain OTLP destination get the bytes as sent, pid, threads and references included.
      const asSent = ui.received[0].request;
      assert.deepEqual(Buffer.from(encodeRequest(asSent)), bytes);
      assert.equal(attributesOf(asSent.resourceProfiles[0].resource?.attributes)['process.pid'], 4242);
      assert.deepEqual(sampleAttributes(asSent)[0], [
        { 'process.pid': 4242, 'thread.name': 'worker-1' },
        { 'process.pid': 4242, 'thread.name': 'worker-2' },
        { 'thread.name': 'worker-1' },
      ]);
      assert.ok(
        Object.keys(attributesOf(asSent.resourceProfiles[1].resource?.attributes)).every((k) => k.startsWith('ref:')),
        'sent with key_strindex',
      );
      assert.deepEqual(otlp.accepted, [bytes]);

      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_shaped_requests_total', { exporter: 'pyroscope' }), 1);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_filled_service_names_total', { exporter: 'pyroscope' }), 1);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_dropped_attributes_total', { exporter: 'pyroscope', from: 'resource' }), 2);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_dropped_attributes_total', { exporter: 'pyroscope', from: 'sample' }), 5);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_merged_samples_total', { exporter: 'pyroscope' }), 1);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_shaped_requests_total', { exporter: 'otlp' }), 0);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_sent_samples_total', { exporter: 'pyroscope' }), 3);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_sent_samples_total', { exporter: 'ui' }), 4);
    } finally {
      await gw.stop(500);
      await ui.stop();
      await pyro.close();
      await otlp.close();
    }
  });

  test('with attributes.drop: [] Pyroscope gets every attribute, still with plain keys and a service.name', async () => {
    const ui = await uiReceiver();
    const pyro = await httpSink();
    const { gw, httpUrl } = await plannedGateway([{ type: 'pyroscope', url: pyro.endpoint, attributes: { drop: [] } }], ui.grpc);
    try {
      assert.equal((await postHttp(httpUrl, encodeRequest(collectorRequest()))).status, 200);
      await Promise.all(gw.exporters.map((e) => e.idle()));
      const shaped = decodeRequest(pyro.accepted[0], 'protobuf');
      assert.deepEqual(
        shaped.resourceProfiles.map((rp) => attributesOf(rp.resource?.attributes)),
        [
          {
            'k8s.namespace.name': 'shop',
            'k8s.deployment.name': 'checkout',
            'k8s.pod.name': 'checkout-5d9f-x',
            'process.pid': 4242,
            'service.name': 'checkout',
          },
          { 'service.name': 'payments', 'host.name': 'node-1' },
        ],
      );
      assert.deepEqual(sampleAttributes(shaped)[0], [
        { 'process.pid': 4242, 'thread.name': 'worker-1' },
        { 'process.pid': 4242, 'thread.name': 'worker-2' },
        { 'thread.name': 'worker-1' },
      ]);
      assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_gateway_dropped_attributes_total', { exporter: 'pyroscope' }), 0);
    } finally {
      await gw.stop(500);
      await ui.stop();
      await pyro.close();
    }
  });

  test('a 500 is retried and delivered where the destination opts in (Pyroscope by default), and dropped as permanent elsewhere', async () => {
    const ui = await uiReceiver();
    const sinks: Record<string, Sink> = {};
    for (const name of ['pyroscope', 'pyroscope-otlp-rules', 'otlp-500', 'otlp']) sinks[name] = await httpSink((n) => ({ status: n === 0 ? 500 : 200 }));
    const { gw, httpUrl } = await plannedGateway(
      [
        { type: 'pyroscope', url: sinks.pyroscope.endpoint },
        { type: 'pyroscope', name: 'pyroscope-otlp-rules', url: sinks['pyroscope-otlp-rules'].endpoint, retryOnHttpStatus: [] },
        { type: 'otlp', name: 'otlp-500', endpoint: sinks['otlp-500'].endpoint, protocol: 'http', retryOnHttpStatus: [500] },
        { type: 'otlp', endpoint: sinks.otlp.endpoint, protocol: 'http' },
      ],
      ui.grpc,
    );
    try {
      assert.equal((await postHttp(httpUrl)).status, 200);
      await Promise.all(gw.exporters.map((e) => e.idle()));
      for (const name of ['pyroscope', 'otlp-500']) {
        assert.deepEqual([sinks[name].attempts, sinks[name].accepted.length], [2, 1], name);
        assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_retries_total', { exporter: name, reason: 'http_500' }), 1, name);
        assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_sent_requests_total', { exporter: name }), 1, name);
        assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { exporter: name }), 0, name);
      }
      for (const name of ['pyroscope-otlp-rules', 'otlp']) {
        assert.deepEqual([sinks[name].attempts, sinks[name].accepted.length], [1, 0], name);
        assert.equal(
          promValue(await gw.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { exporter: name, reason: 'permanent_error' }),
          1,
          name,
        );
        assert.equal(promValue(await gw.registry.metrics(), 'pilotlight_exporter_retries_total', { exporter: name }), 0, name);
      }
    } finally {
      await gw.stop(500);
      await ui.stop();
      for (const sink of Object.values(sinks)) await sink.close();
    }
  });
});
