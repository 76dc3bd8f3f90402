import { create, equals } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { decodeRequest, decodeResponse, encodeRequest } from '../../otlp/codec.js';
import { ExportProfilesServiceRequestSchema, type ExportProfilesServiceRequest } from '../../otlp/messages.js';
import { K8S_INVENTORY, requestFromFolded } from '../../../test/helpers/fixtures.js';
import { consumerOf, type ProfilesBatch } from '../consumer.js';
import { exportMethod } from '../otlp-grpc.js';
import { Receiver, type ReceiverOptions } from './receiver.js';
import { decodeRpcStatus } from '../rpc-status.js';

const GOOD = requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;work;hot 10\nmain;idle 3' }]);
const GOOD_BYTES = encodeRequest(GOOD);

interface Harness {
  receiver: Receiver;
  received: ProfilesBatch[];
  httpUrl: string;
  grpcClient: grpc.Client;
  /** grpc-js compresses per channel, so gzip needs its own client. */
  grpcGzipClient: grpc.Client;
}

async function startReceiver(opts: Partial<ReceiverOptions> = {}): Promise<Harness> {
  const received: ProfilesBatch[] = [];
  const receiver = new Receiver({
    grpc: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    registry: new Registry(),
    consumer: consumerOf((b) => {
      received.push(b);
    }),
    ...opts,
  });
  const addrs = await receiver.start();
  const grpcClient = new grpc.Client(`127.0.0.1:${addrs.grpc!.port}`, grpc.credentials.createInsecure());
  const grpcGzipClient = new grpc.Client(`127.0.0.1:${addrs.grpc!.port}`, grpc.credentials.createInsecure(), {
    'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
  });
  return { receiver, received, httpUrl: `http://127.0.0.1:${addrs.http!.port}/v1development/profiles`, grpcClient, grpcGzipClient };
}

async function stopHarness(h: Harness): Promise<void> {
  h.grpcClient.close();
  h.grpcGzipClient.close();
  await h.receiver.stop(1000);
}

function grpcExport(client: grpc.Client, bytes: Uint8Array, opts: { token?: string } = {}): Promise<{ response?: Uint8Array; error?: grpc.ServiceError }> {
  const md = new grpc.Metadata();
  if (opts.token) md.set('authorization', `Bearer ${opts.token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(exportMethod.path, exportMethod.requestSerialize, exportMethod.responseDeserialize, bytes, md, (error, response) =>
      resolve({ error: error ?? undefined, response }),
    );
  });
}

async function httpExport(url: string, body: Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; type: string }> {
  const res = await fetch(url, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/x-protobuf', ...headers } });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') ?? '' };
}

/** After every refusal, a good request must still go through on both transports. */
async function assertStillServes(h: Harness): Promise<void> {
  const before = h.received.length;
  const r = await httpExport(h.httpUrl, GOOD_BYTES);
  assert.equal(r.status, 200);
  const g = await grpcExport(h.grpcClient, GOOD_BYTES);
  assert.equal(g.error, undefined);
  assert.equal(h.received.length, before + 2);
}

function sameRequest(a: ExportProfilesServiceRequest, b: ExportProfilesServiceRequest): boolean {
  return equals(ExportProfilesServiceRequestSchema, a, b);
}

describe('Receiver', () => {
  let h: Harness;
  before(async () => {
    h = await startReceiver({ maxRequestBytes: 64 * 1024, maxDecompressedBytes: 256 * 1024 });
  });
  after(() => stopHarness(h));

  test('reports the ports it bound when asked for port 0', () => {
    const a = h.receiver.addresses;
    assert.ok(a.grpc!.port > 0 && a.http!.port > 0);
    assert.notEqual(a.grpc!.port, a.http!.port);
  });

  test('HTTP protobuf, HTTP JSON, HTTP gzip, gRPC and gRPC gzip hand on the same request', async () => {
    h.received.length = 0;
    assert.equal((await httpExport(h.httpUrl, GOOD_BYTES)).status, 200);
    const json = encodeRequest(GOOD, 'json');
    const jr = await httpExport(h.httpUrl, json, { 'content-type': 'application/json' });
    assert.equal(jr.status, 200);
    assert.match(jr.type, /application\/json/);
    assert.deepEqual(JSON.parse(jr.body.toString()), {});
    assert.equal((await httpExport(h.httpUrl, gzipSync(GOOD_BYTES), { 'content-encoding': 'gzip' })).status, 200);
    assert.equal((await grpcExport(h.grpcClient, GOOD_BYTES)).error, undefined);
    assert.equal((await grpcExport(h.grpcGzipClient, GOOD_BYTES)).error, undefined);
    assert.equal(h.received.length, 5);
    // Counted on the way in (both encodings); every request arrives read on the wire path.
    for (const b of h.received) assert.deepEqual(b.stats, { profiles: 1, samples: 2 });
    for (const b of h.received) assert.equal(b.wire?.samples.count, 2);
    for (const b of h.received) assert.ok(sameRequest(b.request, GOOD));
    // Protobuf bytes are handed on for forwarding as received; JSON as its protobuf encoding.
    for (const i of [0, 2, 3, 4]) assert.deepEqual(Buffer.from(h.received[i].encoded!), Buffer.from(GOOD_BYTES));
    assert.ok(sameRequest(decodeRequest(h.received[1].encoded!, 'protobuf'), GOOD));
  });

  test('a gzipped protobuf body is handed on with its gzip bytes, only when they are one plain gzip member', async () => {
    h.received.length = 0;
    const gz = gzipSync(GOOD_BYTES);
    assert.equal((await httpExport(h.httpUrl, gz, { 'content-encoding': 'gzip' })).status, 200);
    // zlib reads past trailing zero bytes; such a body is read, but its bytes are not sent on.
    assert.equal((await httpExport(h.httpUrl, Buffer.concat([gz, Buffer.alloc(8)]), { 'content-encoding': 'gzip' })).status, 200);
    const json = gzipSync(encodeRequest(GOOD, 'json'));
    assert.equal((await httpExport(h.httpUrl, json, { 'content-encoding': 'gzip', 'content-type': 'application/json' })).status, 200);
    assert.equal((await httpExport(h.httpUrl, GOOD_BYTES)).status, 200);
    assert.equal(h.received.length, 4);
    assert.deepEqual(Buffer.from(h.received[0].gzipped!), gz);
    for (const i of [1, 2, 3]) assert.equal(h.received[i].gzipped, undefined);
    for (const b of h.received) assert.ok(sameRequest(b.request, GOOD));
  });

  test('an out-of-range stack index is refused with the path, 400 and INVALID_ARGUMENT', async () => {
    const bad = create(ExportProfilesServiceRequestSchema, GOOD);
    const bogus = bad.dictionary!.stackTable.length + 900;
    bad.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[1].stackIndex = bogus;
    const bytes = encodeRequest(bad);
    const r = await httpExport(h.httpUrl, bytes);
    assert.equal(r.status, 400);
    const status = decodeRpcStatus(r.body)!;
    assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    assert.match(status.message, /resource_profiles\[0\].*samples\[1\]\.stack_index: \d+ out of range/);
    const g = await grpcExport(h.grpcClient, bytes);
    assert.equal(g.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(g.error!.details, /samples\[1\]\.stack_index/);
    await assertStillServes(h);
  });

  test('malformed protobuf and malformed JSON are 400 with a readable JSON error for JSON', async () => {
    const r = await httpExport(h.httpUrl, Buffer.from([0xff, 0xff, 0xff]));
    assert.equal(r.status, 400);
    assert.match(decodeRpcStatus(r.body)!.message, /malformed protobuf/);
    const j = await httpExport(h.httpUrl, Buffer.from('{"resourceProfiles": ['), { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(j.status, 400);
    assert.match(JSON.parse(j.body.toString()).message, /malformed JSON/);
    const g = await grpcExport(h.grpcClient, Buffer.from([0xff, 0xff, 0xff]));
    assert.equal(g.error?.code, grpc.status.INVALID_ARGUMENT);
    await assertStillServes(h);
  });

  test('an unknown content type is 415 naming the accepted ones', async () => {
    const r = await httpExport(h.httpUrl, GOOD_BYTES, { 'content-type': 'text/plain' });
    assert.equal(r.status, 415);
    assert.match(JSON.parse(r.body.toString()).message, /application\/x-protobuf or application\/json/);
    const e = await httpExport(h.httpUrl, GOOD_BYTES, { 'content-encoding': 'br' });
    assert.equal(e.status, 415);
    assert.match(decodeRpcStatus(e.body)!.message, /Content-Encoding/);
    await assertStillServes(h);
  });

  test('a body over maxRequestBytes is 413; gRPC past the message limit is RESOURCE_EXHAUSTED', async () => {
    const big = new Uint8Array(300 * 1024);
    const r = await httpExport(h.httpUrl, big);
    assert.equal(r.status, 413);
    assert.match(decodeRpcStatus(r.body)!.message, /maxRequestBytes = 65536/);
    const g = await grpcExport(h.grpcClient, big);
    assert.equal(g.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    await assertStillServes(h);
  });

  test('a gzip bomb is refused while inflating: 413 and RESOURCE_EXHAUSTED', async () => {
    const bomb = gzipSync(new Uint8Array(10 * 1024 * 1024));
    assert.ok(bomb.byteLength < 64 * 1024);
    const r = await httpExport(h.httpUrl, bomb, { 'content-encoding': 'gzip' });
    assert.equal(r.status, 413);
    assert.match(decodeRpcStatus(r.body)!.message, /maxDecompressedBytes = 262144/);
    const g = await grpcExport(h.grpcGzipClient, new Uint8Array(10 * 1024 * 1024));
    assert.equal(g.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(g.error!.details, /decompresses to a size larger than 262144/);
    await assertStillServes(h);
  });

  test('a corrupt gzip body is 400', async () => {
    const r = await httpExport(h.httpUrl, Buffer.from([0x1f, 0x8b, 1, 2, 3]), { 'content-encoding': 'gzip' });
    assert.equal(r.status, 400);
    await assertStillServes(h);
  });

  test('counts requests by transport and outcome', async () => {
    const text = await h.receiver.registry.metrics();
    assert.match(text, /pilotlight_receiver_requests_total\{transport="http",outcome="accepted"\} \d+/);
    assert.match(text, /pilotlight_receiver_requests_total\{transport="http",outcome="too_large"\} [1-9]/);
    assert.match(text, /pilotlight_receiver_requests_total\{transport="grpc",outcome="invalid"\} [1-9]/);
    assert.match(text, /pilotlight_receiver_samples_total\{transport="grpc",outcome="accepted"\} [1-9]/);
  });
});

describe('Receiver with a consumer that rejects or fails', () => {
  test('partial_success carries what the consumer rejected', async () => {
    const h = await startReceiver({
      consumer: consumerOf(() => ({ rejectedProfiles: 1, errorMessage: 'no slot for default/Deployment/inventory' })),
    });
    try {
      const r = await httpExport(h.httpUrl, GOOD_BYTES);
      assert.equal(r.status, 200);
      const res = decodeResponse(r.body, 'protobuf');
      assert.equal(res.partialSuccess?.rejectedProfiles, 1n);
      assert.equal(res.partialSuccess?.errorMessage, 'no slot for default/Deployment/inventory');
      const g = await grpcExport(h.grpcClient, GOOD_BYTES);
      assert.equal(decodeResponse(g.response!, 'protobuf').partialSuccess?.rejectedProfiles, 1n);
    } finally {
      await stopHarness(h);
    }
  });

  test('a consumer that throws gives 503 / UNAVAILABLE so the sender retries', async () => {
    let fail = true;
    const h = await startReceiver({
      consumer: consumerOf(() => {
        if (fail) throw new Error('queue closed');
      }),
    });
    try {
      const r = await httpExport(h.httpUrl, GOOD_BYTES);
      assert.equal(r.status, 503);
      assert.match(decodeRpcStatus(r.body)!.message, /queue closed/);
      const g = await grpcExport(h.grpcClient, GOOD_BYTES);
      assert.equal(g.error?.code, grpc.status.UNAVAILABLE);
      fail = false;
      assert.equal((await httpExport(h.httpUrl, GOOD_BYTES)).status, 200);
    } finally {
      await stopHarness(h);
    }
  });
});

describe('Receiver with a bearer token', () => {
  test('refuses a missing or wrong token (401 / UNAUTHENTICATED) and accepts the right one', async () => {
    const h = await startReceiver({ bearerToken: 's3cret' });
    try {
      assert.equal((await httpExport(h.httpUrl, GOOD_BYTES)).status, 401);
      assert.equal((await httpExport(h.httpUrl, GOOD_BYTES, { authorization: 'Bearer nope' })).status, 401);
      assert.equal((await httpExport(h.httpUrl, GOOD_BYTES, { authorization: 'Bearer s3cret' })).status, 200);
      assert.equal((await grpcExport(h.grpcClient, GOOD_BYTES)).error?.code, grpc.status.UNAUTHENTICATED);
      assert.equal((await grpcExport(h.grpcClient, GOOD_BYTES, { token: 'wrong' })).error?.code, grpc.status.UNAUTHENTICATED);
      assert.equal((await grpcExport(h.grpcClient, GOOD_BYTES, { token: 's3cret' })).error, undefined);
      assert.equal(h.received.length, 2);
    } finally {
      await stopHarness(h);
    }
  });
});

describe('Receiver lifecycle', () => {
  test('only the configured transports listen', async () => {
    const r = new Receiver({ grpc: false, http: { host: '127.0.0.1', port: 0 }, consumer: consumerOf(() => {}) });
    const a = await r.start();
    assert.equal(a.grpc, undefined);
    assert.ok(a.http!.port > 0);
    assert.equal(r.ready, true);
    await r.stop();
    assert.equal(r.ready, false);
  });

  test('a port already in use fails start() with a clear error', async () => {
    const first = new Receiver({ grpc: false, http: { host: '127.0.0.1', port: 0 }, consumer: consumerOf(() => {}) });
    const { http } = await first.start();
    const second = new Receiver({ grpc: false, http: { host: '127.0.0.1', port: http!.port }, consumer: consumerOf(() => {}) });
    try {
      await assert.rejects(second.start(), /EADDRINUSE/);
    } finally {
      await first.stop();
    }
  });
});

describe('Receiver admin routes', () => {
  test('serves /healthz, /readyz and /metrics on the HTTP port, without the bearer token', async () => {
    let extraReady = false;
    const r = new Receiver({
      grpc: false,
      http: { host: '127.0.0.1', port: 0 },
      bearerToken: 't',
      adminRoutes: { ready: () => extraReady },
      consumer: consumerOf(() => {}),
    });
    const { http } = await r.start();
    const base = `http://127.0.0.1:${http!.port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 503);
      extraReady = true;
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      await httpExport(`${base}/v1development/profiles`, GOOD_BYTES, { authorization: 'Bearer t' });
      const text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /pilotlight_receiver_requests_total\{transport="http",outcome="accepted"\} 1/);
    } finally {
      await r.stop();
    }
  });

  test('are not served unless asked for', async () => {
    const r = new Receiver({ grpc: false, http: { host: '127.0.0.1', port: 0 }, consumer: consumerOf(() => {}) });
    const { http } = await r.start();
    try {
      assert.equal((await fetch(`http://127.0.0.1:${http!.port}/metrics`)).status, 404);
    } finally {
      await r.stop();
    }
  });
});

describe('Receiver connection age', () => {
  /** Sends `n` requests over one keep-alive agent, `gapMs` apart; returns the client ports used and the statuses. */
  async function overOneAgent(url: string, n: number, gapMs: number): Promise<{ ports: Set<number>; statuses: number[] }> {
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    const statuses: number[] = [];
    try {
      for (let i = 0; i < n; i++) {
        await new Promise<void>((resolve, reject) => {
          const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf' } }, (res) => {
            ports.add(res.socket.localPort!);
            statuses.push(res.statusCode!);
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end(Buffer.from(GOOD_BYTES));
        });
        await new Promise((r) => setTimeout(r, gapMs));
      }
    } finally {
      agent.destroy();
    }
    return { ports, statuses };
  }

  test('a sender past the age is told to reconnect (HTTP), so it can land on another replica; nothing is refused', async () => {
    const aged = await startReceiver({ maxConnectionAgeSeconds: 0.2 });
    try {
      const { ports, statuses } = await overOneAgent(aged.httpUrl, 12, 50);
      assert.ok(ports.size >= 2, `one connection for 600 ms although its age is 200 ms (${ports.size} used)`);
      assert.deepEqual(new Set(statuses), new Set([200]));
      assert.equal(aged.received.length, 12);
      // gRPC: GOAWAY at the age; calls keep succeeding across it.
      for (let i = 0; i < 6; i++) {
        assert.equal((await grpcExport(aged.grpcClient, GOOD_BYTES)).error, undefined);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await stopHarness(aged);
    }
    const forever = await startReceiver({ maxConnectionAgeSeconds: 0 });
    try {
      const { ports } = await overOneAgent(forever.httpUrl, 12, 50);
      assert.equal(ports.size, 1, 'with no age limit the connection is kept');
    } finally {
      await stopHarness(forever);
    }
  });
});
