import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { UiFilterConsumer, UiSubscription } from '../src/gateway/subscription.js';
import { readWireRequest } from '../src/otlp/wire/request.js';
import { validateWire } from '../src/otlp/wire/validate.js';
import { wireKeyValues } from '../src/profile/aggregate-encoded.js';
import { parseWorkloadKey, workloadOf } from '../src/profile/workload.js';
import { consumerOf, encodedBatch } from '../src/pipeline/consumer.js';
import { startUiServer } from '../src/ui/server.js';
import { makeFleetBytes } from '../test/helpers/gen.js';
import { fmt, table } from './measure.js';
import { fromBinaryInOwnProcess } from './protobuf-es-baseline.js';
import type { BenchResult } from './report.js';

/**
 * The gateway's UI branch with the UI's subscription (src/gateway/subscription.ts): CPU per
 * request to filter a node's request down to the workloads with slots (cutting their part from
 * the bytes, counting the others' CPU for the usage report), and the bytes the UI then gets,
 * against the same run's read + validate of the request (what the receiver does anyway) and a
 * protobuf-es `fromBinary` of it. A real UI server answers the subscription.
 */

/** A node's flush: 20 processes, one shared dictionary (as src/node/assemble.ts sends). */
const NODE = { processes: 20, functions: 600, locations: 1200, programs: 6, stacksPerProgram: 60 };

function cpuMs(fn: () => void, n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / n;
}

/** Median of `rounds` CPU measurements of each function, taken in turns. */
function medians(fns: (() => void)[], n: number, rounds = 9): number[] {
  for (const fn of fns) cpuMs(fn, 5);
  const t = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) fns.forEach((fn, i) => t[i].push(cpuMs(fn, n)));
  return t.map((a) => a.sort((x, y) => x - y)[a.length >> 1]);
}

export async function main(): Promise<BenchResult> {
  const bytes = makeFleetBytes(NODE);
  const wire = readWireRequest(bytes);
  const keys = [...new Set(wire.resourceProfiles.map((rp) => workloadOf(wireKeyValues(rp.resourceAttributes, wire.dictionary)).key))];
  const ui = await startUiServer({ port: 0, otlp: { grpc: false, http: false } });
  const sub = new UiSubscription({ api: ui.url, usageIntervalMs: 60_000 }, new Registry(), pino({ level: 'silent' }));
  sub.start();
  let forwarded: number;
  const filter = new UiFilterConsumer(
    sub,
    consumerOf((b) => {
      forwarded = b.encoded!.byteLength;
    }),
  );
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 5));
  };
  const runFilter = () => {
    const w = readWireRequest(bytes);
    validateWire(w);
    void filter.consume(encodedBatch(bytes, w, { profiles: 0, samples: 0 }));
  };
  const readOnly = () => validateWire(readWireRequest(bytes));
  // protobuf-es in a process of its own (protobuf-es-baseline.ts says why).
  const esMs = (await fromBinaryInOwnProcess([bytes], 200)).cpuMs;

  const rows: (string | number)[][] = [];
  const figures: BenchResult['figures'] = [];
  for (const subscribed of [0, 1, 3, keys.length]) {
    for (const k of keys) ui.store.close(k);
    for (const k of keys.slice(0, subscribed)) ui.store.open(parseWorkloadKey(k)!);
    await until(() => sub.workloads?.size === subscribed);
    forwarded = 0;
    runFilter();
    const sent = forwarded;
    const [filterMs, readMs] = medians([runFilter, readOnly], 40);
    rows.push([`${subscribed} of ${keys.length}`, filterMs, filterMs - readMs, readMs, esMs, sent / 1024, (100 * sent) / bytes.byteLength]);
    figures.push({
      name: `read + filter, ${subscribed} of ${keys.length} workloads subscribed`,
      value: filterMs,
      unit: 'ms',
      better: 'lower',
      baseline: { name: 'protobuf-es fromBinary', value: esMs },
    });
  }
  await sub.stop(100);
  await ui.close();
  console.log(`node request: ${fmt(bytes.byteLength / 1024)} KiB, ${wire.resourceProfiles.length} resources, ${keys.length} workloads`);
  console.log(
    table(['subscribed', 'read+filter CPU ms', 'filter alone', 'baseline: read+validate', 'baseline: protobuf-es', 'KiB to the UI', '% of request'], rows),
  );
  return { title: 'gateway: the UI branch with a subscription, one node request', figures, notes: ['CPU ms per request, medians of 9 rounds taken in turns'] };
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
