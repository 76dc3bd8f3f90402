import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { K8S_CHECKOUT, K8S_INVENTORY, requestFromFolded } from '../../test/helpers/fixtures.js';
import { ConfigFileError, parseConfig } from '../config/load.js';
import { decodeResponse, encodeRequest } from '../otlp/codec.js';
import { consumerOf, type ConsumeResult, type ProfilesBatch } from '../pipeline/consumer.js';
import { exportMethod } from '../pipeline/otlp-grpc.js';
import { Receiver } from '../pipeline/receiver.js';
import { grpcSink, httpSink } from '../pipeline/test-sinks.js';
import { FanoutConsumer } from './fanout.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { gatewayPlan } from './plan.js';

const REQUEST = requestFromFolded([
  { resource: K8S_INVENTORY, folded: 'main;work;hot 10\nmain;idle 3' },
  { resource: K8S_CHECKOUT, folded: 'main;pay 4' },
]);
const BYTES = Buffer.from(encodeRequest(REQUEST));
const PROFILES = 2;

/** Millisecond backoff so tests are quick; no assertion depends on timing. */
const FAST = { enableDataCompression: false, timeout: 2000, retryOnFailure: { initialInterval: 1, maxInterval: 5, maxElapsedTime: 60_000 } };
const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** Waits for a condition (a wait, not a timing assertion: it only bounds a hang). */
async function until(what: string, cond: () => boolean, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

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

async function metric(gw: Gateway, name: string, labels: string): Promise<number> {
  const text = await gw.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
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
    const f = new FanoutConsumer([{ name: 'ui', consumer: ok }, { name: 'dest', consumer: ok }]);
    assert.deepEqual(await f.consume({ request: REQUEST }), { rejectedProfiles: 0, errorMessage: '' });
  });

  test('answers partial success naming the branch that dropped it, when another branch kept it', async () => {
    const f = new FanoutConsumer([{ name: 'ui', consumer: ok }, { name: 'dest', consumer: full }]);
    assert.deepEqual(await f.consume({ request: REQUEST }), { rejectedProfiles: PROFILES, errorMessage: 'exporter "dest": sending queue is full' });
    const g = new FanoutConsumer([{ name: 'ui', consumer: closed }, { name: 'dest', consumer: half }]);
    assert.deepEqual(await g.consume({ request: REQUEST }), { rejectedProfiles: PROFILES, errorMessage: 'ui: exporter is shut down; dest: one profile had no samples' });
  });

  test('refuses (retryably) when no branch kept anything, since a retry duplicates nothing', async () => {
    const f = new FanoutConsumer([{ name: 'ui', consumer: closed }, { name: 'dest', consumer: full }]);
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

  test('flags win over the file; --ui-protocol http alone picks the UI default HTTP endpoint', () => {
    const p = plan({ profiling: { enabled: true } }, { grpc: false, http: { host: '0.0.0.0', port: 9 }, uiProtocol: 'http', bearerToken: 't', maxRequestBytes: 10 });
    assert.deepEqual(p.receiver, { grpc: false, http: { host: '0.0.0.0', port: 9 }, bearerToken: 't', maxRequestBytes: 10 });
    assert.deepEqual([p.exporters[0].protocol, p.exporters[0].endpoint], ['http', 'http://127.0.0.1:14318']);
  });

  test('a bad config names the key to fix', () => {
    const cases: [unknown, Record<string, unknown>, RegExp][] = [
      [{ destinations: [{ type: 'loki', url: 'http://x' }] }, {}, /^gw\.yaml: destinations\[0\]\.type: /],
      [{ profiling: { enabled: true }, destinations: [{ type: 'otlp', endpoint: 'a:1' }, { type: 'otlp', endpoint: 'b:1' }] }, {}, /^gw\.yaml: destinations\[1\]\.name: "otlp" is already used/],
      [{ profiling: { enabled: true }, destinations: [{ type: 'otlp', name: 'ui', endpoint: 'b:1' }] }, {}, /^gw\.yaml: destinations\[0\]\.name: "ui" is already used/],
      [{ profiling: { enabled: true }, destinations: [{ type: 'pyroscope', url: 'ftp://pyro' }] }, {}, /^gw\.yaml: destinations\[0\]\.url: an HTTP endpoint is a URL/],
      [{ profiling: { enabled: true }, destinations: [{ type: 'otlp', protocol: 'http', endpoint: 'otel:4318' }] }, {}, /^gw\.yaml: destinations\[0\]\.endpoint: an HTTP endpoint is a URL/],
      [{ profiling: { enabled: true, gateway: { ui: { endpoint: 'ui:1', protocol: 'http' } } } }, {}, /^gw\.yaml: profiling\.gateway\.ui\.endpoint: /],
      [{ profiling: { enabled: true } }, { uiEndpoint: 'ui:1', uiProtocol: 'http' }, /^--ui-endpoint: an HTTP endpoint is a URL/],
      [{ destinations: [{ type: 'otlp', name: 'b', endpoint: 'b:1' }] }, {}, /^gw\.yaml: profiling\.enabled: false, so the profiles pipeline is off/],
      [{ profiling: { enabled: true } }, { grpc: false, http: false }, /both OTLP listeners are off/],
    ];
    for (const [raw, overrides, message] of cases) {
      assert.throws(() => plan(raw, overrides), (err: Error) => err instanceof ConfigFileError && message.test(err.message), JSON.stringify(raw));
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
      await until('both targets have both requests', () => ui.received.length === 2 && dest.accepted.length === 2);
      await Promise.all(gw.exporters.map((e) => e.idle()));
      for (const b of ui.received) assert.deepEqual(Buffer.from(encodeRequest(b.request)), BYTES);
      assert.deepEqual(dest.accepted, [BYTES, BYTES]);
      assert.equal(dest.headers[0]['x-tenant'], 'blue');
      assert.equal(await metric(gw, 'pilotlight_exporter_sent_requests_total', 'exporter="otlp"'), 2);
      assert.equal(await metric(gw, 'pilotlight_exporter_sent_requests_total', 'exporter="ui"'), 2);
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
        await until('the UI has every request', () => ui.received.length === N);
        await gw.exporters[0].idle();
        // The dead destination's queue filled: later answers say so, naming it, while the UI had them all.
        const partial = answers.filter((a) => a.rejectedProfiles > 0);
        assert.ok(partial.length > 0, 'some answers report the dead destination dropping');
        for (const a of partial) assert.deepEqual(a, { rejectedProfiles: PROFILES, errorMessage: 'exporter "dead": sending queue is full (2 requests or 67108864 bytes); request dropped' });
        assert.equal(await metric(gw, 'pilotlight_exporter_dropped_requests_total', 'exporter="dead",reason="queue_full"'), partial.length);
        assert.equal(await metric(gw, 'pilotlight_exporter_sent_requests_total', 'exporter="ui"'), N);
        if (label === 'answering 503') assert.ok(dead.attempts > 0, 'the dead destination was tried');
        assert.ok((await metric(gw, 'pilotlight_exporter_retries_total', 'exporter="dead"')) > 0, 'the dead destination is being retried');
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
    const { gw, httpUrl, grpcAddr } = await startGateway([{ name: 'only', protocol: 'http', endpoint: slow.endpoint, ...FAST, sendingQueue: { maxItems: 1, numConsumers: 1 } }]);
    try {
      // One in flight, one queued; the third finds the queue full.
      assert.equal((await postHttp(httpUrl)).status, 200);
      await until('the first request is in flight', () => gw.exporters[0].queueSize === 0);
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
      profiling: { enabled: true, exporter: { retryOnFailure: { initialInterval: '1ms', maxInterval: '5ms' } } },
      destinations: [{ type: 'pyroscope', url: `http://127.0.0.1:${(pyro.address() as AddressInfo).port}/pyro`, tenant: 'team-a', basicAuth: { username: 'alice', password: 's3cret' } }],
    });
    const plan = gatewayPlan(config, { grpc: LOOPBACK, http: LOOPBACK, uiEndpoint: ui.grpc });
    const gw = new Gateway(plan);
    const a = await gw.start();
    try {
      assert.equal((await postHttp(`http://127.0.0.1:${a.http!.port}`)).status, 200);
      await until('pyroscope and the UI have the request', () => seen.length === 1 && ui.received.length === 1);
      const [r] = seen;
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/pyro/v1development/profiles');
      assert.equal(r.headers['x-scope-orgid'], 'team-a');
      assert.equal(r.headers.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      assert.equal(r.headers['content-type'], 'application/x-protobuf');
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.deepEqual(gunzipSync(r.body), BYTES);
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
