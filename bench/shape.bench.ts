import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ShapingConsumer } from '../src/gateway/shaping.js';
import { decodeRequest, encodeRequest } from '../src/otlp/codec.js';
import { readRequest, wireStats } from '../src/otlp/read-request.js';
import { PYROSCOPE_DROPPED_ATTRIBUTES } from '../src/config/schema.js';
import { ACCEPTED, encodedBatch } from '../src/pipeline/consumer.js';
import { MessageShaper } from '../test/helpers/shape-oracle.js';
import type { BenchResult } from './report.js';
import { makeFleetRequest } from '../test/helpers/gen.js';
import { fmt, quantile, table } from './measure.js';
import { fromBinaryInOwnProcess } from './protobuf-es-baseline.js';

/**
 * What a Pyroscope destination costs the gateway per request: the request reshaped for it on
 * the protobuf bytes (string references written out, service.name filled, high-cardinality
 * attributes dropped, samples merged, then read and validated again and cut to the dictionary
 * entries it uses), from the batch the receiver hands on (bytes read and validated once for all
 * destinations), against the baseline of decoding the same bytes with protobuf-es alone, on the
 * gateway bench's node-sized request (20 processes, ~550 samples, ~85 KiB). The UI and plain
 * OTLP destinations pay neither. Also shown: the same from bare bytes (read and validated
 * first), and the same reshaping done on protobuf-es messages (the test oracle: decode, shape,
 * subset, encode). Figures are CPU time (see `cpuTimes`).
 */
export async function main(): Promise<BenchResult> {
  const request = makeFleetRequest({ processes: 20, functions: 600, locations: 1200, programs: 6, stacksPerProgram: 60 });
  const bytes = encodeRequest(request);
  const { wire } = readRequest(bytes, 'protobuf');
  const stats = wireStats(wire);
  const policy = { serviceNameFromWorkload: true, drop: PYROSCOPE_DROPPED_ATTRIBUTES };
  const shaping = new ShapingConsumer('pyroscope', policy, { consume: async () => ACCEPTED }, new Registry(), pino({ level: 'silent' }));
  const messages = new MessageShaper(policy);
  let out = 0;
  const [shape, fromBytes, onMessages] = cpuTimes([
    () => (out += shaping.shaped(encodedBatch(bytes, wire, stats)).encoded!.byteLength),
    () => (out += shaping.shaped(encodedBatch(bytes, undefined, stats)).encoded!.byteLength),
    () => (out += encodeRequest(messages.shape(decodeRequest(bytes, 'protobuf')).request).byteLength),
  ]);
  // protobuf-es in a process of its own (protobuf-es-baseline.ts says why).
  const decode = await fromBinaryInOwnProcess([bytes], 200);
  const shapedBytes = shaping.shaped(encodedBatch(bytes, wire, stats)).encoded!.byteLength;
  console.log(
    `request: ${(bytes.byteLength / 1024).toFixed(1)} KiB, ${stats.samples} samples; shaped for Pyroscope: ${(shapedBytes / 1024).toFixed(1)} KiB (${out > 0 ? 'ok' : ''})`,
  );
  console.log(
    table(
      ['per request, CPU time', 'p50 ms', 'p90 ms'],
      [
        ['decode alone (protobuf-es fromBinary, a process of its own)', fmt(decode.cpuMs), ''],
        ['reshaped for Pyroscope on the bytes, from the received batch', fmt(shape.median), fmt(shape.p90)],
        ['… from bare bytes (read + validate first)', fmt(fromBytes.median), fmt(fromBytes.p90)],
        ['… on messages (decode + shape + subset + encode)', fmt(onMessages.median), fmt(onMessages.p90)],
      ],
    ),
  );
  return {
    title: 'gateway: reshaping a request for a Pyroscope destination',
    figures: [
      {
        name: 'reshape an 85 KiB node request for Pyroscope, p50',
        value: shape.median,
        unit: 'ms',
        better: 'lower',
        baseline: { name: 'protobuf-es decode of the same bytes', value: decode.cpuMs },
      },
      {
        name: 'the same from bare bytes (read + validate first), p50',
        value: fromBytes.median,
        unit: 'ms',
        better: 'lower',
        baseline: { name: 'reshaping on protobuf-es messages (decode + shape + subset + encode)', value: onMessages.median },
      },
    ],
    notes: [`${(bytes.byteLength / 1024).toFixed(1)} KiB in, ${(shapedBytes / 1024).toFixed(1)} KiB out`],
  };
}

/**
 * CPU time per call (ms, p50 and p90 over rounds) of each function, run in turns (a batch of
 * A, of B, …, again) so all see the same machine: on a shared, overloaded machine wall time
 * mostly measures the other tenants. A batch runs back to back, as a busy gateway does, its
 * garbage collected as it goes.
 */
function cpuTimes(fns: (() => void)[], batch = 20, rounds = 15): { median: number; p90: number }[] {
  for (const fn of fns) for (let i = 0; i < 3 * batch; i++) fn();
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, k) => {
      const start = process.cpuUsage();
      for (let i = 0; i < batch; i++) fn();
      const used = process.cpuUsage(start);
      times[k].push((used.user + used.system) / 1000 / batch);
    });
  }
  return times.map((t) => {
    t.sort((a, b) => a - b);
    return { median: quantile(t, 0.5), p90: quantile(t, 0.9) };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
