import http from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { deploymentProcessSlot, FleetLayout, nodeRequest, nodeTemplate, type NodeShape, type NodeTemplate } from './fleet-node.js';

/**
 * The fleet bench's sender, a child process of its own (so its CPU is not the gateway's or the
 * UI's): plays `nodes` nodes, each POSTing one OTLP/HTTP request per `periodMs` (the node
 * sampler's default transport) to gateway `n % targets.length`, as a Service spreads nodes'
 * connections over its pods. Nodes start spread evenly over one period, as real ones do.
 *
 * Driven over IPC by bench/fleet.bench.ts: `prime` (every node sends one small request, so the
 * UI lists every workload before anything is measured), `play` (at a period; again to change
 * it), `stats`, `stop`. Requests of
 * the nodes hosting a probed Deployment carry a fresh marker id in that pod's marker function;
 * each is reported back with its send time, and the parent polls the UI until it shows it.
 *
 * One keep-alive agent per gateway (at most 256 sockets) stands in for the nodes' own
 * connections: a real node holds one socket, so a real gateway holds more sockets for the
 * same requests.
 */

export interface SenderConfig {
  nodes: number;
  shape: NodeShape;
  /** Pods per Deployment, each on another node. */
  replicas: number;
  /** Distinct request templates the nodes cycle through. */
  templates: number;
  /** OTLP/HTTP base URLs (gateways, or the UI's own receiver for the direct baseline). */
  targets: string[];
  gzip: boolean;
  /** Deployments whose requests carry probe markers. */
  probes: number[];
  timeoutMs: number;
  /** Requests in flight at most; a node due while the sender is at this limit skips its turn (counted). */
  maxInFlight: number;
}

export type SenderCommand = { cmd: 'prime' } | { cmd: 'play'; periodMs: number } | { cmd: 'stats' } | { cmd: 'stop' };

export interface SenderStats {
  sent: number;
  ok: number;
  /** Non-200 answers, by status, and failures (timeouts, resets). */
  failed: Record<string, number>;
  skipped: number;
  /** Protobuf bytes before gzip / on the wire. */
  bytes: number;
  wireBytes: number;
  samples: number;
  /** ms behind schedule, worst seen (the sender itself falling behind). */
  maxLagMs: number;
  inFlight: number;
}

export type SenderEvent =
  | { ev: 'ready'; templateBytes: number[]; samplesPerRequest: number; primeBytes: number; workloads: number }
  | { ev: 'primed'; ms: number; failed: number }
  | { ev: 'stats'; stats: SenderStats }
  | { ev: 'marks'; marks: [id: number, deployment: number, sentAtMs: number][] }
  | { ev: 'stopped'; stats: SenderStats };

const gzipAsync = promisify(gzip);
const now = (): number => performance.timeOrigin + performance.now();

async function run(cfg: SenderConfig): Promise<void> {
  const send = (e: SenderEvent): void => void process.send!(e);
  const layout = new FleetLayout(cfg.nodes, cfg.shape, cfg.replicas);
  const templates: NodeTemplate[] = Array.from({ length: cfg.templates }, (_, v) => nodeTemplate(cfg.shape, v));
  const prime = nodeTemplate({ ...cfg.shape, samples: 0 }, 0);
  // Node → the probe marks it stamps: process slot → deployment.
  const probesOf = new Map<number, [slot: number, deployment: number][]>();
  for (const d of cfg.probes) {
    for (const h of layout.hostsOf(d)) {
      const list = probesOf.get(h.node) ?? [];
      list.push([deploymentProcessSlot(h.slot), d]);
      probesOf.set(h.node, list);
    }
  }
  const agents = cfg.targets.map(() => new http.Agent({ keepAlive: true, maxSockets: 256 }));
  const urls = cfg.targets.map((t) => new URL('/v1development/profiles', t));
  const stats: SenderStats = { sent: 0, ok: 0, failed: {}, skipped: 0, bytes: 0, wireBytes: 0, samples: 0, maxLagMs: 0, inFlight: 0 };
  const fail = (why: string): void => {
    stats.failed[why] = (stats.failed[why] ?? 0) + 1;
  };
  let pendingMarks: [number, number, number][] = [];
  let nextMark = 1;

  const post = async (node: number, raw: Buffer, samples: number): Promise<boolean> => {
    stats.inFlight++;
    stats.sent++;
    stats.bytes += raw.byteLength;
    stats.samples += samples;
    try {
      const body = cfg.gzip ? await gzipAsync(raw) : raw;
      stats.wireBytes += body.byteLength;
      const t = node % urls.length;
      const headers: Record<string, string | number> = { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength };
      if (cfg.gzip) headers['content-encoding'] = 'gzip';
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(urls[t], { method: 'POST', agent: agents[t], headers, timeout: cfg.timeoutMs }, (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
      });
      if (status === 200) stats.ok++;
      else fail(`HTTP ${status}`);
      return status === 200;
    } catch (err) {
      fail((err as Error).message === 'timeout' ? 'timeout' : ((err as NodeJS.ErrnoException).code ?? 'error'));
      return false;
    } finally {
      stats.inFlight--;
    }
  };

  const sendNode = (node: number, tick: number): void => {
    if (stats.inFlight >= cfg.maxInFlight) {
      stats.skipped++;
      return;
    }
    const t = templates[(node + tick) % templates.length];
    const probes = probesOf.get(node);
    let marks: Map<number, number> | undefined;
    if (probes) {
      marks = new Map();
      for (const [slot, d] of probes) {
        const id = nextMark++;
        marks.set(slot, id);
        pendingMarks.push([id, d, now()]);
      }
    }
    const raw = nodeRequest(t, layout, node, BigInt(Math.round(now() - 1000)) * 1_000_000n, marks);
    void post(node, raw, t.samples);
  };

  const primeAll = async (): Promise<void> => {
    const t0 = now();
    const failedBefore = Object.values(stats.failed).reduce((a, b) => a + b, 0);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cfg.nodes) {
        const n = next++;
        await post(n, nodeRequest(prime, layout, n, BigInt(Math.round(now() - 1000)) * 1_000_000n), prime.samples);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const failed = Object.values(stats.failed).reduce((a, b) => a + b, 0) - failedBefore;
    send({ ev: 'primed', ms: now() - t0, failed });
  };

  let playing = false;
  const timers: NodeJS.Timeout[] = [];
  /** Sends for `nodes`, each once per `periodMs`, spread evenly over the period. */
  const schedule = (nodes: number[], periodMs: number): void => {
    if (nodes.length === 0) return;
    const start = now();
    const gap = periodMs / nodes.length;
    let due = 0; // sends so far: node nodes[due % length], its tick floor(due / length)
    const step = (): void => {
      if (!playing) return;
      const t = now();
      while (start + due * gap <= t) {
        stats.maxLagMs = Math.max(stats.maxLagMs, t - (start + due * gap));
        sendNode(nodes[due % nodes.length], Math.floor(due / nodes.length));
        due++;
      }
      const timer = setTimeout(
        () => {
          timers.splice(timers.indexOf(timer), 1);
          step();
        },
        Math.max(1, Math.min(20, start + due * gap - now())),
      );
      timers.push(timer);
    };
    step();
  };
  // The nodes that stamp probes send every second in every phase, so each phase has latencies
  // to measure; the rest play at the phase's scale.
  const play = (periodMs: number): void => {
    for (const t of timers.splice(0)) clearTimeout(t);
    playing = true;
    const regular: number[] = [];
    for (let n = 0; n < cfg.nodes; n++) if (!probesOf.has(n)) regular.push(n);
    schedule(regular, periodMs);
    schedule([...probesOf.keys()], Math.min(1000, periodMs));
  };

  const flushMarks = setInterval(() => {
    if (pendingMarks.length === 0) return;
    send({ ev: 'marks', marks: pendingMarks });
    pendingMarks = [];
  }, 50);

  process.on('message', (m: SenderCommand) => {
    if (m.cmd === 'prime') void primeAll();
    else if (m.cmd === 'play') play(m.periodMs);
    else if (m.cmd === 'stats') send({ ev: 'stats', stats: { ...stats, failed: { ...stats.failed } } });
    else if (m.cmd === 'stop') {
      playing = false;
      for (const t of timers) clearTimeout(t);
      const wait = setInterval(() => {
        if (stats.inFlight > 0) return;
        clearInterval(wait);
        clearInterval(flushMarks);
        if (pendingMarks.length) send({ ev: 'marks', marks: pendingMarks });
        send({ ev: 'stopped', stats });
        for (const a of agents) a.destroy();
        process.disconnect();
      }, 20);
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({
    ev: 'ready',
    templateBytes: templates.map((t) => t.bytes.byteLength),
    samplesPerRequest: templates[0].samples,
    primeBytes: prime.bytes.byteLength,
    workloads: layout.workloads,
  });
}

const i = process.argv.indexOf('--config');
if (i >= 0) await run(JSON.parse(process.argv[i + 1]) as SenderConfig);
