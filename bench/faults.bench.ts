import { realpathSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { encodeRequest } from '../src/otlp/codec.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { Exporter } from '../src/pipeline/exporter/exporter.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import { requestFromFolded } from '../test/helpers/fixtures.js';
import { promValue } from '../test/helpers/metrics.js';
import { fmt, table } from './measure.js';
import { emitResult, type BenchResult } from './report.js';

/**
 * Recovery after a destination outage, with the exporter's default tuning (retry 5 s initial,
 * 30 s max, 5 min max elapsed). Two destinations (real receivers on loopback), one spoken to
 * over OTLP/HTTP and one over OTLP/gRPC, go down together; one request per second is queued
 * into each exporter during the outage; both come back together. Figure: time from the
 * destination's return until its exporter has delivered everything queued (and how much was
 * lost). HTTP, which has no channel of its own between attempts, is the baseline for gRPC,
 * whose channel has its own reconnect backoff (grpc-js's, up to 120 s, which transport-grpc.ts
 * keeps within the retry's delays). FAULTS_OUTAGES (seconds, comma-separated; default
 * 5,20,60) sets the outages.
 */

const OUTAGES = (process.env.FAULTS_OUTAGES ?? '5,20,60').split(',').map(Number);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Dest {
  received: number;
  endpoint: string;
  up(): Promise<void>;
  down(): Promise<void>;
}

async function destination(protocol: 'http' | 'grpc'): Promise<Dest> {
  let r: Receiver | undefined;
  let port = 0;
  const d: Dest = {
    received: 0,
    endpoint: '',
    async up() {
      const listen = { host: '127.0.0.1', port };
      r = new Receiver({
        grpc: protocol === 'grpc' ? listen : false,
        http: protocol === 'http' ? listen : false,
        registry: new Registry(),
        consumer: consumerOf(() => void d.received++),
      });
      const a = await r.start();
      port = (protocol === 'grpc' ? a.grpc : a.http)!.port;
      d.endpoint = protocol === 'grpc' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
    },
    async down() {
      await r?.stop(0);
    },
  };
  await d.up();
  return d;
}

export async function main(): Promise<BenchResult> {
  const load0 = loadavg()[0];
  const request = requestFromFolded([{ resource: { 'service.name': 'faults-bench' }, folded: 'main;work 5' }]);
  const encoded = encodeRequest(request);
  const rows: (string | number)[][] = [];
  const figures: BenchResult['figures'] = [];
  for (const outage of OUTAGES) {
    const dests = { http: await destination('http'), grpc: await destination('grpc') };
    const exporters = {
      http: new Exporter({ name: 'http', protocol: 'http', endpoint: dests.http.endpoint, registry: new Registry() }),
      grpc: new Exporter({ name: 'grpc', protocol: 'grpc', endpoint: dests.grpc.endpoint, registry: new Registry() }),
    };
    try {
      // Warm: one delivered request each, so each has a live connection to lose.
      for (const e of Object.values(exporters)) await e.consume({ request, encoded });
      await Promise.all(Object.values(exporters).map((e) => e.idle()));
      await Promise.all(Object.values(dests).map((d) => d.down()));
      let queued = 0;
      for (let s = 0; s < outage; s++) {
        for (const e of Object.values(exporters)) await e.consume({ request, encoded });
        queued++;
        await sleep(1000);
      }
      const back = performance.now();
      await Promise.all(Object.values(dests).map((d) => d.up()));
      const recovery = await Promise.all(
        (['http', 'grpc'] as const).map(async (p) => {
          await exporters[p].idle();
          return performance.now() - back;
        }),
      );
      for (const [i, p] of (['http', 'grpc'] as const).entries()) {
        const text = await exporters[p].registry.metrics();
        const dropped = promValue(text, 'pilotlight_exporter_dropped_requests_total');
        rows.push([`${outage} s, ${p}`, String(queued), String(dests[p].received - 1), String(dropped), recovery[i] / 1000]);
      }
      figures.push({
        name: `gRPC: return of the destination → queue delivered, after a ${outage} s outage`,
        value: recovery[1] / 1000,
        unit: 's',
        better: 'lower',
        baseline: { name: 'OTLP/HTTP, same outage', value: recovery[0] / 1000 },
      });
    } finally {
      await Promise.all(Object.values(exporters).map((e) => e.shutdown(0)));
      await Promise.all(Object.values(dests).map((d) => d.down()));
    }
  }
  console.log(table(['outage, transport', 'queued', 'delivered', 'dropped', 'recovery s'], rows));
  return {
    title: 'recovery after a destination outage (exporter defaults: retry 5 s → 30 s, 5 min max elapsed)',
    figures,
    notes: [
      'Recovery = the destination listens again → every request queued during the outage delivered. It is bounded by the retry backoff (up to 30 s between attempts), jittered.',
      `Machine shared with other work (load average ${fmt(load0)} → ${fmt(loadavg()[0])}); these figures depend mostly on the backoff, not on CPU.`,
    ],
  };
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) emitResult(await main());
