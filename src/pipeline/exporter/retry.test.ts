import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from './backoff.js';
import { retryConfigSchema } from './exporter-config.js';
import { parseRetryAfter, PermanentError, RetryableError } from './exporter-errors.js';
import type { ExportItem } from './export-item.js';
import { RetryLink } from './retry.js';
import { decodeRpcStatus, encodeRpcStatus } from '../rpc-status.js';

const item: ExportItem = { body: new Uint8Array(1), profiles: 1, samples: 1 };

describe('Backoff', () => {
  test('grows by the multiplier up to maxInterval, jittered within ±randomizationFactor', () => {
    const lo = new Backoff({ initialIntervalMs: 100, maxIntervalMs: 400, multiplier: 2, randomizationFactor: 0.5, random: () => 0 });
    assert.deepEqual([lo.next(), lo.next(), lo.next(), lo.next()], [50, 100, 200, 200]);
    const hi = new Backoff({ initialIntervalMs: 100, maxIntervalMs: 400, multiplier: 2, randomizationFactor: 0.5, random: () => 1 });
    assert.deepEqual([hi.next(), hi.next(), hi.next(), hi.next()], [150, 300, 600, 600]);
  });
});

describe('RetryLink', () => {
  const config = retryConfigSchema.parse({ initialInterval: 1, maxInterval: 2, maxElapsedTime: 60_000 });

  test('waits at least what the destination asked for (Retry-After / RetryInfo)', async () => {
    const delays: number[] = [];
    let calls = 0;
    const link = new RetryLink(
      config,
      async () => {
        if (calls++ === 0) throw new RetryableError('throttled', 'http_429', 25);
        return { rejectedProfiles: 0, errorMessage: '' };
      },
      { onRetry: (_i, _e, d) => delays.push(d), onDrop: () => assert.fail('dropped') },
    );
    assert.deepEqual(await link.send(item, new AbortController().signal), { rejectedProfiles: 0, errorMessage: '' });
    assert.equal(calls, 2);
    assert.ok(delays[0] >= 25, `delay ${delays[0]}`);
  });

  test('drops a permanent error without calling again', async () => {
    let calls = 0;
    const drops: string[] = [];
    const link = new RetryLink(
      config,
      async () => {
        calls++;
        throw new PermanentError('HTTP 400', 'http_400');
      },
      { onRetry: () => assert.fail('retried'), onDrop: (_i, reason) => drops.push(reason) },
    );
    assert.equal(await link.send(item, new AbortController().signal), undefined);
    assert.equal(calls, 1);
    assert.deepEqual(drops, ['permanent_error']);
  });

  test('gives up once the next wait would pass maxElapsedTime (fake clock)', async () => {
    let now = 0;
    const drops: string[] = [];
    const link = new RetryLink(
      retryConfigSchema.parse({ initialInterval: 1, maxInterval: 1, maxElapsedTime: 100, randomizationFactor: 0 }),
      async () => {
        now += 40;
        throw new RetryableError('down', 'http_503');
      },
      { onRetry: () => {}, onDrop: (_i, reason) => drops.push(reason) },
      () => now,
    );
    await link.send(item, new AbortController().signal);
    assert.deepEqual(drops, ['retries_exhausted']);
    assert.equal(now, 120);
  });

  test('stop() ends a pending wait and drops the item as shutdown', async () => {
    const drops: string[] = [];
    const link = new RetryLink(
      retryConfigSchema.parse({ initialInterval: 60_000, maxInterval: 60_000 }),
      async () => {
        throw new RetryableError('down', 'http_503');
      },
      { onRetry: () => link.stop(), onDrop: (_i, reason) => drops.push(reason) },
    );
    await link.send(item, new AbortController().signal);
    assert.deepEqual(drops, ['shutdown']);
  });
});

describe('config helpers', () => {
  test('durations are milliseconds (text with units is parsed where the config is read)', () => {
    assert.equal(retryConfigSchema.parse({ initialInterval: 7 }).initialInterval, 7);
    assert.deepEqual(retryConfigSchema.parse({}), {
      enabled: true,
      initialInterval: 5000,
      maxInterval: 30_000,
      maxElapsedTime: 300_000,
      multiplier: 1.5,
      randomizationFactor: 0.5,
    });
    assert.throws(() => retryConfigSchema.parse({ maxInterval: '30s' }), /expected number/);
  });

  test('Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  test('google.rpc.Status with RetryInfo round-trips', () => {
    const s = decodeRpcStatus(encodeRpcStatus({ code: 8, message: 'slow down', retryDelayMs: 1500 }));
    assert.deepEqual(s, { code: 8, message: 'slow down', retryDelayMs: 1500 });
  });
});
