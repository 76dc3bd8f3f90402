import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { create } from '@bufbuild/protobuf';
import { decodeRequest, encodeRequest } from '../src/otlp/codec.js';
import { KeyValueSchema, ResourceSchema } from '../src/otlp/messages.js';
import { simpleValue } from '../src/otlp/builder.js';
import { ProfileStore } from '../src/store/store.js';
import { DEFAULT_LIMITS } from '../src/store/config.js';
import { parseWorkloadKey } from '../src/profile/workload.js';
import { flameGraph } from '../src/profile/flame.js';
import { symbolsTable } from '../src/profile/symbols.js';
import { startUiServer } from '../src/ui/server.js';
import { favourMemoryOverSpeed } from '../src/ui/memory-mode.js';
import { makeChunks, makeFleetRequest } from '../test/helpers/gen.js';
import { aggregateRequest } from '../src/profile/aggregate.js';
import { readWireRequest } from '../src/otlp/wire/request.js';
import { validateWire } from '../src/otlp/wire/validate.js';
import { cpuMedians, fmt, measure, quantile, table } from './measure.js';
import { fromBinaryInOwnProcess } from './protobuf-es-baseline.js';
import { readBodies, writeBodies } from './bodies-file.js';

/**
 * The profile store and UI server: ingest into 24 active slots over loopback OTLP/HTTP, query
 * latency on a full 8 MiB slot (in process and through the HTTP API), and the RSS of a fresh
 * process holding 24 full slots. Figures only.
 */
const SLOTS = 24;
const SLOT_BYTES = DEFAULT_LIMITS.slotMaxBytes;

/** The generated chunks re-labelled for workload `host/Service/svc-i`. */
function chunksFor(base: Uint8Array[], i: number): Uint8Array[] {
  return base.map((bytes) => {
    const req = decodeRequest(bytes, 'protobuf');
    for (const rp of req.resourceProfiles) {
      rp.resource = create(ResourceSchema, { attributes: [create(KeyValueSchema, { key: 'service.name', value: simpleValue(`svc-${i}`) })] });
    }
    return encodeRequest(req);
  });
}

function samplesIn(bytes: Uint8Array): number {
  let n = 0;
  for (const rp of decodeRequest(bytes, 'protobuf').resourceProfiles)
    for (const sp of rp.scopeProfiles) for (const p of sp.profiles) for (const s of p.samples) n += s.timestampsUnixNano.length || s.values.length;
  return n;
}

/**
 * A node sends one request per flush holding all its workloads with one shared dictionary
 * (src/node/assemble.ts), so the store must cut it into per-workload chunks. In process, every
 * workload with a slot: the wire path the receiver takes (read + validate + chunk + count;
 * stacks are resolved when a slot is read) against protobuf-es `fromBinary` of the same bytes
 * (in a process of its own, protobuf-es-baseline.ts).
 */
async function sharedDictionaryIngest(): Promise<void> {
  const cases = [
    { name: 'node flush (20 processes)', opts: { processes: 20, functions: 600, locations: 1200, programs: 6, stacksPerProgram: 60 } },
    { name: 'fleet request (200 processes)', opts: {} },
  ];
  const rows: (string | number)[][] = [];
  for (const c of cases) {
    const req = makeFleetRequest(c.opts);
    const bytes = encodeRequest(req);
    const keys = [...aggregateRequest(req).keys()];
    const fresh = (): ProfileStore => {
      const store = new ProfileStore({ ...DEFAULT_LIMITS, maxSlots: keys.length, slotTtlSeconds: 24 * 3600 });
      for (const k of keys) store.open(parseWorkloadKey(k)!);
      return store;
    };
    const wireStore = fresh();
    const [wire] = cpuMedians(
      [
        () => {
          const w = readWireRequest(bytes);
          validateWire(w);
          wireStore.ingestEncoded(bytes, w);
        },
      ],
      c.opts.processes ? 20 : 3,
    );
    const obj = (await fromBinaryInOwnProcess([bytes], 15)).cpuMs;
    const mb = bytes.byteLength / 1e6;
    rows.push([c.name, keys.length, bytes.byteLength / 1024, wire, mb / (wire / 1000), obj, mb / (obj / 1000), obj / wire]);
  }
  console.log(
    table(
      [
        'one request, many workloads, shared dictionary (CPU ms)',
        'workloads',
        'KiB',
        'ingest ms',
        'ingest MB/s',
        'baseline: fromBinary ms',
        'baseline MB/s',
        'vs fromBinary',
      ],
      rows,
    ),
  );
}

export async function main(): Promise<void> {
  // --rss-only: only the RSS of the UI process (part 3), which takes a few seconds.
  // --ingest-only: only the ingest over OTLP/HTTP (part 1).
  const rssOnly = process.argv.includes('--rss-only');
  const ingestOnly = process.argv.includes('--ingest-only');
  // As `pilotlight ui` runs by default, or with --optimize-for-size as `pilotlight ui --optimize-for-size` does.
  const sized = process.argv.includes('--optimize-for-size');
  if (sized) favourMemoryOverSpeed();
  console.log(
    sized ? 'this process: as `pilotlight ui --optimize-for-size` (V8 --optimize-for-size)' : 'this process: as `pilotlight ui` runs by default (plain node)',
  );
  if (!rssOnly && !ingestOnly) await sharedDictionaryIngest();
  // A little over one slot's cap, so the byte cap is exercised while filling.
  const base = makeChunks({ totalBytes: Math.round(SLOT_BYTES * 1.1) });
  const perSlot = Array.from({ length: SLOTS }, (_, i) => chunksFor(base, i));
  const totalBytes = perSlot.reduce((s, cs) => s + cs.reduce((t, c) => t + c.byteLength, 0), 0);
  const samplesPerChunk = samplesIn(base[0]);
  console.log(
    `${SLOTS} workloads × ${base.length} chunks (${fmt(base[0].byteLength / 1024)} KiB, ~${samplesPerChunk} samples each); ${fmt(totalBytes / 2 ** 20)} MiB to send`,
  );

  if (!rssOnly) {
    // The same workload's next chunks, for full slots: as many again, none sent before.
    const more = makeChunks({ totalBytes: Math.round(SLOT_BYTES * 2.2) }).slice(base.length);
    const perSlotMore = Array.from({ length: SLOTS }, (_, i) => chunksFor(more, i));
    await ingestAndQuery(perSlot, perSlotMore, samplesPerChunk);
  }
  if (ingestOnly) return;
  // The goal is judged on the process as `pilotlight ui` runs by default; then with --optimize-for-size.
  try {
    await uiProcessRss(base, perSlot, false);
    await uiProcessRss(base, perSlot, true);
  } finally {
    rmSync(BUILD_DIR, { recursive: true, force: true });
  }
}

/** The same chunks' bodies, slot by slot in turn (chunk 0 of every slot, then chunk 1, …). */
function interleaved(perSlot: Uint8Array[][]): Uint8Array[] {
  const queue: Uint8Array[] = [];
  for (let c = 0; c < perSlot[0].length; c++) for (let i = 0; i < SLOTS; i++) queue.push(perSlot[i][c]);
  return queue;
}

interface IngestRun {
  requests: number;
  bytes: number;
  secs: number;
  cpuSecs: number;
  /** Sorted, ms. */
  latencies: number[];
}

/**
 * Posts `queue` to `url` from a sender child (8 at a time, keep-alive): the senders run in a
 * process of their own, so this process's CPU time is the UI server's alone, as a gateway's
 * requests would cost it.
 */
async function ingestRun(url: string, queue: Uint8Array[]): Promise<IngestRun> {
  const sender = await startSender(queue);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = await sender.send(url, 8);
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const bytes = queue.reduce((s, b) => s + b.byteLength, 0);
  return { requests: queue.length, bytes, secs, cpuSecs: (cpu.user + cpu.system) / 1e6, latencies };
}

/**
 * Ingest throughput and query latency, in this process. `perSlot` fills the slots from empty;
 * `perSlotMore` (the same workload's next chunks, none sent before) then arrives at full slots,
 * each chunk pushing out the oldest: the rate a UI keeps up under load. Filling pays what only
 * the first pass does: the slots' rings are touched for the first time (page faults) and their
 * call trees meet their frames.
 */
async function ingestAndQuery(perSlot: Uint8Array[][], perSlotMore: Uint8Array[][], samplesPerChunk: number): Promise<void> {
  // 1. Ingest over loopback OTLP/HTTP into 24 active slots, 8 senders.
  const ui = await startUiServer({ port: 0, otlp: { grpc: false, http: { host: '127.0.0.1', port: 0 }, maxRequestBytes: 16 * 2 ** 20 } });
  try {
    // Nobody views the slots while they fill: on a busy machine that can outlast the TTL.
    ui.store.setLimits({ slotTtlSeconds: 24 * 3600 });
    for (let i = 0; i < SLOTS; i++) ui.store.open(parseWorkloadKey(`host/Service/svc-${i}`)!);
    const url = `http://127.0.0.1:${ui.otlp.http!.port}/v1development/profiles`;
    const queue = interleaved(perSlot);
    const fill = await ingestRun(url, queue);
    const full = await ingestRun(url, interleaved(perSlotMore));
    const stats = ui.store.stats();
    // Baselines, same run, on the filling bodies: protobuf-es fromBinary of them, one after
    // another, in a process of its own (protobuf-es-baseline.ts says why); and the same requests
    // from the same sender into a bare node:http server that only collects each body and
    // answers 200, what HTTP alone costs on this machine. Also per CPU second (for the ingest,
    // this process's CPU time: the UI server and its store), which a machine shared with other
    // work changes far less than wall time.
    const baseline = await fromBinaryInOwnProcess(queue, 1);
    const sink = await bareSink(queue);
    const sinkMBs = fill.bytes / 1e6 / sink.secs;
    const sinkCpuMBs = fill.bytes / 1e6 / sink.cpuSecs;
    const rows = (name: string, run: IngestRun): (string | number)[][] => {
      const mbs = run.bytes / 1e6 / run.secs;
      const cpuMBs = run.bytes / 1e6 / run.cpuSecs;
      return [
        [
          `${name}, wall time`,
          run.requests,
          mbs,
          (run.requests * samplesPerChunk) / run.secs,
          quantile(run.latencies, 0.5),
          quantile(run.latencies, 0.99),
          baseline.mbPerSec,
          `${(mbs / baseline.mbPerSec).toFixed(2)}×`,
          sinkMBs,
          `${(mbs / sinkMBs).toFixed(2)}×`,
        ],
        [
          '  per CPU second of the UI process (senders in a child process)',
          '',
          cpuMBs,
          '',
          '',
          '',
          baseline.mbPerCpuSec,
          `${(cpuMBs / baseline.mbPerCpuSec).toFixed(2)}×`,
          sinkCpuMBs,
          `${(cpuMBs / sinkCpuMBs).toFixed(2)}×`,
        ],
      ];
    };
    console.log(
      table(
        [
          'ingest over OTLP/HTTP (8 senders)',
          'requests',
          'MB/s',
          'samples/s',
          'p50 ms',
          'p99 ms',
          'baseline: fromBinary MB/s',
          'vs fromBinary',
          'baseline: bare node:http sink MB/s',
          'vs sink',
        ],
        [...rows('24 empty slots filling', fill), ...rows('24 full slots, steady state (new chunks push out the oldest)', full)],
      ),
    );
    if (process.argv.includes('--ingest-only')) return;
    console.log(
      `store after ingest: ${stats.usage.slots} slots, ${fmt(stats.usage.bytes / 2 ** 20)} MiB held (cap ${fmt((SLOTS * SLOT_BYTES) / 2 ** 20)} MiB), ${stats.dropped.byteCapChunks} chunks dropped at the byte cap`,
    );

    // 2. Query latency on a full slot: in process, and through the API (JSON over loopback).
    // "After new data" changes the slot's tree before each query (as live data does), so the
    // flame graph and symbols are built again; "repeat" asks again with nothing new (cached).
    const key = 'host/Service/svc-0';
    const change = () => ui.store.profile(key).tree.add(0, 0, 0);
    const query = () => {
      const p = ui.store.profile(key);
      flameGraph(p.tree);
      symbolsTable(p.tree);
    };
    const cold = measure(() => (change(), query()), { runs: 30 });
    const warm = measure(query, { runs: 30 });
    const apiUrl = `${ui.url}/api/sources/${encodeURIComponent(key)}/profile`;
    const api = async (before: () => void): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 33; i++) {
        before();
        const s = performance.now();
        const res = await fetch(apiUrl);
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`profile answered ${res.status}`);
        if (i >= 3) out.push(performance.now() - s);
      }
      return out.sort((a, b) => a - b);
    };
    const apiCold = await api(change);
    const apiWarm = await api(() => {});
    const windowed = measure(() => ui.store.profile(key, { from: 0, to: Number.MAX_SAFE_INTEGER / 2 }), { runs: 5, warmup: 1 });
    const slot = ui.store.slot(key)!;
    const nodes = flameGraph(ui.store.profile(key).tree).frame.length;
    console.log(
      table(
        [`query a full slot (${fmt(slot.bytes / 2 ** 20)} MiB, ${slot.chunks.length} chunks, ${nodes} flame nodes)`, 'p50 ms', 'p90/p99 ms'],
        [
          ['in process, after new data (flame graph + symbols built)', cold.median, cold.p90],
          ['in process, repeat (cached per tree version)', warm.median, warm.p90],
          ['GET /api/sources/{key}/profile, after new data', quantile(apiCold, 0.5), quantile(apiCold, 0.99)],
          ['GET /api/sources/{key}/profile, repeat', quantile(apiWarm, 0.5), quantile(apiWarm, 0.99)],
          ['baseline: a time-window query (decodes every chunk)', windowed.median, windowed.p90],
        ],
      ),
    );
    const inProcess = cold;
    const apiTimes = apiCold;
    console.log(
      `goal: ≤ 50 ms p50 for the query after new data → ${quantile(apiTimes, 0.5) <= 50 ? 'met' : 'NOT met'} over HTTP, ${inProcess.median <= 50 ? 'met' : 'NOT met'} in process`,
    );
  } finally {
    await ui.close();
  }
}

/**
 * Posts `queue` (as `ingestRun` does) into a bare node:http server in this process that
 * collects each body into one buffer and answers 200 with no body.
 */
async function bareSink(queue: Uint8Array[]): Promise<IngestRun> {
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      Buffer.concat(parts);
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    return await ingestRun(`http://127.0.0.1:${port}/v1development/profiles`, queue);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** A child process that posts requests over OTLP/HTTP (see `senderChild`). */
interface Sender {
  /** Posts every request, `concurrency` at a time over keep-alive connections; resolves with each one's latency (ms). */
  send(url: string, concurrency: number): Promise<number[]>;
}

/** Starts the sender child with `queue` (handed over in a temporary file) and waits until it has read it. */
async function startSender(queue: Uint8Array[]): Promise<Sender> {
  const dir = mkdtempSync(join(tmpdir(), 'pilotlight-store-bench-'));
  const file = join(dir, 'queue.bin');
  writeBodies(file, queue);
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...(self.endsWith('.js') ? [] : ['--import', 'tsx']), self, '--sender-child', file], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`sender child exited (${code})`)));
    });
  try {
    await next();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    send: async (url, concurrency) => {
      const done = next();
      child.send({ url, concurrency });
      const reply = (await done) as { latencies?: number[]; error?: string };
      child.kill();
      if (reply.error) throw new Error(reply.error);
      return reply.latencies!;
    },
  };
}

/** The sender child: reads the queue, says so, then posts it all when told where. */
async function senderChild(file: string): Promise<void> {
  const queue = readBodies(file);
  process.once('message', (msg: { url: string; concurrency: number }) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: msg.concurrency });
    const latencies: number[] = [];
    let next = 0;
    const post = (body: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        const s = performance.now();
        const req = http.request(
          msg.url,
          { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.byteLength } },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) reject(new Error(`ingest answered ${res.statusCode}`));
              else {
                latencies.push(performance.now() - s);
                resolve();
              }
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    void Promise.all(
      Array.from({ length: msg.concurrency }, async () => {
        while (next < queue.length) await post(queue[next++]);
      }),
    ).then(
      () => process.send!({ latencies }),
      (err: unknown) => process.send!({ error: String(err) }),
    );
  });
  process.send!({ ready: true });
}

/** RSS of the UI process. */
async function uiProcessRss(base: Uint8Array[], perSlot: Uint8Array[][], tuned: boolean): Promise<void> {
  // 3. RSS of a fresh UI process (the real server in a child process) holding 24 full slots,
  // filled over loopback OTLP/HTTP as the gateway would.
  const child = await startUiChild(tuned);
  try {
    for (let i = 0; i < SLOTS; i++) {
      const res = await fetch(`${child.url}/api/sources/${encodeURIComponent(`host/Service/svc-${i}`)}/profiling`, { method: 'POST' });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`enable profiling answered ${res.status}`);
    }
    const url = `http://127.0.0.1:${child.otlpHttpPort}/v1development/profiles`;
    const queue: Uint8Array[] = [];
    for (let c = 0; c < base.length; c++) for (let i = 0; i < SLOTS; i++) queue.push(perSlot[i][c]);
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < queue.length) {
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.from(queue[next++]) });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
        }
      }),
    );
    // Right after the last answer, as a monitor would see it (no collection forced); then after
    // a full GC and a second's settling (freed pages are unmapped by background threads); then idle.
    const now = await child.memory('now');
    const full = await child.memory('settled');
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const idle = await child.memory('settled');
    const goal = 1.5 * ((SLOTS * SLOT_BYTES) / 2 ** 20) + 100;
    console.log(
      table(
        [
          `RSS of the UI process (${child.runtime}, ${tuned ? 'as `pilotlight ui --optimize-for-size` runs' : 'as `pilotlight ui` runs by default'}), filled over OTLP/HTTP`,
          'MiB',
        ],
        [
          ['store empty (server started)', child.rssEmpty],
          [`24 slots full (${fmt(full.held / 2 ** 20)} MiB of chunks held), right after the last request`, now.rss],
          ['  the same after a full GC and 1 s', full.rss],
          ['  of which JS heap in use / allocated', `${fmt(full.heapUsed)} / ${fmt(full.heapTotal)}`],
          ['  of which array buffers (call-tree tables; the chunk arenas are not counted here)', full.arrayBuffers],
          ['  of which the malloc heap ([heap])', full.mallocHeap],
          [`  the same after ${IDLE_MS / 1000} s idle`, idle.rss],
          ['peak RSS while filling', full.peakRss],
          [`goal ≤ 1.5 × 192 + 100${tuned ? '' : ' (judged on this process)'}`, goal],
        ],
      ),
    );
    const verdict = (mib: number) => (mib <= goal ? 'met' : 'NOT met');
    if (!tuned) console.log(`goal: right after filling ${verdict(now.rss)}, after a GC ${verdict(full.rss)}, at the peak ${verdict(full.peakRss)}`);
  } finally {
    await child.stop();
  }
}

const IDLE_MS = 10_000;

interface ChildMemory {
  rss: number;
  peakRss: number;
  heapUsed: number;
  heapTotal: number;
  arrayBuffers: number;
  held: number;
  mallocHeap: number;
}

/**
 * The process's peak RSS (MiB) since it started: VmHWM, which belongs to the address space
 * the exec made. getrusage's maxRSS would not do: Linux carries it over the exec, so a child
 * forked from a large parent reports the parent's size.
 */
function peakRssMiB(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** RSS (MiB) of the main malloc heap (the [heap] mapping), where small buffers live and freed memory lingers. */
function mallocHeapRss(): number {
  let inHeap = false;
  let kb = 0;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.endsWith('[heap]');
    else if (inHeap && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb / 1024;
}

interface UiChild {
  url: string;
  otlpHttpPort: number;
  rssEmpty: number;
  /** How the child runs: under tsx from the sources, or compiled JavaScript. */
  runtime: string;
  /** 'now': as it is; 'settled': after a full GC and a second for background threads to free. */
  memory(when: 'now' | 'settled'): Promise<ChildMemory>;
  stop(): Promise<void>;
}

/** Where this benchmark's own JavaScript goes when it runs under tsx (see `compiledSelf`). */
const BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.bench-build');

/**
 * This file as compiled JavaScript, as the product runs (the image and `npm start` run tsc's
 * output; under tsx the same process holds some 40 MiB more, tsx's own): itself when it already
 * is, else the repository compiled into .bench-build/ (removed when the benchmark ends).
 */
function compiledSelf(): string {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.js')) return self;
  if (!built) {
    rmSync(BUILD_DIR, { recursive: true, force: true });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(BUILD_DIR, '..', 'tsconfig.json'), '--outDir', BUILD_DIR], { stdio: 'inherit' });
    built = true;
  }
  return join(BUILD_DIR, 'bench', 'store.bench.js');
}
let built = false;

/**
 * `pilotlight ui`'s server in a child process of its own, so its RSS is the UI process's:
 * compiled JavaScript in plain node, as the product runs.
 */
async function startUiChild(tuned: boolean): Promise<UiChild> {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', compiledSelf(), '--rss-child', ...(tuned ? [] : ['--untuned'])], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: ((m: unknown) => void)[] = [];
  let exitCode: number | null | undefined;
  child.on('message', (m) => replies.shift()?.(m));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      for (const r of replies.splice(0)) r(new Error(`UI child exited (${code})`));
      resolve();
    }),
  );
  const request = async <T>(msg?: string): Promise<T> => {
    if (exitCode !== undefined) throw new Error(`UI child exited (${exitCode})`);
    const reply = await new Promise<unknown>((resolve) => {
      replies.push(resolve);
      if (msg) child.send(msg);
    });
    if (reply instanceof Error) throw reply;
    return reply as T;
  };
  const hello = await request<{ url: string; otlpHttpPort: number; rssEmpty: number }>();
  return {
    ...hello,
    runtime: 'compiled, plain node',
    memory: (when) => request<ChildMemory>(`memory:${when}`),
    stop: async () => {
      if (exitCode === undefined) child.send('stop');
      await exited;
    },
  };
}

async function rssChild(): Promise<void> {
  if (!process.argv.includes('--untuned')) favourMemoryOverSpeed();
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
  const ui = await startUiServer({
    port: 0,
    otlp: { grpc: false, http: { host: '127.0.0.1', port: 0 }, maxRequestBytes: 16 * 2 ** 20 },
    // Nobody views the slots while they fill: on a busy machine that can outlast the TTL.
    limits: { ...DEFAULT_LIMITS, slotTtlSeconds: 24 * 3600 },
  });
  const mib = (n: number) => n / 2 ** 20;
  gc();
  const rssEmpty = mib(process.memoryUsage().rss);
  process.on('message', (msg) => {
    if (msg === 'memory:now' || msg === 'memory:settled') void memory(msg === 'memory:settled');
    if (msg === 'stop') void ui.close().then(() => process.exit(0));
  });
  // Array buffers the collector frees are released on a background thread: give it a moment.
  const memory = async (settled: boolean): Promise<void> => {
    if (settled) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 500));
      gc();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const m = process.memoryUsage();
    process.send!({
      rss: mib(m.rss),
      peakRss: peakRssMiB(),
      heapUsed: mib(m.heapUsed),
      heapTotal: mib(m.heapTotal),
      arrayBuffers: mib(m.arrayBuffers),
      held: ui.store.stats().usage.bytes,
      mallocHeap: mallocHeapRss(),
    } satisfies ChildMemory);
  };
  process.send!({ url: ui.url, otlpHttpPort: ui.otlp.http!.port, rssEmpty });
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invokedDirectly) {
  if (process.argv.includes('--rss-child')) await rssChild();
  else if (process.argv.includes('--sender-child')) await senderChild(process.argv[process.argv.indexOf('--sender-child') + 1]);
  else await main();
}
