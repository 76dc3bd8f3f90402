import { clone, create } from '@bufbuild/protobuf';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { simpleValue } from '../src/otlp/builder.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { ExportProfilesServiceRequestSchema, KeyValueSchema, type ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { Exporter } from '../src/pipeline/exporter.js';
import { requestStats } from '../src/pipeline/request-stats.js';
import { parseWorkloadKey } from '../src/profile/workload.js';
import type { ProfileResponse, SourcesResponse, StoreLimits } from '../src/api/types.js';
import { startUiServer, type UiServer } from '../src/ui/server.js';
import { makeFleetRequest, rng } from '../test/helpers/gen.js';
import { fmt, quantile, table } from './measure.js';
import { emitResult, type BenchResult } from './report.js';

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
 * The bench (`npm run bench -- load`) runs 100 senders for 10 minutes; LOAD_SECONDS,
 * LOAD_SENDERS, LOAD_INTERVAL_MS (default 2000) and LOAD_MAX_DEPTH (deepest stack, default 40)
 * change it. test/load.test.ts runs a short version.
 */

const here = fileURLToPath(new URL('.', import.meta.url));
export const CLI_MAIN = join(here, '..', 'src', 'cli', 'main.ts');

export interface LoadOptions {
  senders: number;
  seconds: number;
  intervalMs: number;
  /** Processes per node, each with its own workload (of `workloads` in the fleet). */
  processesPerNode: number;
  workloads: number;
  /** Deepest stack in the generated requests (bench/gen.ts maxDepth); smaller = lighter requests. */
  maxDepth: number;
  limits: StoreLimits;
  /** Pause between viewer steps. */
  viewerPauseMs: number;
  /** How often store bytes and RSS are sampled. */
  sampleMs: number;
  /** Called with a progress line now and then (bench output). */
  progress?: (line: string) => void;
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
export function workloadIndex(n: number, j: number, o: Pick<LoadOptions, 'processesPerNode' | 'workloads'>): number {
  return (n * o.processesPerNode + j) % o.workloads;
}

export function workloadKey(w: number): string {
  return `load-ns-${w % 5}/Deployment/svc-${w}`;
}

// ---------------------------------------------------------------------------------------------
// Child processes and metrics (also used by the latency bench and the fault tests)

export interface CliChild {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `re` in stdout (rejects if the child exits first). */
  waitFor(re: RegExp, limitMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `node --import tsx <script> args…` (a CLI command or a helper script). */
export function startNode(script: string, args: string[], env: Record<string, string> = {}): CliChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out + (err ? `\n[stderr]\n${err}` : ''),
    waitFor(re, limitMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${re} from ${script} within ${limitMs} ms: ${out}${err}`));
        }, limitMs);
        const onExit = (): void => {
          done();
          reject(new Error(`${script} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${re}: ${out}${err}`));
        };
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface GatewayChild extends CliChild {
  http: string;
  grpc: string;
}

/** `pilotlight gateway` in a child process, listening on `grpcPort`/`httpPort` (0 = any free). */
export async function startGatewayChild(uiEndpoint: string, extra: string[] = [], ports: { grpc?: number; http?: number } = {}): Promise<GatewayChild> {
  const c = startNode(CLI_MAIN, [
    'gateway',
    '--otlp-grpc',
    `127.0.0.1:${ports.grpc ?? 0}`,
    '--otlp-http',
    `127.0.0.1:${ports.http ?? 0}`,
    '--ui-endpoint',
    uiEndpoint,
    '--log-level',
    'warn',
    ...extra,
  ]);
  try {
    const h = await c.waitFor(/OTLP\/HTTP {2}(http:\/\/\S+)/);
    const g = await c.waitFor(/OTLP\/gRPC {2}(\S+)/);
    return { ...c, http: h[1], grpc: g[1] };
  } catch (err) {
    await c.stop(0);
    throw err;
  }
}

/** A free loopback port (bound and released; fine for tests on one machine). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Sum of a Prometheus metric's samples whose labels include every `labels` pair. */
export function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Label sets (as text) of a metric's non-zero samples, e.g. to list what was dropped and why. */
export function promNonZero(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && Number(l.slice(l.lastIndexOf(' ') + 1)) !== 0)
    .map((l) => l.slice(name.length));
}

export function rssMiBOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) the kernel has charged a process (USER_HZ = 100). */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
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
  const say = o.progress ?? (() => {});

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
    say(`${o.senders} senders running for ${o.seconds} s (every ${o.intervalMs} ms), gateway pid ${gw.child.pid}`);
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
        say(
          `${Math.round((Date.now() - started) / 1000)} s: ${steps} viewer steps, query p50 ${fmt(
            quantile(
              [...whileMs].sort((a, b) => a - b),
              0.5,
            ),
          )} ms, ` +
            `store ${s.usage.slots} slots ${fmt(s.usage.bytes / 2 ** 20)} MiB, RSS ${fmt(process.memoryUsage().rss / 2 ** 20)} MiB, ${violations.length} violations`,
        );
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

export async function main(): Promise<BenchResult> {
  const MiB = 2 ** 20;
  const o: LoadOptions = {
    senders: Number(process.env.LOAD_SENDERS ?? 100),
    seconds: Number(process.env.LOAD_SECONDS ?? 600),
    intervalMs: Number(process.env.LOAD_INTERVAL_MS ?? 2000),
    processesPerNode: 5,
    workloads: 150,
    maxDepth: Number(process.env.LOAD_MAX_DEPTH ?? 40),
    limits: { maxSlots: 16, slotTtlSeconds: 3600, slotMaxBytes: 1 * MiB, cleanupIntervalSeconds: 15 },
    viewerPauseMs: 100,
    sampleMs: 500,
    progress: (l) => console.log(l),
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
if (invokedDirectly) {
  const i = process.argv.indexOf('--senders-child');
  if (i >= 0) await sendersChild(JSON.parse(process.argv[i + 1]) as SendersConfig);
  else emitResult(await main());
}
