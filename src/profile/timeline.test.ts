import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRequest } from '../otlp/codec.js';
import { readWireRequest } from '../otlp/wire/request.js';
import { requestFromFolded, K8S_INVENTORY } from '../../test/helpers/fixtures.js';
import { bothWindows, PERIOD, T_A, T_B, WINDOW_A, windowRequest } from '../../test/helpers/time-windows.js';
import { chunkTimes, requestTimes, timeline } from './timeline.js';

const times = (req: Parameters<typeof encodeRequest>[0]) => requestTimes(readWireRequest(encodeRequest(req)));

test('two windows 60 s apart fall into buckets 0 and 6 of a 10 s step, empty ones in between', () => {
  const t = timeline([times(bothWindows())], { stepMs: 10_000 });
  assert.deepEqual(
    t.points.map((p) => [p.t - T_A, p.samples, p.cpuNanos]),
    [
      [0, 12, 12 * PERIOD],
      [10_000, 0, 0],
      [20_000, 0, 0],
      [30_000, 0, 0],
      [40_000, 0, 0],
      [50_000, 0, 0],
      [60_000, 10, 10 * PERIOD],
    ],
  );
  assert.equal(t.periodNanos, PERIOD);
  assert.equal(t.untimedSamples, 0);
});

test('1 ms buckets follow each sample timestamp exactly', () => {
  // WINDOW_A lines of 4, 2, 4 and 2 samples at +0.. ms: 4 at +0, 4 at +1, 2 at +2, 2 at +3.
  const t = timeline([times(windowRequest(WINDOW_A, T_A))], { stepMs: 1 });
  assert.deepEqual(
    t.points.map((p) => [p.t - T_A, p.samples]),
    [
      [0, 4],
      [1, 4],
      [2, 2],
      [3, 2],
    ],
  );
});

test('samples without timestamps count at the profile time; samples with no time at all apart', () => {
  const at = BigInt(T_B + 2_500) * 1_000_000n;
  const req = requestFromFolded([
    { resource: K8S_INVENTORY, folded: 'main;a 7', timeUnixNano: at },
    { resource: { 'service.name': 'x' }, folded: 'main;b 3', timeUnixNano: 0n },
  ]);
  const t = timeline([times(req)], { stepMs: 5_000 });
  assert.deepEqual(
    t.points.map((p) => [p.t - T_A, p.samples]),
    [[60_000, 7]],
  );
  assert.equal(t.untimedSamples, 3);
});

test('buckets add up across chunks; chunk events are cached per byte array', () => {
  const a = encodeRequest(windowRequest(WINDOW_A, T_A));
  // Five samples at +1 .. +5 ms.
  const b = encodeRequest(windowRequest('main;x 5', T_A + 1));
  assert.equal(chunkTimes(a), chunkTimes(a));
  const t = timeline([chunkTimes(a), chunkTimes(b)], { stepMs: 2 });
  assert.deepEqual(
    t.points.map((p) => [p.t - T_A, p.samples]),
    [
      [0, 8 + 1],
      [2, 4 + 2],
      [4, 2],
    ],
  );
});

test('a step that would make too many buckets is refused with the step that fits', () => {
  assert.throws(
    () => timeline([times(bothWindows())], { stepMs: 1 }),
    /makes 60005 buckets over the data's 60004 ms \(at most 10000\); use a step of at least 7 ms/,
  );
  assert.throws(() => timeline([], { stepMs: 0 }), /step must be a positive number/);
  assert.deepEqual(timeline([], { stepMs: 1000 }).points, []);
});
