import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { encodeRequest } from '../../otlp/codec.js';
import { K8S_CHECKOUT, K8S_INVENTORY, requestFromFolded } from '../../../test/helpers/fixtures.js';
import { promValue } from '../../../test/helpers/metrics.js';
import { grpcSink, httpSink, type Sink } from '../../../test/helpers/sinks.js';
import { Exporter, type ExporterOptions } from './exporter.js';
import type { ExportItem, SendOutcome, Transport } from './export-item.js';
import { encodeRpcStatus } from '../rpc-status.js';
import { httpTransport } from './transport-http.js';
import { exporterConfigSchema, GRPC_ERROR_STATUS_NAMES } from './exporter-config.js';
import { PermanentError, RetryableError } from './exporter-errors.js';

const REQUEST = requestFromFolded([
  { resource: K8S_INVENTORY, folded: 'main;work;hot 10\nmain;idle 3' },
  { resource: K8S_CHECKOUT, folded: 'main;pay 4' },
]);
const BYTES = Buffer.from(encodeRequest(REQUEST));

/** Millisecond backoff so tests are quick; assertions never depend on the timing. */
const FAST_RETRY = { initialInterval: 1, maxInterval: 5, maxElapsedTime: 60_000 };

function exporter(sink: Sink | undefined, opts: Partial<ExporterOptions> & { protocol: 'http' | 'grpc' }): Exporter {
  return new Exporter({
    name: 'test',
    endpoint: sink?.endpoint ?? 'http://127.0.0.1:1',
    registry: new Registry(),
    retryOnFailure: FAST_RETRY,
    timeout: 2000,
    ...opts,
  });
}

for (const protocol of ['http', 'grpc'] as const) {
  describe(`Exporter over ${protocol}`, () => {
    const failing = (n: number) =>
      protocol === 'http'
        ? httpSink((i) => (i < n ? { status: 503 } : { status: 200 }))
        : grpcSink((i) => (i < n ? { code: grpc.status.UNAVAILABLE } : { code: grpc.status.OK }));

    test('retries a destination that fails 3 times, then delivers exactly once', async () => {
      const sink = await failing(3);
      const e = exporter(sink, { protocol });
      try {
        assert.deepEqual(await e.consume({ request: REQUEST, encoded: BYTES }), { rejectedProfiles: 0, errorMessage: '' });
        await e.idle();
        assert.equal(sink.attempts, 4);
        assert.equal(sink.accepted.length, 1);
        assert.deepEqual(sink.accepted[0], BYTES);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_retries_total', { exporter: 'test' }), 3);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_sent_requests_total', { exporter: 'test' }), 1);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { exporter: 'test' }), 0);
      } finally {
        await e.shutdown(1000);
        await sink.close();
      }
    });

    test('gzips when enableDataCompression is on and sends plain bytes when off', async () => {
      for (const enableDataCompression of [true, false]) {
        const sink = await failing(0);
        const e = exporter(sink, { protocol, enableDataCompression, headers: { 'x-scope-orgid': 'tenant-1' } });
        try {
          // No pre-encoded bytes: the exporter encodes the request itself.
          await e.consume({ request: REQUEST });
          await e.idle();
          assert.deepEqual(sink.accepted, [BYTES]);
          assert.equal(sink.headers[0]['x-scope-orgid'], 'tenant-1');
          // grpc-js hides grpc-encoding from handlers; there the check is that the bytes arrive intact.
          if (protocol === 'http') assert.equal(sink.headers[0]['content-encoding'], enableDataCompression ? 'gzip' : undefined);
        } finally {
          await e.shutdown(1000);
          await sink.close();
        }
      }
    });

    test('sends the bytes as the sender gzipped them when it compresses, and plain bytes when not', async () => {
      // Stored, not deflated: a gzip the exporter would never make itself, told apart by its size.
      const asSent = gzipSync(BYTES, { level: 0 });
      for (const enableDataCompression of [true, false]) {
        const sink = await failing(0);
        const e = exporter(sink, { protocol, enableDataCompression });
        try {
          await e.consume({ request: REQUEST, encoded: BYTES, gzipped: asSent });
          await e.idle();
          assert.deepEqual(sink.accepted, [BYTES]);
          const sent = promValue(await e.registry.metrics(), 'pilotlight_exporter_sent_bytes_total', { exporter: 'test' });
          // Over gRPC, grpc-js compresses the message itself.
          if (protocol === 'http') assert.equal(sent, enableDataCompression ? asSent.byteLength : BYTES.byteLength);
        } finally {
          await e.shutdown(1000);
          await sink.close();
        }
      }
    });

    test('drops a permanent error at once, without retrying, and counts it', async () => {
      const sink =
        protocol === 'http'
          ? await httpSink(() => ({ status: 400, body: 'bad request', headers: { 'content-type': 'text/plain' } }))
          : await grpcSink(() => ({ code: grpc.status.INVALID_ARGUMENT }));
      const e = exporter(sink, { protocol });
      try {
        await e.consume({ request: REQUEST, encoded: BYTES });
        await e.idle();
        assert.equal(sink.attempts, 1);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'permanent_error' }), 1);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_samples_total', { reason: 'permanent_error' }), 3);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_retries_total', { exporter: 'test' }), 0);
      } finally {
        await e.shutdown(1000);
        await sink.close();
      }
    });

    test('an outage longer than maxElapsedTime drops with reason retries_exhausted', async () => {
      const sink = await failing(Number.POSITIVE_INFINITY);
      const e = exporter(sink, { protocol, retryOnFailure: { initialInterval: 1, maxInterval: 2, maxElapsedTime: 30 } });
      try {
        await e.consume({ request: REQUEST, encoded: BYTES });
        await e.idle();
        assert.ok(sink.attempts >= 1);
        assert.equal(sink.accepted.length, 0);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'retries_exhausted' }), 1);
      } finally {
        await e.shutdown(1000);
        await sink.close();
      }
    });

    test('a destination that is not listening is retried as a connection error', async () => {
      const e = exporter(undefined, {
        protocol,
        endpoint: protocol === 'http' ? 'http://127.0.0.1:1' : '127.0.0.1:1',
        retryOnFailure: { initialInterval: 1, maxInterval: 2, maxElapsedTime: 30 },
      });
      try {
        await e.consume({ request: REQUEST, encoded: BYTES });
        await e.idle();
        // Given up as retries_exhausted, not permanent_error: the refusal was classified retryable.
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'retries_exhausted' }), 1);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'permanent_error' }), 0);
      } finally {
        await e.shutdown(1000);
      }
    });

    test('with retries disabled a retryable failure is dropped as retry_disabled', async () => {
      const sink = await failing(1);
      const e = exporter(sink, { protocol, retryOnFailure: { enabled: false } });
      try {
        await e.consume({ request: REQUEST, encoded: BYTES });
        await e.idle();
        assert.equal(sink.attempts, 1);
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'retry_disabled' }), 1);
      } finally {
        await e.shutdown(1000);
        await sink.close();
      }
    });
  });
}

describe('Exporter over grpc: RESOURCE_EXHAUSTED', () => {
  function exhausted(withRetryInfo: boolean) {
    return grpcSink((i) => {
      if (i > 0) return { code: grpc.status.OK };
      const metadata = new grpc.Metadata();
      if (withRetryInfo) {
        metadata.set('grpc-status-details-bin', Buffer.from(encodeRpcStatus({ code: grpc.status.RESOURCE_EXHAUSTED, message: 'slow down', retryDelayMs: 2 })));
      }
      return { code: grpc.status.RESOURCE_EXHAUSTED, metadata };
    });
  }

  test('is retried when the server sends RetryInfo', async () => {
    const sink = await exhausted(true);
    const e = exporter(sink, { protocol: 'grpc' });
    try {
      await e.consume({ request: REQUEST, encoded: BYTES });
      await e.idle();
      assert.equal(sink.attempts, 2);
      assert.equal(sink.accepted.length, 1);
    } finally {
      await e.shutdown(1000);
      await sink.close();
    }
  });

  test('is permanent without RetryInfo', async () => {
    const sink = await exhausted(false);
    const e = exporter(sink, { protocol: 'grpc' });
    try {
      await e.consume({ request: REQUEST, encoded: BYTES });
      await e.idle();
      assert.equal(sink.attempts, 1);
      assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'permanent_error' }), 1);
    } finally {
      await e.shutdown(1000);
      await sink.close();
    }
  });
});

describe('Exporter over grpc: retryOnGrpcStatus', () => {
  test('INTERNAL is permanent by the OTLP rules, and retried and delivered when listed', async () => {
    for (const [retryOnGrpcStatus, attempts, delivered] of [
      [[], 1, 0],
      [['INTERNAL'], 2, 1],
    ] as const) {
      const sink = await grpcSink((i) => (i === 0 ? { code: grpc.status.INTERNAL } : { code: grpc.status.OK }));
      const e = exporter(sink, { protocol: 'grpc', retryOnGrpcStatus: [...retryOnGrpcStatus] });
      try {
        await e.consume({ request: REQUEST, encoded: BYTES });
        await e.idle();
        assert.deepEqual([sink.attempts, sink.accepted.length], [attempts, delivered], JSON.stringify(retryOnGrpcStatus));
        assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'permanent_error' }), 1 - delivered);
      } finally {
        await e.shutdown(1000);
        await sink.close();
      }
    }
  });

  test('every status name it accepts is a gRPC status code', () => {
    for (const name of GRPC_ERROR_STATUS_NAMES) assert.equal(typeof grpc.status[name], 'number', name);
    assert.equal(GRPC_ERROR_STATUS_NAMES.length, Object.keys(grpc.status).filter((k) => Number.isNaN(Number(k))).length - 1, 'all but OK');
  });
});

describe('HTTP transport classification', () => {
  const item = (): ExportItem => ({ body: BYTES, profiles: 2, samples: 3 });
  for (const status of [429, 502, 503, 504]) {
    test(`HTTP ${status} is retryable and carries Retry-After`, async () => {
      const sink = await httpSink(() => ({ status, headers: { 'retry-after': '7' } }));
      const t = httpTransport(exporterConfigSchema.parse({ protocol: 'http', endpoint: sink.endpoint }));
      try {
        const err = await t.send(item(), new AbortController().signal).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof RetryableError, String(err));
        assert.equal(err.retryAfterMs, 7000);
        assert.equal(err.reason, `http_${status}`);
      } finally {
        t.close();
        await sink.close();
      }
    });
  }

  test('HTTP 500 is permanent by the OTLP rules, and retryable when the destination lists it in retryOnHttpStatus', async () => {
    const sink = await httpSink(() => ({ status: 500, body: 'ingester not ready', headers: { 'content-type': 'text/plain' } }));
    try {
      for (const [retryOnHttpStatus, expected] of [
        [[], PermanentError],
        [[500], RetryableError],
      ] as const) {
        const t = httpTransport(exporterConfigSchema.parse({ protocol: 'http', endpoint: sink.endpoint, retryOnHttpStatus }));
        const err = await t.send(item(), new AbortController().signal).then(
          () => undefined,
          (e: unknown) => e,
        );
        t.close();
        assert.ok(err instanceof expected, `retryOnHttpStatus ${JSON.stringify(retryOnHttpStatus)}: ${String(err)}`);
        assert.equal(err.reason, 'http_500');
        assert.equal(err.message, 'HTTP 500: ingester not ready');
      }
    } finally {
      await sink.close();
    }
  });

  test('the partial_success of a 2xx answer is returned', async () => {
    const { create, toBinary } = await import('@bufbuild/protobuf');
    const { ExportProfilesServiceResponseSchema } = await import('../../otlp/messages.js');
    const body = toBinary(
      ExportProfilesServiceResponseSchema,
      create(ExportProfilesServiceResponseSchema, { partialSuccess: { rejectedProfiles: 2n, errorMessage: 'no slot' } }),
    );
    const sink = await httpSink(() => ({ status: 200, body }));
    const t = httpTransport(exporterConfigSchema.parse({ protocol: 'http', endpoint: sink.endpoint + '/' }));
    try {
      assert.deepEqual(await t.send(item(), new AbortController().signal), { rejectedProfiles: 2, errorMessage: 'no slot' });
      assert.equal(sink.headers[0]['content-type'], 'application/x-protobuf');
    } finally {
      t.close();
      await sink.close();
    }
  });
});

/** A transport that holds each send until released, to fill the queue deterministically. */
function heldTransport(): Transport & { sent: ExportItem[]; release(): void; started: number } {
  const waiting: (() => void)[] = [];
  let released = false;
  const t = {
    sent: [] as ExportItem[],
    started: 0,
    send(item: ExportItem, signal: AbortSignal): Promise<SendOutcome> {
      t.started++;
      return new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        const done = (): void => {
          t.sent.push(item);
          resolve({ rejectedProfiles: 0, errorMessage: '' });
        };
        if (released) done();
        else waiting.push(done);
      });
    },
    release() {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    close() {},
  };
  return t;
}

describe('Exporter queue', () => {
  test('a full queue drops the request, counts it and reports it as rejected', async () => {
    const transport = heldTransport();
    const e = new Exporter({
      name: 'q',
      endpoint: 'unused:1',
      registry: new Registry(),
      transport,
      sendingQueue: { maxItems: 2, numConsumers: 1 },
    });
    try {
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await e.consume({ request: REQUEST, encoded: BYTES }));
      // One is being sent, two wait, the fourth finds the queue full.
      assert.deepEqual(
        results.map((r) => r.rejectedProfiles),
        [0, 0, 0, 2],
      );
      assert.match(results[3].errorMessage, /exporter "q": sending queue is full/);
      assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'queue_full' }), 1);
      assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_queue_size', { exporter: 'q' }), 2);
      transport.release();
      await e.idle();
      assert.equal(transport.sent.length, 3);
      assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_queue_size', { exporter: 'q' }), 0);
    } finally {
      await e.shutdown(1000);
    }
  });

  test('the byte limit applies as well as the item limit', async () => {
    const transport = heldTransport();
    const e = new Exporter({
      name: 'b',
      endpoint: 'unused:1',
      registry: new Registry(),
      transport,
      sendingQueue: { maxItems: 100, maxBytes: BYTES.byteLength * 2, numConsumers: 1 },
    });
    try {
      const rejected = [];
      for (let i = 0; i < 5; i++) rejected.push((await e.consume({ request: REQUEST, encoded: BYTES })).rejectedProfiles);
      assert.deepEqual(rejected, [0, 0, 0, 2, 2]);
      transport.release();
      await e.idle();
    } finally {
      await e.shutdown(1000);
    }
  });

  test('shutdown sends what is queued, then refuses new requests', async () => {
    const sink = await httpSink(() => ({ status: 200, delayMs: 5 }));
    const e = exporter(sink, { protocol: 'http', sendingQueue: { numConsumers: 1 } });
    try {
      for (let i = 0; i < 5; i++) await e.consume({ request: REQUEST, encoded: BYTES });
      await e.shutdown(5000);
      assert.equal(sink.accepted.length, 5);
      await assert.rejects(e.consume({ request: REQUEST, encoded: BYTES }), /exporter "test" is shut down/);
    } finally {
      await sink.close();
    }
  });

  test('shutdown against a dead destination ends by its deadline and counts what it drops', async () => {
    const transport = heldTransport();
    const e = new Exporter({ name: 'dead', endpoint: 'unused:1', registry: new Registry(), transport, sendingQueue: { numConsumers: 1 } });
    for (let i = 0; i < 3; i++) await e.consume({ request: REQUEST, encoded: BYTES });
    // The held send never finishes by itself, so only the deadline can end shutdown: the one in
    // flight is aborted and the two queued are never sent; all three are counted.
    await e.shutdown(20);
    assert.equal(promValue(await e.registry.metrics(), 'pilotlight_exporter_dropped_requests_total', { reason: 'shutdown' }), 3);
    assert.equal(transport.sent.length, 0);
  });
});
