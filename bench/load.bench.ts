import { DEFAULT_LIMITS } from '../src/store/config.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runLoad, type LoadOptions } from '../test/helpers/load.js';
import { fmt, quantile, table } from './measure.js';
import { emitResult, type BenchResult } from './report.js';

/**
 * Load: N simulated nodes → `pilotlight gateway` (a child process) → the UI server, with a
 * viewer enabling slots and querying profiles, the store's caps checked on every change: the
 * run is runLoad (test/helpers/load.ts, which says what it checks); test/load.test.ts runs it
 * short. Figures: query latency (GET /api/sources/:key/profile) while ingesting and, as the
 * baseline in the same run, on the same slots once the senders have stopped; delivery, store
 * bytes, RSS and CPU per request.
 *
 * The bench (`npm run bench -- load`) runs 100 senders for 10 minutes; LOAD_SECONDS,
 * LOAD_SENDERS, LOAD_INTERVAL_MS (default 2000) and LOAD_MAX_DEPTH (deepest stack, default 40)
 * change it.
 */

export async function main(): Promise<BenchResult> {
  const MiB = 2 ** 20;
  const o: LoadOptions = {
    senders: Number(process.env.LOAD_SENDERS ?? 100),
    seconds: Number(process.env.LOAD_SECONDS ?? 600),
    intervalMs: Number(process.env.LOAD_INTERVAL_MS ?? 2000),
    processesPerNode: 5,
    workloads: 150,
    maxDepth: Number(process.env.LOAD_MAX_DEPTH ?? 40),
    limits: { maxSlots: 16, slotTtlSeconds: 3600, slotMaxBytes: 1 * MiB, cleanupIntervalSeconds: 15, maxSources: DEFAULT_LIMITS.maxSources },
    viewerPauseMs: 100,
    sampleMs: 500,
    started: (gatewayPid) => console.log(`${o.senders} senders running for ${o.seconds} s (every ${o.intervalMs} ms), gateway pid ${gatewayPid}`),
    progress: (p) =>
      console.log(
        `${Math.round(p.seconds)} s: ${p.viewerSteps} viewer steps, query p50 ${fmt(
          quantile(
            [...p.queriesMs].sort((a, b) => a - b),
            0.5,
          ),
        )} ms, ` + `store ${p.storeSlots} slots ${fmt(p.storeBytes / 2 ** 20)} MiB, RSS ${fmt(p.rssMiB)} MiB, ${p.violations} violations`,
      ),
  };
  console.log(
    `load: ${o.senders} nodes × ${o.processesPerNode} processes (${o.workloads} workloads), one request per ${o.intervalMs} ms each, for ${o.seconds} s; ` +
      `store caps ${o.limits.maxSlots} slots × ${fmt(o.limits.slotMaxBytes / MiB)} MiB`,
  );
  const r = await runLoad(o);
  const w = [...r.queries.while].sort((a, b) => a - b);
  const idle = [...r.queries.idle].sort((a, b) => a - b);
  const cap = o.limits.maxSlots * o.limits.slotMaxBytes;
  console.log(
    table(
      ['figure', 'value'],
      [
        ['requests offered', String(r.offered.requests)],
        ['offered req/s', r.offered.requests / r.seconds],
        ['offered MB/s (protobuf, before gzip)', r.offered.bytes / r.seconds / 1e6],
        ['samples/s', r.offered.samples / r.seconds],
        ['gateway received / sent to UI / UI accepted', `${r.delivered.gatewayReceived} / ${r.delivered.gatewaySent} / ${r.delivered.uiAccepted}`],
        ['retries (senders + gateway)', String(r.delivered.retries)],
        ['store max bytes (MiB) / cap', `${fmt(r.store.maxBytes / MiB)} / ${fmt(cap / MiB)}`],
        ['largest slot (MiB) / slot cap', `${fmt(r.store.maxSlotBytes / MiB)} / ${fmt(o.limits.slotMaxBytes / MiB)}`],
        ['most slots / maxSlots', `${r.store.maxSlots} / ${o.limits.maxSlots}`],
        ['LRU evictions, chunks dropped by the byte cap', `${r.store.lruEvictions}, ${r.store.byteCapChunks}`],
        ['cap checks (on every slot change + every viewer step)', String(r.checks)],
        ['violations', String(r.violations.length)],
        ['errors', String(r.errors.length)],
        ['UI process RSS start / max / end (MiB)', `${fmt(r.rss.startMiB)} / ${fmt(r.rss.maxMiB)} / ${fmt(r.rss.endMiB)}`],
        ['gateway RSS max (MiB)', r.rss.gatewayMaxMiB],
        [
          'CPU ms per request delivered: gateway / UI process',
          `${fmt((r.cpu.gateway * 1000) / r.delivered.gatewayReceived)} / ${fmt((r.cpu.ui * 1000) / r.delivered.uiAccepted)}`,
        ],
        [
          'queries while ingesting: n, p50, p90, p99, max (ms)',
          `${w.length}, ${fmt(quantile(w, 0.5))}, ${fmt(quantile(w, 0.9))}, ${fmt(quantile(w, 0.99))}, ${fmt(w[w.length - 1])}`,
        ],
        [
          'queries idle (same slots, after): n, p50, p90, p99 (ms)',
          `${idle.length}, ${fmt(quantile(idle, 0.5))}, ${fmt(quantile(idle, 0.9))}, ${fmt(quantile(idle, 0.99))}`,
        ],
      ],
    ),
  );
  for (const e of [...r.errors, ...r.violations]) console.log(`  ! ${e}`);
  return {
    title: `load: ${o.senders} senders → gateway → UI for ${Math.round(r.seconds)} s`,
    figures: [
      {
        name: 'query p50 while ingesting',
        value: quantile(w, 0.5),
        unit: 'ms',
        better: 'lower',
        baseline: { name: 'idle, same slots', value: quantile(idle, 0.5) },
      },
      {
        name: 'query p99 while ingesting',
        value: quantile(w, 0.99),
        unit: 'ms',
        better: 'lower',
        baseline: { name: 'idle, same slots', value: quantile(idle, 0.99) },
      },
      {
        name: 'requests delivered to the UI',
        value: r.delivered.uiAccepted,
        unit: 'requests',
        better: 'higher',
        baseline: { name: 'offered by the senders', value: r.offered.requests },
      },
      {
        name: 'store max bytes',
        value: r.store.maxBytes / MiB,
        unit: 'MiB',
        better: 'lower',
        baseline: { name: 'cap (maxSlots × slotMaxBytes)', value: cap / MiB },
      },
      { name: 'gateway CPU per request received', value: (r.cpu.gateway * 1000) / r.delivered.gatewayReceived, unit: 'ms', better: 'lower' },
      { name: 'UI process CPU per request (ingest + queries + checks)', value: (r.cpu.ui * 1000) / r.delivered.uiAccepted, unit: 'ms', better: 'lower' },
      { name: 'UI process peak RSS', value: r.rss.maxMiB, unit: 'MiB', better: 'lower', baseline: { name: 'at start', value: r.rss.startMiB } },
    ],
    notes: [
      `${r.offered.requests} requests (${fmt(r.offered.requests / r.seconds)}/s, ${fmt(r.offered.bytes / r.seconds / 1e6)} MB/s protobuf) from ${o.senders} exporters (half gRPC, half HTTP, gzip) through a gateway process to the UI.`,
      `errors: ${r.errors.length}${r.errors.length ? ` (${r.errors.slice(0, 3).join('; ')})` : ''}; cap violations: ${r.violations.length} in ${r.checks} checks; ${r.store.lruEvictions} LRU evictions and ${r.store.byteCapChunks} chunks dropped by the byte cap.`,
      'The machine was shared with other work (load average far above its 2 cores): latencies are noisy; compare with the idle baseline from the same run.',
    ],
  };
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) emitResult(await main());
