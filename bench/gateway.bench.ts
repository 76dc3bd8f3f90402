import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { loadavg } from 'node:os';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';
import { growHeapInBigSteps } from '../src/cli/heap.js';
import { Gateway } from '../src/gateway/gateway.js';
import { simpleValue } from '../src/otlp/builder.js';
import { decodeResponse, encodeRequest } from '../src/otlp/codec.js';
import { KeyValueSchema, type ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { readRequest } from '../src/otlp/read-request.js';
import { gzipOptions } from '../src/pipeline/exporter/compress.js';
import { exportMethod } from '../src/pipeline/otlp-grpc.js';
import type { ReceiverAddresses } from '../src/pipeline/receiver/receiver.js';
import { requestStats } from '../src/pipeline/request-stats.js';
import { makeFleetRequest } from '../test/helpers/gen.js';
import { collectorBinary, startCollector } from '../test/helpers/peers.js';
import type { TestContext } from 'node:test';
import { cpuMedians, fmt, quantile, table } from './measure.js';
import { fromBinaryInOwnProcess } from './protobuf-es-baseline.js';

/**
 * The gateway over loopback: senders → gateway (its own process) → fan-out to two exporters
 * ("ui" and "dest"), each delivering to a loopback sink in this process. Per cell
 * (transport × gzip × concurrent senders) it first sends straight to the sink (the baseline,
 * same run, same senders), then through the gateway. Figures:
 * - req/s and MB/s: requests sent ÷ time until the last one reached every sink (MB of
 *   uncompressed protobuf);
 * - ack p50/p99: what a sender waits for its answer;
 * - delivery p50/p99: send → arrival at the "ui" sink; "added" is that minus the baseline's;
 * - RSS of the gateway process after each transport × gzip run, and its CPU time per request
 *   (the truest figure on a busy machine: it does not depend on what else gets the cores).
 * `GATEWAY_BENCH_SECONDS` sets each measured phase (default 1 s); `GATEWAY_BENCH_NODE_FLAGS` are node's
 * flags for the gateway process (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`); `GATEWAY_BENCH_ONLY=relays`
 * runs only the comparison of relays (`relaysCompared`). Figures only.
 */

const SECONDS = Number(process.env.GATEWAY_BENCH_SECONDS ?? 1);
const CONCURRENCY = [1, 8, 64];
/** `GATEWAY_BENCH_ONLY=relays`: only the relays compared (our gateway, the Collector, bare Node.js). */
const RELAYS_ONLY = process.env.GATEWAY_BENCH_ONLY === 'relays';
const MARK = 'seq-00000000';
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

type TransportName = 'http' | 'grpc';

/** A node-sized request (20 processes, ~550 samples, ~85 KiB) whose seq can be patched in place. */
function baseRequest(): { bytes: Buffer; markAt: number; request: ExportProfilesServiceRequest } {
  const request = makeFleetRequest({ processes: 20, functions: 600, locations: 1200, programs: 6, stacksPerProgram: 60 });
  request.resourceProfiles[0].resource!.attributes.push(create(KeyValueSchema, { key: 'bench.seq', value: simpleValue(MARK) }));
  const bytes = Buffer.from(encodeRequest(request));
  return { bytes, markAt: bytes.indexOf(MARK), request };
}

function withSeq(base: Buffer, markAt: number, seq: number): Buffer {
  const b = Buffer.from(base);
  b.write(String(seq).padStart(8, '0'), markAt + 4, 'latin1');
  return b;
}

/**
 * A loopback OTLP sink (HTTP and gRPC) that only finds each request's seq in its bytes and
 * answers success: cheap on purpose, so the figures measure the gateway, not the sink's decoder
 * (the senders and both sinks share this process).
 */
interface Sink {
  name: string;
  addrs: ReceiverAddresses;
  onArrive: (seq: number, at: number) => void;
  stop(): Promise<void>;
}

const MARK_PREFIX = Buffer.from(MARK.slice(0, 4));

function seqOf(body: Buffer): number {
  const at = body.indexOf(MARK_PREFIX);
  return at < 0 ? -1 : Number(body.toString('latin1', at + 4, at + 12));
}

async function startSink(name: string): Promise<Sink> {
  const sink: Sink = { name, addrs: {}, onArrive: () => {}, stop: async () => {} };
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      void (req.headers['content-encoding'] === 'gzip' ? gunzipAsync(raw) : Promise.resolve(raw)).then((body) => {
        sink.onArrive(seqOf(body), performance.now());
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end();
      });
    });
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
  grpcServer.addService(
    { Export: exportMethod },
    {
      Export: (call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => {
        sink.onArrive(seqOf(Buffer.from(call.request)), performance.now());
        cb(null, new Uint8Array(0));
      },
    },
  );
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  sink.addrs = { http: { host: '127.0.0.1', port: (httpServer.address() as AddressInfo).port }, grpc: { host: '127.0.0.1', port: grpcPort } };
  sink.stop = async () => {
    grpcServer.forceShutdown();
    httpServer.closeAllConnections();
    await new Promise<void>((r) => httpServer.close(() => r()));
  };
  return sink;
}

function target(addrs: ReceiverAddresses, transport: TransportName): string {
  return transport === 'grpc' ? `127.0.0.1:${addrs.grpc!.port}` : `http://127.0.0.1:${addrs.http!.port}`;
}

/** One client per run: HTTP/1.1 keep-alive with a socket per sender, or one gRPC channel. */
interface Client {
  /** Sends; resolves with rejected_profiles from the answer, or REFUSED when the gateway's queues were full. */
  send(body: Buffer): Promise<number>;
  close(): void;
}

function httpClient(base: string, concurrency: number, gzipped: boolean): Client {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL('/v1development/profiles', base);
  return {
    async send(raw) {
      const body = gzipped ? await gzipAsync(raw) : raw;
      const headers: Record<string, string | number> = { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength };
      if (gzipped) headers['content-encoding'] = 'gzip';
      return new Promise((resolve, reject) => {
        const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode === 503) return resolve(REFUSED);
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString()}`));
            resolve(Number(decodeResponse(Buffer.concat(chunks), 'protobuf').partialSuccess?.rejectedProfiles ?? 0n));
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

function grpcClient(addr: string, gzipped: boolean): Client {
  const client = new grpc.Client(addr, grpc.credentials.createInsecure(), {
    ...(gzipped ? { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip } : {}),
    'grpc.max_send_message_length': 64 << 20,
  });
  return {
    send: (body) =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(exportMethod.path, exportMethod.requestSerialize, exportMethod.responseDeserialize, body, (err, res) =>
          err?.code === grpc.status.UNAVAILABLE
            ? resolve(REFUSED)
            : err
              ? reject(err)
              : resolve(Number(decodeResponse(res!, 'protobuf').partialSuccess?.rejectedProfiles ?? 0n)),
        ),
      ),
    close: () => client.close(),
  };
}

interface RunResult {
  requests: number;
  seconds: number;
  ack: number[];
  delivery: number[];
  rejected: number;
  /** Requests the gateway refused because its queues were full (not counted in `requests`). */
  refused: number;
  undelivered: number;
}

let nextSeq = 0;

/** What `Client.send` answers for a request the gateway refused (its queues full). */
const REFUSED = -1;

/** `concurrency` senders for SECONDS against `addr`; then waits until every sink has every request. */
async function drive(opts: {
  addr: string;
  transport: TransportName;
  gzip: boolean;
  concurrency: number;
  sinks: Sink[];
  base: Buffer;
  markAt: number;
  seconds: number;
}): Promise<RunResult> {
  const sentAt = new Map<number, number>();
  const arrivals = new Map<number, number>();
  const delivery: number[] = [];
  let delivered = 0;
  let lastArrival = 0;
  const [first] = opts.sinks;
  for (const s of opts.sinks) {
    s.onArrive = (seq, at) => {
      const t = sentAt.get(seq);
      if (t === undefined) return;
      if (s === first) delivery.push(at - t);
      const n = (arrivals.get(seq) ?? 0) + 1;
      arrivals.set(seq, n);
      if (n === opts.sinks.length) delivered++;
      lastArrival = at;
    };
  }
  const client = opts.transport === 'grpc' ? grpcClient(opts.addr, opts.gzip) : httpClient(opts.addr, opts.concurrency, opts.gzip);
  const ack: number[] = [];
  let rejected = 0;
  let refused = 0;
  const started = performance.now();
  const end = started + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (performance.now() < end) {
        const seq = nextSeq++;
        const body = withSeq(opts.base, opts.markAt, seq);
        const t0 = performance.now();
        sentAt.set(seq, t0);
        const answer = await client.send(body);
        if (answer === REFUSED) {
          // Refused: the gateway's queues are full. A node would retry later; this sender
          // backs off as briefly as the exporter's first retry and sends a new request.
          sentAt.delete(seq);
          refused++;
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        rejected += answer;
        ack.push(performance.now() - t0);
      }
    }),
  );
  const requests = sentAt.size;
  const drainUntil = performance.now() + 30_000;
  while (delivered < requests && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 2));
  client.close();
  for (const s of opts.sinks) s.onArrive = () => {};
  ack.sort((a, b) => a - b);
  delivery.sort((a, b) => a - b);
  return { requests, seconds: (Math.max(lastArrival, started) - started) / 1000, ack, delivery, rejected, refused, undelivered: requests - delivered };
}

/**
 * The gateway in its own process, so its RSS and CPU are its own: this file again, running the
 * Gateway class with two exporters and answering over IPC (not `pilotlight gateway`, which is
 * startGatewayChild in test/helpers/processes.ts).
 */
interface GatewayWorker {
  addrs: ReceiverAddresses;
  rss(): Promise<{ rss: number; maxRss: number; cpuMs: number }>;
  stop(): Promise<void>;
}

interface WorkerConfig {
  transport: TransportName;
  gzip: boolean;
  sinks: string[];
}

async function startGatewayWorker(config: WorkerConfig, mode = '--gateway-worker'): Promise<GatewayWorker> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.GATEWAY_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      mode,
      JSON.stringify(config),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const replies: ((m: unknown) => void)[] = [];
  let exitCode: number | null | undefined;
  child.on('message', (m) => replies.shift()?.(m));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      for (const r of replies.splice(0)) r(new Error(`gateway worker exited (${code})`));
      resolve();
    }),
  );
  const request = async <T>(msg?: string): Promise<T> => {
    if (exitCode !== undefined) throw new Error(`gateway worker exited (${exitCode})`);
    const reply = await new Promise<unknown>((resolve) => {
      replies.push(resolve);
      if (msg) child.send(msg);
    });
    if (reply instanceof Error) throw reply;
    return reply as T;
  };
  const addrs = await request<ReceiverAddresses>();
  return {
    addrs,
    rss: () => request('rss'),
    stop: async () => {
      if (exitCode === undefined) child.send('stop');
      await exited;
    },
  };
}

async function runGatewayWorker(config: WorkerConfig): Promise<void> {
  // As `pilotlight gateway` starts, unless GATEWAY_BENCH_V8_DEFAULTS=1 (V8's own heap steps, for comparison).
  if (process.env.GATEWAY_BENCH_V8_DEFAULTS !== '1') growHeapInBigSteps();
  const tuning = { protocol: config.transport, enableDataCompression: config.gzip, timeout: 10_000 };
  const gw = new Gateway({
    receiver: { grpc: LOOPBACK, http: LOOPBACK, maxRequestBytes: 64 << 20 },
    exporters: [
      { name: 'ui', endpoint: config.sinks[0], ...tuning },
      { name: 'dest', endpoint: config.sinks[1], ...tuning },
    ],
  });
  const addrs = await gw.start();
  process.on('message', (msg) => {
    if (msg === 'rss') {
      const cpu = process.cpuUsage();
      process.send!({ rss: process.memoryUsage().rss / 2 ** 20, maxRss: process.resourceUsage().maxRSS / 1024, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
    if (msg === 'stop') void gw.stop(2000).then(() => process.exit(0));
  });
  process.send!(addrs);
}

/**
 * The least a Node.js relay can do, for the "relays compared" baseline: node:http in, each
 * body posted as received to both sinks over keep-alive node:http (4 sockets each, as our
 * exporters have), answered once both took it. No reading, no validation, no queue.
 */
async function runRelayWorker(config: WorkerConfig): Promise<void> {
  const agents = config.sinks.map(() => new http.Agent({ keepAlive: true, maxSockets: 4 }));
  const post = (sink: string, agent: http.Agent, body: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        new URL('/v1development/profiles', sink),
        { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      void Promise.all(config.sinks.map((sink, i) => post(sink, agents[i], body))).then(
        () => res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 }).end(),
        () => res.writeHead(503).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.on('message', (msg) => {
    if (msg === 'rss') {
      const cpu = process.cpuUsage();
      process.send!({ rss: process.memoryUsage().rss / 2 ** 20, maxRss: process.resourceUsage().maxRSS / 1024, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
    if (msg === 'stop') process.exit(0);
  });
  process.send!({ http: { host: '127.0.0.1', port: (server.address() as AddressInfo).port } } satisfies ReceiverAddresses);
}

/** CPU time (user + system) a process has used so far, from /proc. */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the name), in clock ticks.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** sysconf(_SC_CLK_TCK) on Linux. */
const CLOCK_TICKS = 100;

/**
 * The same senders and sinks through three relays, one after another, OTLP/HTTP without gzip:
 * our gateway, the real OpenTelemetry Collector (OTLP receiver → two otlphttp exporters; the
 * baseline the issue names) and a bare Node.js relay (what node:http alone costs). CPU time
 * per request of each relay's process.
 */
async function relaysCompared(sinks: Sink[], base: Buffer, markAt: number): Promise<void> {
  const common = { transport: 'http' as const, gzip: false, base, markAt, sinks };
  const rows: (string | number)[][] = [];
  /** CPU ms per request of the relay at each of RELAY_SENDERS. */
  const measureRelay = async (name: string, addr: string, cpuMs: () => Promise<number>): Promise<number[]> => {
    await drive({ ...common, addr, concurrency: 8, seconds: 0.4 });
    const out: number[] = [];
    for (const concurrency of RELAY_SENDERS) {
      const c0 = await cpuMs();
      const run = await drive({ ...common, addr, concurrency, seconds: SECONDS });
      const per = ((await cpuMs()) - c0) / run.requests;
      rows.push([`${name} ×${concurrency}`, run.requests / run.seconds, run.requests, per, `${run.refused}/${run.rejected}/${run.undelivered}`]);
      out.push(per);
    }
    return out;
  };
  const sinkUrls = sinks.map((s) => target(s.addrs, 'http'));
  const ours = await startGatewayWorker({ transport: 'http', gzip: false, sinks: sinkUrls });
  let oursMs: number[];
  try {
    oursMs = await measureRelay('Pilotlight gateway', target(ours.addrs, 'http'), async () => (await ours.rss()).cpuMs);
  } finally {
    await ours.stop();
  }
  let collectorMs: number[] | undefined;
  const collector = collectorBinary();
  if (collector.path) {
    const cleanups: (() => Promise<void> | void)[] = [];
    const t = { after: (fn: () => Promise<void> | void) => cleanups.push(fn) } as unknown as TestContext;
    try {
      const exporters = Object.fromEntries(
        sinkUrls.map((url, i) => [`otlphttp/${sinks[i].name}`, { endpoint: url, compression: 'none', encoding: 'proto', sending_queue: { num_consumers: 4 } }]),
      );
      const peer = await startCollector(t, collector.path, exporters);
      const pid = peer.child.pid!;
      collectorMs = await measureRelay('OpenTelemetry Collector (otlp → 2 × otlphttp)', `http://127.0.0.1:${peer.ports.http}`, async () => procCpuMs(pid));
    } finally {
      for (const c of cleanups.reverse()) await c();
    }
  } else {
    console.log(`relays compared: no Collector (${collector.why})`);
  }
  const relay = await startGatewayWorker({ transport: 'http', gzip: false, sinks: sinkUrls }, '--relay-worker');
  let relayMs: number[];
  try {
    relayMs = await measureRelay('bare Node.js relay (node:http in and out, no parsing)', target(relay.addrs, 'http'), async () => (await relay.rss()).cpuMs);
  } finally {
    await relay.stop();
  }
  console.log(table(['relays compared (HTTP, no gzip, ×senders)', 'req/s', 'requests', 'CPU ms/request', 'refused/dropped/lost'], rows));
  RELAY_SENDERS.forEach((n, k) =>
    console.log(
      `×${n}: our gateway's CPU per request is ${(oursMs[k] / relayMs[k]).toFixed(2)}× the bare Node.js relay's` +
        (collectorMs === undefined ? '' : ` and ${(oursMs[k] / collectorMs[k]).toFixed(2)}× the Collector's`),
    ),
  );
}

/** The senders of each relay run in `relaysCompared`. */
const RELAY_SENDERS = [1, 8];

export async function main(): Promise<void> {
  const { bytes, markAt, request } = baseRequest();
  const stats = requestStats(request);
  const MB = bytes.byteLength / 1e6;
  console.log(
    `request: ${fmt(bytes.byteLength / 1024)} KiB protobuf (${fmt((await gzipAsync(bytes)).byteLength / 1024)} KiB gzipped), ${stats.profiles} profiles, ${stats.samples} samples; ` +
      `${SECONDS} s per phase; gateway in its own process, senders and both sinks in this one (2 shared cores, load average ${loadavg()[0].toFixed(1)}: figures are noisy)`,
  );
  const sinks = [await startSink('ui'), await startSink('dest')];
  const rows: (string | number)[][] = [];
  const rssRows: (string | number)[][] = [];
  try {
    for (const transport of RELAYS_ONLY ? [] : (['http', 'grpc'] as const)) {
      for (const gz of [false, true]) {
        const gw = await startGatewayWorker({ transport, gzip: gz, sinks: sinks.map((s) => target(s.addrs, transport)) });
        try {
          const common = { transport, gzip: gz, base: bytes, markAt };
          // Warm-up (JIT, connections), not recorded.
          const before = await gw.rss();
          let through = (await drive({ ...common, addr: target(gw.addrs, transport), concurrency: 8, sinks, seconds: 0.4 })).requests;
          await drive({ ...common, addr: target(sinks[0].addrs, transport), concurrency: 8, sinks: [sinks[0]], seconds: 0.2 });
          for (const concurrency of CONCURRENCY) {
            const base = await drive({ ...common, addr: target(sinks[0].addrs, transport), concurrency, sinks: [sinks[0]], seconds: SECONDS });
            const run = await drive({ ...common, addr: target(gw.addrs, transport), concurrency, sinks, seconds: SECONDS });
            through += run.requests;
            const label = `${transport}${gz ? '+gzip' : ''} ×${concurrency}`;
            rows.push([
              label,
              base.requests / base.seconds,
              run.requests / run.seconds,
              (run.requests * MB) / run.seconds,
              quantile(run.ack, 0.5),
              quantile(run.ack, 0.99),
              quantile(base.delivery, 0.5),
              quantile(base.delivery, 0.99),
              quantile(run.delivery, 0.5),
              quantile(run.delivery, 0.99),
              quantile(run.delivery, 0.5) - quantile(base.delivery, 0.5),
              quantile(run.delivery, 0.99) - quantile(base.delivery, 0.99),
              `${run.refused}/${run.rejected}/${run.undelivered}`,
            ]);
          }
          const { rss, maxRss, cpuMs } = await gw.rss();
          rssRows.push([`${transport}${gz ? '+gzip' : ''}`, rss, maxRss, through, (cpuMs - before.cpuMs) / through]);
        } finally {
          await gw.stop();
        }
      }
    }
    await relaysCompared(sinks, bytes, markAt);
  } finally {
    for (const s of sinks) await s.stop();
  }
  console.log(
    table(
      [
        'transport ×senders',
        'direct req/s',
        'gw req/s',
        'gw MB/s',
        'ack p50',
        'ack p99',
        'direct p50',
        'direct p99',
        'gw p50',
        'gw p99',
        'added p50',
        'added p99',
        'refused/dropped/lost',
      ],
      rows,
    ),
  );
  console.log(
    'latencies in ms; direct/gw p50/p99 = send → arrival at the "ui" sink; refused = requests answered 503 / UNAVAILABLE (queues full; the sender backs off 50 ms); dropped = profiles the gateway reported as rejected; lost = accepted but never arrived at both sinks',
  );
  console.log(table(['gateway process', 'RSS MiB', 'peak MiB', 'requests', 'CPU ms/request'], rssRows));
  // Baselines for the CPU per request, same run, on the same body: in this process, the
  // gateway's own read + validate (what it must do with every request), with a gunzip before it
  // (a gzipped request), and a gzip at the exporter's settings (what forwarding the received
  // gzip bytes saves); protobuf-es fromBinary in a process of its own (protobuf-es-baseline.ts).
  const gz = gzipSync(bytes);
  const [rv, gunzipRv, gzipOnce] = cpuMedians(
    [() => readRequest(bytes, 'protobuf'), () => readRequest(gunzipSync(gz), 'protobuf'), () => gzipSync(bytes, gzipOptions(bytes.byteLength))],
    20,
  );
  const fb = (await fromBinaryInOwnProcess([bytes], 200)).cpuMs;
  console.log(
    table(
      ['baseline, same run (CPU ms per request)', 'ms'],
      [
        ['read + validate (the wire path every request takes)', rv],
        ['gunzip + read + validate', gunzipRv],
        ['gzip once (level 6, as an exporter compresses)', gzipOnce],
        ['protobuf-es fromBinary (a process of its own)', fb],
      ],
    ),
  );
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  const i = process.argv.indexOf('--gateway-worker');
  const relay = process.argv.indexOf('--relay-worker');
  if (i >= 0) await runGatewayWorker(JSON.parse(process.argv[i + 1]) as WorkerConfig);
  else if (relay >= 0) await runRelayWorker(JSON.parse(process.argv[relay + 1]) as WorkerConfig);
  else await main();
}
