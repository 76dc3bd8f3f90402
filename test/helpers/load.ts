import { clone, create } from '@bufbuild/protobuf';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { simpleValue } from '../../src/otlp/builder.js';
import { encodeRequest } from '../../src/otlp/codec.js';
import { ExportProfilesServiceRequestSchema, KeyValueSchema, type ExportProfilesServiceRequest } from '../../src/otlp/messages.js';
import { Exporter } from '../../src/pipeline/exporter/exporter.js';
import { requestStats } from '../../src/pipeline/request-stats.js';
import { parseWorkloadKey } from '../../src/profile/workload.js';
import type { ProfileResponse, SourcesResponse, StoreLimits } from '../../src/api/types.js';
import { startUiServer, type UiServer } from '../../src/ui/server.js';
import { makeFleetRequest, rng } from './gen.js';
import { promNonZero, promValue } from './metrics.js';
import { cpuSecondsOf, rssMiBOf, startGatewayChild, startNode, type CliChild, type GatewayChild } from './processes.js';

/**
 * Load: N simulated nodes (each a real pipeline Exporter, as `pilotlight node` uses, sending
 * one request per interval with its own workloads) → `pilotlight gateway` (a child process)
 * → the UI server (in this process, so its store can be checked on every change). Meanwhile a
 * viewer enables profiling for workloads (more than fit: the LRU evicts) and queries their
 * profiles. Checked throughout:
 * - no errors anywhere: no sender, gateway or UI drop or refusal, every request delivered, every
 *   query answered 200;
 * - the store's caps, exactly: after every change of a slot, slots ≤ maxSlots, the slot's bytes
 *   ≤ slotMaxBytes and equal to the sum of its chunks, the store's total equal to the sum of
 *   its slots; after every viewer step, the active slots are exactly the model LRU's newest
 *   maxSlots keys;
 * - memory: store bytes (sampled) and the process RSS, against the caps.
 * Figures: query latency (GET /api/sources/:key/profile) while ingesting and, as the baseline
 * in the same run, on the same slots once the senders have stopped.
 *
 * runLoad is the run; bench/load.bench.ts runs it long and reports the figures,
 * test/load.test.ts runs a short version and asserts the checks. The senders run in a child
 * process of their own (this file, with --senders-child), so their CPU is not the UI's.
 */

export interface LoadOptions {
  senders: number;
  seconds: number;
  intervalMs: number;
  /** Processes per node, each with its own workload (of `workloads` in the fleet). */
  processesPerNode: number;
  workloads: number;
  /** Deepest stack in the generated requests (test/helpers/gen.ts maxDepth); smaller = lighter requests. */
  maxDepth: number;
  limits: StoreLimits;
  /** Pause between viewer steps. */
  viewerPauseMs: number;
  /** How often store bytes and RSS are sampled. */
  sampleMs: number;
  /** Called once the senders are running (bench output). */
  started?: (gatewayPid: number) => void;
  /** Called every 30 s or so with the run so far (bench output). */
  progress?: (p: LoadProgress) => void;
}

/** The run so far, for a progress line. */
export interface LoadProgress {
  /** Since the senders started. */
  seconds: number;
  viewerSteps: number;
  /** Query latencies (ms) while ingesting so far, in the order measured. */
  queriesMs: readonly number[];
  storeSlots: number;
  storeBytes: number;
  rssMiB: number;
  violations: number;
}

export interface LoadReport {
  errors: string[];
  violations: string[];
  checks: number;
  offered: { requests: number; samples: number; bytes: number };
  delivered: { gatewayReceived: number; gatewaySent: number; uiAccepted: number; retries: number };
  seconds: number;
  queries: { while: number[]; idle: number[] };
  store: { maxBytes: number; maxSlotBytes: number; maxSlots: number; lruEvictions: number; byteCapChunks: number; noSlot: number; chunks: number };
  rss: { startMiB: number; maxMiB: number; endMiB: number; gatewayMaxMiB: number };
  /** CPU seconds used during the run: this process (UI + viewer + checks) and the gateway. */
  cpu: { ui: number; gateway: number };
  viewerSteps: number;
}

/** The workload key of process `j` on node `n`: the fleet's workloads spread over the nodes. */
function workloadIndex(n: number, j: number, o: Pick<LoadOptions, 'processesPerNode' | 'workloads'>): number {
  return (n * o.processesPerNode + j) % o.workloads;
}

function workloadKey(w: number): string {
  return `load-ns-${w % 5}/Deployment/svc-${w}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The senders (a child process of their own, so their CPU is not the UI's)

interface SendersConfig {
  grpc: string;
  http: string;
  senders: number;
  seconds: number;
  intervalMs: number;
  processesPerNode: number;
  workloads: number;
  maxDepth: number;
}

interface SendersDone {
  offered: { requests: number; samples: number; bytes: number };
  rejectedByQueue: number;
  sent: number;
  dropped: string[];
  retries: number;
  warnings: string[];
}

const DONE = 'LOAD_SENDERS_DONE ';
const READY = 'LOAD_SENDERS_READY';

/** A node's requests: a few variants of a small fleet request, its processes renamed to its own workloads. */
function nodeRequests(
  n: number,
  variants: ExportProfilesServiceRequest[],
  cfg: SendersConfig,
): { request: ExportProfilesServiceRequest; encoded: Uint8Array; samples: number }[] {
  const out = [];
  for (let k = 0; k < 2; k++) {
    const request = clone(ExportProfilesServiceRequestSchema, variants[(n + k) % variants.length]);
    request.resourceProfiles.forEach((rp, j) => {
      const w = workloadIndex(n, j, cfg);
      const id = parseWorkloadKey(workloadKey(w))!;
      rp.resource!.attributes = [
        create(KeyValueSchema, { key: 'k8s.namespace.name', value: simpleValue(id.namespace) }),
        create(KeyValueSchema, { key: 'k8s.deployment.name', value: simpleValue(id.name) }),
        create(KeyValueSchema, { key: 'k8s.pod.name', value: simpleValue(`${id.name}-node${n}-${j}`) }),
        create(KeyValueSchema, { key: 'k8s.node.name', value: simpleValue(`node-${n}`) }),
      ];
    });
    out.push({ request, encoded: encodeRequest(request), samples: requestStats(request).samples });
  }
  return out;
}

async function sendersChild(cfg: SendersConfig): Promise<void> {
  const variants = [1, 2, 3, 4].map((seed) =>
    makeFleetRequest({
      seed,
      processes: cfg.processesPerNode,
      functions: 400,
      locations: 800,
      programs: 4,
      stacksPerProgram: 40,
      hotStacks: 10,
      minDepth: Math.min(10, cfg.maxDepth),
      maxDepth: cfg.maxDepth,
    }),
  );
  const registry = new Registry();
  // Distinct warnings (drops, rejections) go back to the parent with the counts.
  const warnings = new Set<string>();
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => void (warnings.size < 20 && warnings.add(String((JSON.parse(line) as { msg: string }).msg))) },
  );
  const nodes = Array.from({ length: cfg.senders }, (_, n) => ({
    requests: nodeRequests(n, variants, cfg),
    // Half the nodes speak gRPC, half HTTP; all gzip, as the defaults say.
    exporter: new Exporter({
      name: `node-${n}`,
      registry,
      logger,
      protocol: n % 2 === 0 ? 'grpc' : 'http',
      endpoint: n % 2 === 0 ? cfg.grpc : cfg.http,
      timeout: 10_000,
      retryOnFailure: { initialInterval: 500, maxInterval: 5000, maxElapsedTime: 300_000 },
    }),
  }));
  process.stdout.write(`${READY}\n`);
  const offered = { requests: 0, samples: 0, bytes: 0 };
  let rejectedByQueue = 0;
  const rand = rng(99);
  const end = Date.now() + cfg.seconds * 1000;
  await Promise.all(
    nodes.map(async (node) => {
      // Nodes start out of phase, as real ones do.
      await sleep(rand() * cfg.intervalMs);
      for (let tick = 0; Date.now() < end; tick++) {
        const started = Date.now();
        const r = node.requests[tick % node.requests.length];
        offered.requests++;
        offered.samples += r.samples;
        offered.bytes += r.encoded.byteLength;
        const result = await node.exporter.consume({ request: r.request, encoded: r.encoded });
        if (result.rejectedProfiles > 0) rejectedByQueue++;
        await sleep(Math.max(0, cfg.intervalMs - (Date.now() - started)));
      }
    }),
  );
  await Promise.all(nodes.map((x) => x.exporter.shutdown(60_000)));
  const text = await registry.metrics();
  const done: SendersDone = {
    offered,
    rejectedByQueue,
    sent: promValue(text, 'pilotlight_exporter_sent_requests_total'),
    dropped: promNonZero(text, 'pilotlight_exporter_dropped_requests_total'),
    retries: promValue(text, 'pilotlight_exporter_retries_total'),
    warnings: [...warnings],
  };
  // Exit once the line is out: gRPC channels of closed exporters must not keep the child alive.
  process.stdout.write(`${DONE}${JSON.stringify(done)}\n`, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The run

/** Store invariants after a change of `key`'s slot; returns what is wrong, if anything. */
function checkSlot(ui: UiServer, key: string): string | undefined {
  const { limits, usage } = ui.store.stats();
  if (usage.slots > limits.maxSlots) return `${usage.slots} slots > maxSlots ${limits.maxSlots}`;
  if (usage.bytes > limits.maxSlots * limits.slotMaxBytes) return `store holds ${usage.bytes} bytes > ${limits.maxSlots} × ${limits.slotMaxBytes}`;
  const slot = ui.store.slot(key);
  if (!slot) return undefined;
  if (slot.bytes > limits.slotMaxBytes) return `${key}: ${slot.bytes} bytes > slotMaxBytes ${limits.slotMaxBytes}`;
  let sum = 0;
  for (const c of slot.chunks) sum += c.bytes.byteLength;
  if (sum !== slot.bytes) return `${key}: accounts ${slot.bytes} bytes, its chunks hold ${sum}`;
  return undefined;
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const errors: string[] = [];
  const violations: string[] = [];
  const violate = (v: string): void => {
    if (violations.length < 20) violations.push(v);
  };
  let checks = 0;

  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: false }, limits: o.limits });
  const rssStart = process.memoryUsage().rss / 2 ** 20;
  let gw: GatewayChild | undefined;
  let senders: CliChild | undefined;
  const unsubscribe: (() => void)[] = [];
  try {
    gw = await startGatewayChild(`127.0.0.1:${ui.otlp.grpc!.port}`);
    const cfg: SendersConfig = {
      grpc: gw.grpc,
      http: gw.http,
      senders: o.senders,
      seconds: o.seconds,
      intervalMs: o.intervalMs,
      processesPerNode: o.processesPerNode,
      workloads: o.workloads,
      maxDepth: o.maxDepth,
    };
    senders = startNode(fileURLToPath(import.meta.url), ['--senders-child', JSON.stringify(cfg)]);
    await senders.waitFor(new RegExp(READY));
    o.started?.(gw.child.pid!);
    const started = Date.now();
    const cpu0 = { ui: process.cpuUsage(), gateway: cpuSecondsOf(gw.child.pid!) };

    // Every slot change is checked against the caps, at the moment it happens.
    const keys = Array.from({ length: o.workloads }, (_, w) => workloadKey(w));
    for (const key of keys) {
      unsubscribe.push(
        ui.store.subscribe(key, () => {
          checks++;
          const v = checkSlot(ui, key);
          if (v) violate(v);
        }),
      );
    }

    // Store bytes and RSS, sampled.
    const mem = { maxBytes: 0, maxSlotBytes: 0, maxSlots: 0, maxRss: rssStart, gwMaxRss: 0 };
    const sampler = setInterval(() => {
      const s = ui.store.stats();
      mem.maxBytes = Math.max(mem.maxBytes, s.usage.bytes);
      mem.maxSlots = Math.max(mem.maxSlots, s.usage.slots);
      for (const k of keys) mem.maxSlotBytes = Math.max(mem.maxSlotBytes, ui.store.slot(k)?.bytes ?? 0);
      mem.maxRss = Math.max(mem.maxRss, process.memoryUsage().rss / 2 ** 20);
      if (gw?.child.pid) mem.gwMaxRss = Math.max(mem.gwMaxRss, rssMiBOf(gw.child.pid) || 0);
    }, o.sampleMs);

    const sendersDone = senders.waitFor(new RegExp(`${DONE}(.*)`), (o.seconds + 240) * 1000);
    let sendersFinished = false;
    void sendersDone.then(
      () => (sendersFinished = true),
      () => (sendersFinished = true),
    );

    // The viewer: enables workloads and queries profiles, one step at a time, and checks after
    // each step that the active slots are exactly the newest maxSlots of its own LRU model.
    const lru: string[] = [];
    const rand = rng(7);
    const whileMs: number[] = [];
    let steps = 0;
    let lastProgress = Date.now();
    const api = (path: string, init?: RequestInit): Promise<Response> => fetch(`${ui.url}${path}`, init);
    const enc = encodeURIComponent;
    const query = async (key: string, into: number[]): Promise<void> => {
      const t0 = performance.now();
      const res = await api(`/api/sources/${enc(key)}/profile`);
      const body = await res.text();
      into.push(performance.now() - t0);
      if (res.status !== 200) errors.push(`GET profile of ${key}: ${res.status} ${body.slice(0, 200)}`);
      else JSON.parse(body) as ProfileResponse;
    };
    while (!sendersFinished) {
      const enable = lru.length < o.limits.maxSlots || rand() < 0.2;
      if (enable) {
        const key = keys[Math.floor(rand() * keys.length)];
        const res = await api(`/api/sources/${enc(key)}/profiling`, { method: 'POST' });
        if (res.status !== 200) errors.push(`enable ${key}: ${res.status} ${await res.text()}`);
        else await res.arrayBuffer();
        const at = lru.indexOf(key);
        if (at >= 0) lru.splice(at, 1);
        lru.push(key);
        if (lru.length > o.limits.maxSlots) lru.shift();
      } else {
        const key = lru[Math.floor(rand() * lru.length)];
        await query(key, whileMs);
        lru.splice(lru.indexOf(key), 1);
        lru.push(key);
      }
      steps++;
      const sources = (await (await api('/api/sources')).json()) as SourcesResponse;
      const active = sources.sources.filter((s) => s.profiling.active).map((s) => s.key);
      checks++;
      if (active.length !== lru.length || !lru.every((k) => active.includes(k))) {
        violate(`after step ${steps}: active slots [${active.join(', ')}], LRU says [${lru.join(', ')}]`);
      }
      for (const s of sources.sources) {
        if (s.profiling.bytes > o.limits.slotMaxBytes) violate(`API: ${s.key} holds ${s.profiling.bytes} bytes > ${o.limits.slotMaxBytes}`);
      }
      if (Date.now() - lastProgress > 30_000) {
        lastProgress = Date.now();
        const s = ui.store.stats();
        o.progress?.({
          seconds: (Date.now() - started) / 1000,
          viewerSteps: steps,
          queriesMs: whileMs,
          storeSlots: s.usage.slots,
          storeBytes: s.usage.bytes,
          rssMiB: process.memoryUsage().rss / 2 ** 20,
          violations: violations.length,
        });
      }
      await sleep(o.viewerPauseMs);
    }
    const seconds = (Date.now() - started) / 1000;
    const done = JSON.parse((await sendersDone)[1]) as SendersDone;

    // The gateway has queued everything the senders sent; wait until the UI has it all.
    const gwMetrics = async (): Promise<string> => (await fetch(`${gw!.http}/metrics`)).text();
    const uiMetrics = async (): Promise<string> => ui.receiver.registry.metrics();
    const deadline = Date.now() + 120_000;
    let gText = await gwMetrics();
    let uText = await uiMetrics();
    while (
      (promValue(gText, 'pilotlight_exporter_queue_size') > 0 ||
        promValue(uText, 'pilotlight_receiver_requests_total') < promValue(gText, 'pilotlight_exporter_sent_requests_total', { exporter: 'ui' }) ||
        promValue(gText, 'pilotlight_exporter_sent_requests_total', { exporter: 'ui' }) + promValue(gText, 'pilotlight_exporter_dropped_requests_total') <
          promValue(gText, 'pilotlight_receiver_requests_total')) &&
      Date.now() < deadline
    ) {
      await sleep(200);
      gText = await gwMetrics();
      uText = await uiMetrics();
    }

    // Baseline: the same kind of query on the same slots, with nothing arriving.
    const idleMs: number[] = [];
    for (let i = 0; i < Math.max(20, Math.min(200, whileMs.length)); i++) await query(lru[i % lru.length], idleMs);

    clearInterval(sampler);
    const cpuUi = process.cpuUsage(cpu0.ui);
    const cpu = { ui: (cpuUi.user + cpuUi.system) / 1e6, gateway: cpuSecondsOf(gw.child.pid!) - cpu0.gateway };
    const gwRx = promValue(gText, 'pilotlight_receiver_requests_total');
    const gwAccepted = promValue(gText, 'pilotlight_receiver_requests_total', { outcome: 'accepted' });
    const gwSent = promValue(gText, 'pilotlight_exporter_sent_requests_total', { exporter: 'ui' });
    const uiRx = promValue(uText, 'pilotlight_receiver_requests_total');
    const uiAccepted = promValue(uText, 'pilotlight_receiver_requests_total', { outcome: 'accepted' });
    if (done.rejectedByQueue > 0) errors.push(`senders: ${done.rejectedByQueue} requests refused by a full sending queue`);
    for (const d of done.dropped) errors.push(`senders dropped: ${d}`);
    for (const w of done.warnings) errors.push(`senders logged: ${w}`);
    if (done.sent !== done.offered.requests) errors.push(`senders: ${done.offered.requests} requests offered, ${done.sent} sent`);
    if (gwAccepted !== gwRx)
      errors.push(
        `gateway receiver: ${gwRx - gwAccepted} of ${gwRx} requests not accepted (${promNonZero(gText, 'pilotlight_receiver_requests_total').join(' ')})`,
      );
    if (gwAccepted < done.sent) errors.push(`gateway accepted ${gwAccepted} requests, senders sent ${done.sent}`);
    for (const d of promNonZero(gText, 'pilotlight_exporter_dropped_requests_total')) errors.push(`gateway dropped: ${d}`);
    if (gwSent < gwAccepted) errors.push(`gateway sent ${gwSent} of ${gwAccepted} requests to the UI`);
    if (uiAccepted !== uiRx)
      errors.push(`UI receiver: ${uiRx - uiAccepted} of ${uiRx} requests not accepted (${promNonZero(uText, 'pilotlight_receiver_requests_total').join(' ')})`);
    if (uiAccepted < gwSent) errors.push(`UI accepted ${uiAccepted} requests, the gateway sent ${gwSent}`);
    const st = ui.store.stats();
    if (st.dropped.chunkTooLarge > 0) errors.push(`store: ${st.dropped.chunkTooLarge} chunks larger than a slot`);

    return {
      errors,
      violations,
      checks,
      offered: done.offered,
      delivered: { gatewayReceived: gwRx, gatewaySent: gwSent, uiAccepted, retries: done.retries + promValue(gText, 'pilotlight_exporter_retries_total') },
      seconds,
      queries: { while: whileMs, idle: idleMs },
      store: {
        maxBytes: mem.maxBytes,
        maxSlotBytes: mem.maxSlotBytes,
        maxSlots: mem.maxSlots,
        lruEvictions: st.evictions.lru,
        byteCapChunks: st.dropped.byteCapChunks,
        noSlot: st.dropped.noSlot,
        chunks: st.usage.chunks,
      },
      rss: { startMiB: rssStart, maxMiB: mem.maxRss, endMiB: process.memoryUsage().rss / 2 ** 20, gatewayMaxMiB: mem.gwMaxRss },
      viewerSteps: steps,
      cpu,
    };
  } finally {
    for (const u of unsubscribe) u();
    await senders?.stop(2000);
    await gw?.stop();
    await ui.close();
  }
}

// Started by runLoad as `node --import tsx test/helpers/load.ts --senders-child <config>`.
const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
const sendersArg = process.argv.indexOf('--senders-child');
if (invokedDirectly && sendersArg >= 0) await sendersChild(JSON.parse(process.argv[sendersArg + 1]) as SendersConfig);
