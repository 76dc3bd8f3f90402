import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { gzipOptions, gzippedBody } from './compress.js';

test('zlib state sized to the body: ordinary gzip, no larger than with the default window, for every size', async () => {
  // Repetitive text with some noise, like a request's strings and varints.
  const source = Buffer.concat(Array.from({ length: 4000 }, (_, i) => Buffer.from(`fn_${i % 97}\0/usr/lib/libc.so.6${randomBytes(2).toString('hex')}`)));
  for (const size of [0, 1, 100, 700, 1800, 4096, 9000, 33_000, 120_000]) {
    const body = source.subarray(0, size);
    const o = gzipOptions(size);
    assert.ok(o.windowBits >= 9 && o.windowBits <= 15 && o.memLevel >= 1 && o.memLevel <= 8, JSON.stringify(o));
    // The window covers the whole body (deflate looks back at most 2^windowBits - 262 bytes).
    assert.ok(o.windowBits === 15 || 2 ** o.windowBits - 262 >= size, `${size}: ${JSON.stringify(o)}`);
    const sized = gzipSync(body, o);
    assert.deepEqual(gunzipSync(sized), body);
    assert.ok(sized.length <= gzipSync(body, { level: 6 }).length * 1.02 + 8, `${size}: ${sized.length} bytes`);
  }
  const body = source.subarray(0, 3000);
  const gz = await gzippedBody({ body, profiles: 1, samples: 1 });
  assert.deepEqual(gunzipSync(gz), body);
});
