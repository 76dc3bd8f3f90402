import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProfileResponse, SlotsResponse, SourcesResponse } from '../src/api/types.js';
import { daemonSetKey, DAEMONSETS, deploymentKey, FleetLayout, parseMark, type NodeShape } from './fleet-node.js';
import type { SenderCommand, SenderConfig, SenderEvent, SenderStats } from './fleet-sender.js';
import { CLI_MAIN } from '../test/helpers/cli.js';
import { promNonZero, promValue } from '../test/helpers/metrics.js';
import { freePort } from '../test/helpers/peers.js';
import { cpuSecondsOf, rssMiBOf, startGatewayChild, startNode, type CliChild, type GatewayChild } from '../test/helpers/processes.js';
import { fmt, quantile, table } from './measure.js';
import { emitResult, type BenchFigure, type BenchResult } from './report.js';

/**
 * A fleet through the real processes: N simulated nodes (bench/fleet-sender.ts, one request per
 * node per period, shaped like the node sampler's, bench/fleet-node.ts) → G `pilotlight gateway`
 * processes (nodes spread over them as a Service spreads connections) → one `pilotlight ui`,
 * for N = 100, 1,000 and 10,000, with compression off and on. The UI has five slots enabled as
 * a user would: a DaemonSet (data from every node) and four Deployments (three pods each).
 *
 * This machine cannot carry even 100 nodes at one request a second beside its other work, so
 * a phase plays its N nodes (every one distinct, every one known to the UI: each sends a small
 * request first) at FLEET_MAX_RPS requests a second in all: each node sends every
 * max(1 s, N / FLEET_MAX_RPS), and the scale is printed. A second window plays them 4× slower.
 * From the two, per process, CPU = fixed + per request × rate (CPU time from /proc), which is
 * extrapolated to one request per node per second. The nodes that host two of the profiled
 * Deployments send every second in every phase: their requests carry marker functions, and
 * the end-to-end latency is send → the marker visible in GET /api/sources/:key/profile.
 *
 * Baselines, same run: the smallest N sent straight to the UI's OTLP/HTTP receiver (no
 * gateway), the smallest N's row for the per-node cost of the larger ones, and the sender's own
 * CPU per request.
 *
 * FLEET_NODES (default 100,1000,10000), FLEET_COMPRESSION (off,on), FLEET_GATEWAYS (gateways
 * for N >= 1000; default 2; smaller N use 1; FLEET_G1=1 adds a one-gateway run at N = 1,000),
 * FLEET_SECONDS (both measured windows, default 40), FLEET_WARMUP_SECONDS (8), FLEET_MAX_RPS
 * (40), FLEET_SAMPLES (samples per request, 64), FLEET_PROCESSES (per node, 12), FLEET_DIRECT=0
 * (skip the baseline), FLEET_UI_API=off (gateways forward every workload, where they can be
 * told which ones the UI wants), FLEET_DAEMONSET_SLOT=0 (no slot for the DaemonSet).
 */

const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const NODES = env('FLEET_NODES', '100,1000,10000').split(',').map(Number);
const COMPRESSION = env('FLEET_COMPRESSION', 'off,on')
  .split(',')
  .map((s) => s.trim() === 'on');
const GATEWAYS = Number(env('FLEET_GATEWAYS', '2'));
const SECONDS = Number(env('FLEET_SECONDS', '40'));
const WARMUP_S = Number(env('FLEET_WARMUP_SECONDS', '8'));
const MAX_RPS = Number(env('FLEET_MAX_RPS', '40'));
const SHAPE: NodeShape = { processes: Number(env('FLEET_PROCESSES', '12')), samples: Number(env('FLEET_SAMPLES', '64')) };
const REPLICAS = 3;
/** Deployments with a slot besides the DaemonSet; the first PROBED of them carry latency markers. */
const SLOTTED_DEPLOYMENTS = 4;
const PROBED = 2;
const POLL_MS = 50;
/** The second window plays the nodes this many times slower. */
const SLOWDOWN = 4;
const DAEMONSET_SLOT = env('FLEET_DAEMONSET_SLOT', '1') !== '0';
const LATENCY_GIVE_UP_MS = 15_000;
const SENDER = fileURLToPath(new URL('./fleet-sender.ts', import.meta.url));

interface Phase {
  nodes: number;
  /** 0: straight to the UI's OTLP/HTTP receiver. */
  gateways: number;
  gzip: boolean;
}

function phases(): Phase[] {
  const out: Phase[] = [];
  if (env('FLEET_DIRECT', '1') !== '0') out.push({ nodes: Math.min(...NODES), gateways: 0, gzip: false });
  for (const nodes of NODES) {
    for (const gzip of COMPRESSION) {
      const gateways = nodes < 1000 ? 1 : GATEWAYS;
      if (env('FLEET_G1', '0') === '1' && nodes === 1000 && !gzip && gateways !== 1) out.push({ nodes, gateways: 1, gzip });
      out.push({ nodes, gateways, gzip });
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wallNow = (): number => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------------------------------------
// The sender child

interface Sender {
  ready: Extract<SenderEvent, { ev: 'ready' }>;
  command(cmd: SenderCommand): void;
  next<E extends SenderEvent['ev']>(ev: E): Promise<Extract<SenderEvent, { ev: E }>>;
  onMarks(f: (marks: [number, number, number][]) => void): void;
  pid: number;
  kill(): void;
}

async function startSender(cfg: SenderConfig): Promise<Sender> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SENDER, '--config', JSON.stringify(cfg)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, (e: SenderEvent) => void>();
  let marks: (m: [number, number, number][]) => void = () => {};
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`fleet sender exited (${code})`))));
  exited.catch(() => {});
  child.on('message', (e: SenderEvent) => {
    if (e.ev === 'marks') marks(e.marks);
    else waiting.get(e.ev)?.(e);
  });
  const next = <E extends SenderEvent['ev']>(ev: E): Promise<Extract<SenderEvent, { ev: E }>> =>
    Promise.race([new Promise<Extract<SenderEvent, { ev: E }>>((resolve) => waiting.set(ev, (e) => resolve(e as Extract<SenderEvent, { ev: E }>))), exited]);
  const ready = await next('ready');
  return {
    ready,
    command: (cmd) => child.send(cmd),
    next,
    onMarks: (f) => (marks = f),
    pid: child.pid!,
    kill: () => child.kill('SIGKILL'),
  };
}

// ---------------------------------------------------------------------------------------------
// Latency: markers sent → visible in the UI API

class LatencyProbe {
  /** Marker id → deployment and send time, until seen. */
  private readonly outstanding = new Map<number, { d: number; sentAt: number }>();
  /** Marker ids the UI showed before the sender reported them (the report races the data). */
  private readonly early = new Map<number, number>();
  private readonly done = new Set<number>();
  private readonly etags = new Map<number, string>();
  readonly latencies: { sentAt: number; ms: number }[] = [];
  /** Profile GETs made, and how many of them answered with a profile (not 304). */
  readonly gets = { all: 0, full: 0 };
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly ui: string,
    private readonly keyOf: (d: number) => string,
  ) {}

  add(marks: [number, number, number][]): void {
    for (const [id, d, sentAt] of marks) {
      const seen = this.early.get(id);
      if (seen !== undefined) {
        this.early.delete(id);
        this.done.add(id);
        this.latencies.push({ sentAt, ms: seen - sentAt });
      } else this.outstanding.set(id, { d, sentAt });
    }
  }

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const ds = new Set([...this.outstanding.values()].map((o) => o.d));
        for (const d of ds) await this.poll(d);
        await sleep(POLL_MS);
      }
    })();
  }

  private async poll(d: number): Promise<void> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const tag = this.etags.get(d);
    if (tag) headers['if-none-match'] = tag;
    const res = await fetch(`${this.ui}/api/sources/${encodeURIComponent(this.keyOf(d))}/profile`, { headers });
    this.gets.all++;
    if (res.status !== 200) {
      await res.arrayBuffer();
      return;
    }
    const at = wallNow();
    this.gets.full++;
    const etag = res.headers.get('etag');
    if (etag) this.etags.set(d, etag);
    const body = (await res.json()) as ProfileResponse;
    for (const row of body.symbols) {
      const m = parseMark(row.name);
      if (!m || m.id === 0 || this.done.has(m.id)) continue;
      const o = this.outstanding.get(m.id);
      if (o) {
        this.outstanding.delete(m.id);
        this.done.add(m.id);
        this.latencies.push({ sentAt: o.sentAt, ms: at - o.sentAt });
      } else if (!this.early.has(m.id)) {
        // Shown before the sender's report of it arrived: the report races the data.
        this.early.set(m.id, at);
      }
    }
  }

  /** Waits for what is outstanding (up to the limit); returns how many were never seen. */
  async finish(from: number, to: number): Promise<number> {
    const until = wallNow() + LATENCY_GIVE_UP_MS;
    const pending = (): number => [...this.outstanding.values()].filter((o) => o.sentAt >= from && o.sentAt <= to).length;
    while (pending() > 0 && wallNow() < until) await sleep(50);
    this.stopped = true;
    await this.loop;
    return pending();
  }
}

// ---------------------------------------------------------------------------------------------
// One phase

interface Snapshot {
  at: number;
  cpu: { gateways: number; ui: number; sender: number };
  gwText: string[];
  uiText: string;
  sender: SenderStats;
}

/** What one measured window (between two snapshots) saw. */
interface Window {
  seconds: number;
  /** Node requests per second (received by the gateways; sent, when direct). */
  rate: number;
  cores: { gateways: number; ui: number; sender: number };
  bytes: number;
  wireBytes: number;
  forwardedBytes: number;
  /** OTLP requests the UI received. */
  uiRequests: number;
  requests: number;
}

/**
 * CPU = fixed + perRequest × rate, from two windows at different rates. Fixed is what a
 * process spends per second whatever the rate (the gateways' per-workload summaries, the
 * subscription, timers); perRequest is in ms. Undefined when the two points do not give a
 * positive slope (noise), and then the plain ratio of the faster window stands in.
 */
interface Cost {
  fixed: number;
  perRequest: number;
  fitted: boolean;
}

function costOf(w1: Window, w2: Window, part: keyof Window['cores']): Cost {
  const slope = (w1.cores[part] - w2.cores[part]) / (w1.rate - w2.rate);
  const fixed = w1.cores[part] - slope * w1.rate;
  if (Number.isFinite(slope) && slope > 0 && fixed >= 0) return { fixed, perRequest: slope * 1000, fitted: true };
  return { fixed: 0, perRequest: (w1.cores[part] / w1.rate) * 1000, fitted: false };
}

interface PhaseResult {
  phase: Phase;
  periodMs: number;
  windows: [Window, Window];
  gateway: Cost;
  ui: Cost;
  sender: Cost;
  uiRssMiB: number;
  uiPeakMiB: number;
  gatewayRssMiB: number;
  latency: number[];
  /** Latencies over a second: how long, and when sent (seconds into the measured windows). */
  slow: string[];
  /** The slowest /metrics scrape of the phase: ms, bytes. */
  scrape: { ms: number; bytes: number };
  /** The latency probe's profile GETs per second over the measured windows: all, and those answered with a profile. */
  gets: { all: number; full: number };
  unseen: number;
  sources: number;
  workloads: number;
  drops: string[];
}

/** The slowest /metrics answer seen (ms) and its size (bytes): a scrape that blocks a process shows in the latencies. */
const scrapes = { ms: 0, bytes: 0 };

async function metricsText(url: string): Promise<string> {
  const t0 = performance.now();
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (ms > scrapes.ms) Object.assign(scrapes, { ms, bytes: text.length });
  return text;
}

function peakMiBOf(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

let uiApiFlag: boolean | undefined;
/** Whether this gateway learns from the UI's API which workloads to forward (`--ui-api`). */
function gatewayHasUiApi(): boolean {
  uiApiFlag ??= spawnSync(process.execPath, ['--import', 'tsx', CLI_MAIN, 'gateway', '--help'], { encoding: 'utf8' }).stdout.includes('--ui-api');
  return uiApiFlag;
}

const sumOf = (texts: string[], name: string, labels: Record<string, string> = {}): number => texts.reduce((s, t) => s + promValue(t, name, labels), 0);

function windowOf(a: Snapshot, b: Snapshot, direct: boolean): Window {
  const seconds = (b.at - a.at) / 1000;
  const requests = direct
    ? b.sender.sent - a.sender.sent
    : sumOf(b.gwText, 'pilotlight_receiver_requests_total') - sumOf(a.gwText, 'pilotlight_receiver_requests_total');
  const fwd = (s: Snapshot): number => sumOf(s.gwText, 'pilotlight_exporter_sent_bytes_total', { exporter: 'ui' });
  return {
    seconds,
    rate: requests / seconds,
    requests,
    cores: { gateways: (b.cpu.gateways - a.cpu.gateways) / seconds, ui: (b.cpu.ui - a.cpu.ui) / seconds, sender: (b.cpu.sender - a.cpu.sender) / seconds },
    bytes: b.sender.bytes - a.sender.bytes,
    wireBytes: b.sender.wireBytes - a.sender.wireBytes,
    forwardedBytes: direct ? NaN : fwd(b) - fwd(a),
    uiRequests: promValue(b.uiText, 'pilotlight_receiver_requests_total') - promValue(a.uiText, 'pilotlight_receiver_requests_total'),
  };
}

async function runPhase(p: Phase, work: string): Promise<PhaseResult> {
  const periodMs = Math.max(1000, Math.round((p.nodes / MAX_RPS) * 1000));
  const layout = new FleetLayout(p.nodes, SHAPE, REPLICAS);
  const slotted = Array.from({ length: SLOTTED_DEPLOYMENTS }, (_, k) => Math.floor(((k + 0.5) * layout.deployments) / SLOTTED_DEPLOYMENTS));
  const probes = slotted.slice(0, PROBED);
  const grpcPort = await freePort();
  const httpPort = await freePort();
  Object.assign(scrapes, { ms: 0, bytes: 0 });
  const config = join(work, `gateway-${p.gzip ? 'gzip' : 'plain'}.yaml`);
  writeFileSync(config, `profiling:\n  enabled: true\n  exporter:\n    enableDataCompression: ${p.gzip}\n`);
  let ui: CliChild | undefined;
  const gateways: GatewayChild[] = [];
  let sender: Sender | undefined;
  try {
    ui = startNode(CLI_MAIN, ['ui', '--port', '0', '--otlp-grpc', `127.0.0.1:${grpcPort}`, '--otlp-http', `127.0.0.1:${httpPort}`, '--log-level', 'warn']);
    const uiUrl = (await ui.waitFor(/Pilotlight UI: (http:\S+)/))[1];
    const extra = ['--config', config, ...(gatewayHasUiApi() ? ['--ui-api', process.env.FLEET_UI_API === 'off' ? 'off' : uiUrl] : [])];
    for (let g = 0; g < p.gateways; g++) gateways.push(await startGatewayChild(`127.0.0.1:${grpcPort}`, extra));
    // The user's slots: a DaemonSet (every node sends it) and a few Deployments.
    for (const key of [...(DAEMONSET_SLOT ? [daemonSetKey(DAEMONSETS[0])] : []), ...slotted.map(deploymentKey)]) {
      const res = await fetch(`${uiUrl}/api/sources/${encodeURIComponent(key)}/profiling`, { method: 'POST' });
      if (res.status !== 200) throw new Error(`enable profiling for ${key}: ${res.status} ${await res.text()}`);
    }
    const targets = p.gateways === 0 ? [`http://127.0.0.1:${httpPort}`] : gateways.map((g) => g.http);
    const s = (sender = await startSender({
      nodes: p.nodes,
      shape: SHAPE,
      replicas: REPLICAS,
      templates: 24,
      targets,
      gzip: p.gzip,
      probes,
      timeoutMs: 5000,
      maxInFlight: 2000,
    }));
    const probe = new LatencyProbe(uiUrl, deploymentKey);
    s.onMarks((m) => probe.add(m));
    s.command({ cmd: 'prime' });
    const primed = await s.next('primed');
    // Let the gateways' subscriptions (if any) catch up with the slots before playing.
    await sleep(1500);
    probe.start();
    s.command({ cmd: 'play', periodMs });
    await sleep(WARMUP_S * 1000);

    const snapshot = async (): Promise<Snapshot> => {
      s.command({ cmd: 'stats' });
      const stats = (await s.next('stats')).stats;
      return {
        at: wallNow(),
        cpu: { gateways: gateways.reduce((a, g) => a + cpuSecondsOf(g.child.pid!), 0), ui: cpuSecondsOf(ui!.child.pid!), sender: cpuSecondsOf(s.pid) },
        gwText: await Promise.all(gateways.map((g) => metricsText(g.http))),
        uiText: await metricsText(uiUrl),
        sender: stats,
      };
    };
    // Two windows: the phase's rate, then a quarter of it, for CPU = fixed + per request × rate.
    const a = await snapshot();
    const gets0 = { ...probe.gets };
    await sleep((SECONDS / 2) * 1000);
    const b = await snapshot();
    s.command({ cmd: 'play', periodMs: periodMs * SLOWDOWN });
    await sleep(2000);
    const c = await snapshot();
    await sleep((SECONDS / 2) * 1000);
    const d = await snapshot();
    const getSeconds = (d.at - a.at) / 1000;
    const gets = { all: (probe.gets.all - gets0.all) / getSeconds, full: (probe.gets.full - gets0.full) / getSeconds };
    const uiRssMiB = rssMiBOf(ui.child.pid!);
    const gatewayRssMiB = Math.max(0, ...gateways.map((g) => rssMiBOf(g.child.pid!)));
    s.command({ cmd: 'stop' });
    const stopped = await s.next('stopped');
    const unseen = await probe.finish(a.at, d.at);

    // Drain: everything the gateways queued reaches the UI (or is counted as dropped).
    const drainUntil = Date.now() + 30_000;
    let gwTexts = await Promise.all(gateways.map((g) => metricsText(g.http)));
    while (gwTexts.some((t) => promValue(t, 'pilotlight_exporter_queue_size') > 0) && Date.now() < drainUntil) {
      await sleep(200);
      gwTexts = await Promise.all(gateways.map((g) => metricsText(g.http)));
    }
    const uiText = await metricsText(uiUrl);
    const slots = (await (await fetch(`${uiUrl}/api/slots`)).json()) as SlotsResponse;
    const sources = ((await (await fetch(`${uiUrl}/api/sources`)).json()) as SourcesResponse).sources.length;

    const drops: string[] = [];
    const st = stopped.stats;
    const failed = Object.entries(st.failed).map(([k, v]) => `${k} ×${v}`);
    if (failed.length) drops.push(`sender: ${failed.join(', ')}`);
    if (st.skipped) drops.push(`sender: ${st.skipped} sends skipped at 2,000 in flight`);
    if (primed.failed) drops.push(`prime: ${primed.failed} failed`);
    // Gateway drops and refusals, as counted before the measured windows (while the nodes
    // introduced themselves and warmed up) and after.
    const beforeAfter = (name: string, before: string, after: string, keep: (l: string) => boolean = () => true): string =>
      promNonZero(after, name)
        .filter(keep)
        .map((l) => {
          const total = Number(l.slice(l.lastIndexOf(' ') + 1));
          const labels = l.slice(0, l.lastIndexOf(' '));
          const earlier = before.split('\n').find((x) => x.startsWith(`${name}${labels} `));
          const e = earlier ? Number(earlier.slice(earlier.lastIndexOf(' ') + 1)) : 0;
          return `${labels} ${e} before measuring + ${total - e} after`;
        })
        .join(' ');
    gwTexts.forEach((t, g) => {
      const refused = beforeAfter('pilotlight_receiver_requests_total', a.gwText[g], t, (l) => !l.includes('outcome="accepted"'));
      if (refused) drops.push(`gateway ${g} receiver: ${refused}`);
      const dropped = beforeAfter('pilotlight_exporter_dropped_requests_total', a.gwText[g], t);
      if (dropped) drops.push(`gateway ${g} dropped: ${dropped}`);
      const rejected = promValue(t, 'pilotlight_exporter_rejected_profiles_total');
      if (rejected) drops.push(`gateway ${g}: ${rejected} profiles rejected by the UI`);
      const left = promValue(t, 'pilotlight_exporter_queue_size');
      if (left) drops.push(`gateway ${g}: ${left} requests still queued after 30 s`);
    });
    const uiRefused = beforeAfter('pilotlight_receiver_requests_total', a.uiText, uiText, (l) => !l.includes('outcome="accepted"'));
    if (uiRefused) drops.push(`UI receiver: ${uiRefused}`);
    if (slots.dropped.chunkTooLarge) drops.push(`UI: ${slots.dropped.chunkTooLarge} chunks larger than a slot`);

    const direct = p.gateways === 0;
    const w1 = windowOf(a, b, direct);
    const w2 = windowOf(c, d, direct);
    return {
      phase: p,
      periodMs,
      windows: [w1, w2],
      gateway: costOf(w1, w2, 'gateways'),
      ui: costOf(w1, w2, 'ui'),
      sender: costOf(w1, w2, 'sender'),
      uiRssMiB,
      uiPeakMiB: peakMiBOf(ui.child.pid!),
      gatewayRssMiB,
      latency: probe.latencies
        .filter((l) => l.sentAt >= a.at && l.sentAt <= d.at)
        .map((l) => l.ms)
        .sort((x, y) => x - y),
      slow: probe.latencies
        .filter((l) => l.sentAt >= a.at && l.sentAt <= d.at && l.ms > 1000)
        .map((l) => `${fmt(l.ms)} ms at +${fmt((l.sentAt - a.at) / 1000)} s`),
      scrape: { ...scrapes },
      gets,
      unseen,
      sources,
      workloads: layout.workloads,
      drops,
    };
  } finally {
    sender?.kill();
    for (const g of gateways) await g.stop();
    await ui?.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const label = (p: Phase): string =>
  `${p.nodes.toLocaleString('en-US')} nodes, ${p.gateways === 0 ? 'direct to UI' : `${p.gateways} gw`}, ${p.gzip ? 'gzip' : 'plain'}`;
const scaleOf = (r: PhaseResult): string => (r.periodMs === 1000 ? 'live' : `1/${fmt(r.periodMs / 1000)}`);
/** Cores at one request per node per second. */
const coresAt = (c: Cost, nodes: number): number => c.fixed + (c.perRequest * nodes) / 1000;
const fit = (c: Cost): string => (c.fitted ? '' : '*');

export async function main(): Promise<BenchResult> {
  const load0 = loadavg()[0];
  const work = mkdtempSync(join(tmpdir(), 'pl-fleet-'));
  const list = phases();
  console.log(
    `fleet: ${list.length} phases; ${SHAPE.processes} processes and ${SHAPE.samples} samples per node request (+1 marker sample per process); ` +
      `at most ${MAX_RPS} requests/s in all (a node sends every max(1 s, N/${MAX_RPS} s)), then ${SLOWDOWN}× slower; ${WARMUP_S} s warm-up + 2 × ${SECONDS / 2} s measured per phase; ` +
      `gateway → UI over gRPC${gatewayHasUiApi() ? `, gateways given the UI API (--ui-api ${process.env.FLEET_UI_API === 'off' ? 'off' : 'URL'})` : ''}; ` +
      `slots: ${DAEMONSET_SLOT ? `${daemonSetKey(DAEMONSETS[0])} + ` : ''}${SLOTTED_DEPLOYMENTS} Deployments (${PROBED} probed for latency, polled every ${POLL_MS} ms); ${cpus().length} cores, load average ${fmt(load0)}`,
  );
  const results: PhaseResult[] = [];
  for (const p of list) {
    const r = await runPhase(p, work).catch((err: unknown) => {
      rmSync(work, { recursive: true, force: true });
      throw err;
    });
    results.push(r);
    const [w] = r.windows;
    console.log(
      `  ${label(p)}: ${scaleOf(r)} (every ${fmt(r.periodMs / 1000)} s), ${fmt(w.rate)} then ${fmt(r.windows[1].rate)} req/s of ${fmt(w.bytes / w.requests / 1024)} KiB (${fmt(w.wireBytes / w.requests / 1024)} on the wire); ` +
        `gateway ${fmt(r.gateway.perRequest)} ms/req + ${fmt(r.gateway.fixed)} cores${fit(r.gateway)}, UI ${fmt(r.ui.perRequest)} ms/req + ${fmt(r.ui.fixed)} cores${fit(r.ui)}; UI RSS ${fmt(r.uiRssMiB)} MiB; ` +
        `latency p50 ${fmt(quantile(r.latency, 0.5))} / p99 ${fmt(quantile(r.latency, 0.99))} ms (n ${r.latency.length}); UI lists ${r.sources} of ${r.workloads} workloads; slowest /metrics ${fmt(r.scrape.ms)} ms (${fmt(r.scrape.bytes / 1024)} KiB); UI got ${fmt(w.uiRequests / w.requests)} OTLP requests per node request and ${fmt(r.gets.all)} profile GETs/s (${fmt(r.gets.full)} with a new profile); drops: ${r.drops.length ? r.drops.join('; ') : 'none'}`,
    );
  }
  rmSync(work, { recursive: true, force: true });

  console.log('\nmeasured, first window (the phase\'s rate; "scale": that rate against one request per node per second)');
  console.log(
    table(
      [
        'phase',
        'scale',
        'req/s',
        'KiB/req',
        'on wire',
        'to UI',
        'gw cores',
        'UI cores',
        'sender cores',
        'gw RSS',
        'UI RSS',
        'UI peak',
        'e2e p50',
        'e2e p99',
        'n',
        'unseen',
        'drops',
      ],
      results.map((r) => {
        const [w] = r.windows;
        return [
          label(r.phase),
          scaleOf(r),
          w.rate,
          w.bytes / w.requests / 1024,
          w.wireBytes / w.requests / 1024,
          w.forwardedBytes / w.requests / 1024,
          w.cores.gateways,
          w.cores.ui,
          w.cores.sender,
          r.phase.gateways ? r.gatewayRssMiB : NaN,
          r.uiRssMiB,
          r.uiPeakMiB,
          quantile(r.latency, 0.5),
          quantile(r.latency, 0.99),
          String(r.latency.length),
          String(r.unseen),
          String(r.drops.length),
        ];
      }),
    ),
  );
  console.log(
    'KiB per node request: as sent, on the wire, and forwarded to the UI by the gateways; cores: CPU seconds per second from /proc; RSS in MiB; latency in ms, send → marker in GET /api/sources/:key/profile',
  );

  console.log("\ncost model from the two windows: CPU = fixed + per request × rate (* = no positive fit, the first window's plain ratio instead)");
  console.log(
    table(
      ['phase', 'gw fixed cores', 'gw ms/req', 'UI fixed cores', 'UI ms/req', 'sender ms/req', 'req/s, windows 1 / 2'],
      results.map((r) => [
        label(r.phase),
        r.phase.gateways ? r.gateway.fixed : NaN,
        r.phase.gateways ? `${fmt(r.gateway.perRequest)}${fit(r.gateway)}` : '—',
        r.ui.fixed,
        `${fmt(r.ui.perRequest)}${fit(r.ui)}`,
        `${fmt(r.sender.perRequest)}${fit(r.sender)}`,
        `${fmt(r.windows[0].rate)} / ${fmt(r.windows[1].rate)}`,
      ]),
    ),
  );

  console.log(
    '\nextrapolated to one request per node per second (fixed + per request × N); the UI is one process, mostly one thread: past ~1 core it falls behind',
  );
  console.log(
    table(
      ['phase', 'gateway cores', 'per 1,000 nodes', 'UI cores', 'per 1,000 nodes'],
      results
        .filter((r) => r.phase.gateways > 0)
        .map((r) => [
          label(r.phase),
          coresAt(r.gateway, r.phase.nodes),
          (coresAt(r.gateway, r.phase.nodes) * 1000) / r.phase.nodes,
          coresAt(r.ui, r.phase.nodes),
          (coresAt(r.ui, r.phase.nodes) * 1000) / r.phase.nodes,
        ]),
    ),
  );
  for (const r of results) for (const d of r.drops) console.log(`  ! ${label(r.phase)}: ${d}`);
  for (const r of results) if (r.slow.length) console.log(`  ${label(r.phase)}: ${r.slow.length} latencies over 1 s: ${r.slow.slice(0, 8).join(', ')}`);

  const direct = results.find((r) => r.phase.gateways === 0);
  const smallest = Math.min(...NODES);
  const base = (r: PhaseResult): PhaseResult | undefined =>
    results.find((x) => x.phase.gateways > 0 && x.phase.nodes === smallest && x.phase.gzip === r.phase.gzip);
  const figures: BenchFigure[] = [];
  for (const r of results) {
    if (r.phase.gateways === 0) continue;
    const b = base(r);
    const note = `${scaleOf(r)}, ${fmt(r.windows[0].rate)} req/s`;
    const perNode = (c: Cost): number => (coresAt(c, r.phase.nodes) * 1e6) / r.phase.nodes;
    figures.push({
      name: `${label(r.phase)}: gateway CPU per node at 1 req/s`,
      value: perNode(r.gateway),
      unit: 'millicores',
      better: 'lower',
      note,
      baseline:
        b && b !== r
          ? { name: label(b.phase), value: (coresAt(b.gateway, b.phase.nodes) * 1e6) / b.phase.nodes }
          : { name: 'sender CPU per request, same phase', value: r.sender.perRequest },
    });
    figures.push({
      name: `${label(r.phase)}: UI CPU per node at 1 req/s`,
      value: perNode(r.ui),
      unit: 'millicores',
      better: 'lower',
      note,
      ...(direct ? { baseline: { name: label(direct.phase), value: perNode(direct.ui) } } : {}),
    });
    figures.push({
      name: `${label(r.phase)}: UI RSS`,
      value: r.uiRssMiB,
      unit: 'MiB',
      better: 'lower',
      ...(direct ? { baseline: { name: label(direct.phase), value: direct.uiRssMiB } } : {}),
    });
    figures.push({
      name: `${label(r.phase)}: end-to-end p50`,
      value: quantile(r.latency, 0.5),
      unit: 'ms',
      better: 'lower',
      note: `n ${r.latency.length}`,
      ...(direct ? { baseline: { name: label(direct.phase), value: quantile(direct.latency, 0.5) } } : {}),
    });
    figures.push({
      name: `${label(r.phase)}: end-to-end p99`,
      value: quantile(r.latency, 0.99),
      unit: 'ms',
      better: 'lower',
      ...(direct ? { baseline: { name: label(direct.phase), value: quantile(direct.latency, 0.99) } } : {}),
    });
  }
  return {
    title: 'fleet: N simulated nodes → G gateway processes → one UI',
    figures,
    notes: [
      'Scaled phases play every node at 1/scale of one request a second; CPU = fixed + per request × rate is fitted from two windows and extrapolated to one request per node per second. Latency is measured under the scaled load, from nodes that send every second.',
      `drops: ${
        results.every((r) => r.drops.length === 0)
          ? 'none in any phase'
          : results
              .filter((r) => r.drops.length)
              .map((r) => `${label(r.phase)}: ${r.drops.join('; ')}`)
              .join(' | ')
      }`,
      `A 2-core machine shared with other work (load average ${fmt(load0)} at start, ${fmt(loadavg()[0])} at the end): CPU time per request holds up; latencies are noisy.`,
    ],
  };
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) emitResult(await main());
