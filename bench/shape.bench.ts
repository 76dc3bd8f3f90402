import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ShapingConsumer } from '../src/gateway/shaping.js';
import { decodeRequest, encodeRequest } from '../src/otlp/codec.js';
import { PYROSCOPE_DROPPED_ATTRIBUTES } from '../src/config/schema.js';
import { ACCEPTED, encodedBatch } from '../src/pipeline/consumer.js';
import { requestStats } from '../src/pipeline/request-stats.js';
import type { BenchResult } from './report.js';
import { makeFleetRequest } from './gen.js';
import { fmt, measure, table } from './measure.js';

/**
 * What a Pyroscope destination costs the gateway per request: the request reshaped for it
 * (decode, string references written out, service.name filled, high-cardinality attributes
 * dropped, samples merged, dictionary subset, validation, encode), against the baseline of
 * decoding the same bytes with protobuf-es alone, on the gateway bench's node-sized request
 * (20 processes, ~550 samples, ~85 KiB). The UI and plain OTLP destinations pay neither.
 */
export async function main(): Promise<BenchResult> {
  const request = makeFleetRequest({ processes: 20, functions: 600, locations: 1200, programs: 6, stacksPerProgram: 60 });
  const bytes = encodeRequest(request);
  const stats = requestStats(request);
  const shaping = new ShapingConsumer(
    'pyroscope',
    { serviceNameFromWorkload: true, drop: PYROSCOPE_DROPPED_ATTRIBUTES },
    { consume: async () => ACCEPTED },
    new Registry(),
    pino({ level: 'silent' }),
  );
  let out = 0;
  // Each timed run handles a batch back to back, as a busy gateway does (its garbage collected
  // as it goes); figures are per request.
  const BATCH = 20;
  const perRequest = (fn: () => void) => {
    const t = measure(() => {
      for (let i = 0; i < BATCH; i++) fn();
    }, { runs: 15 });
    return { median: t.median / BATCH, p90: t.p90 / BATCH };
  };
  const decode = perRequest(() => (out += decodeRequest(bytes, 'protobuf').resourceProfiles.length));
  const shape = perRequest(() => (out += shaping.shaped(encodedBatch(bytes, undefined, stats)).encoded!.byteLength));
  const shapedBytes = shaping.shaped(encodedBatch(bytes, undefined, stats)).encoded!.byteLength;
  console.log(`request: ${(bytes.byteLength / 1024).toFixed(1)} KiB, ${stats.samples} samples; shaped for Pyroscope: ${(shapedBytes / 1024).toFixed(1)} KiB (${out > 0 ? 'ok' : ''})`);
  console.log(
    table(
      ['per request', 'p50 ms', 'p90 ms'],
      [
        ['decode alone (protobuf-es fromBinary)', fmt(decode.median), fmt(decode.p90)],
        ['reshaped for Pyroscope (decode + shape + validate + encode)', fmt(shape.median), fmt(shape.p90)],
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
        baseline: { name: 'protobuf-es decode of the same bytes', value: decode.median },
      },
    ],
    notes: [`${(bytes.byteLength / 1024).toFixed(1)} KiB in, ${(shapedBytes / 1024).toFixed(1)} KiB out`],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
