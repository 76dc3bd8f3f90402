import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ebpfProfilerMissing, kernelAtLeast, memlockLiftable } from '../../src/node/ebpf-profiler/preflight.js';
import { waitFor } from './wait.js';

/**
 * The real OpenTelemetry and Grafana programs the interop tests run beside Pilotlight's parts:
 * where each is found, and starting one on free loopback ports, waiting until it is ready and
 * stopping it when the test ends (no process left behind). scripts/peers.sh builds the
 * Collector, the eBPF profiler, Helm (with helm-notes) and kubecheck from tools/peers/ into
 * PEERS_DIR; Grafana Pyroscope is not served by the Go module proxy, so its test runs only with
 * PILOTLIGHT_PYROSCOPE_BIN.
 */

const TOOLS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'peers');
export const PEERS_DIR = process.env.PILOTLIGHT_PEERS_DIR ?? '/var/cache/pilotlight/peers';

/** The pinned versions (tools/peers/versions.env). */
export const PEER_VERSIONS: Record<string, string> = Object.fromEntries(
  readFileSync(join(TOOLS, 'versions.env'), 'utf8')
    .split('\n')
    .map((l) => /^([A-Z_]+)=(\S+)/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]]),
);

/** The build folder's key: sha256 of the inputs' bytes one after another, as scripts/peers.sh computes it. */
function buildKey(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(join(TOOLS, f)));
  return h.digest('hex').slice(0, 12);
}

/** A peer's executable, or why there is none. */
export type Found = { path: string; why?: undefined } | { path?: undefined; why: string };

function built(name: string, path: string, go = '1.25'): Found {
  if (existsSync(path)) return { path };
  return { why: `the ${name} is not built (${path} is missing): run npm run setup (scripts/peers.sh; it needs Go >= ${go} and the Go module proxy)` };
}

/** The version of `module` that tools/peers/DIR/go.mod requires. */
function required(dir: string, module: string): string {
  const mod = readFileSync(join(TOOLS, dir, 'go.mod'), 'utf8');
  return new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, '\\.')}\\s+(v\\S+)`, 'm').exec(mod)?.[1] ?? '(unknown version)';
}

export function collectorBinary(): Found {
  return built(
    `OpenTelemetry Collector ${PEER_VERSIONS.COLLECTOR_BUILDER_VERSION}`,
    join(PEERS_DIR, `collector-${buildKey(['versions.env', 'collector/manifest.yaml'])}`, 'otelcol-pilotlight'),
  );
}

const EBPF_DIR = (): string =>
  join(PEERS_DIR, `ebpf-profiler-${buildKey(['versions.env', 'ebpf-profiler/go.mod', 'ebpf-profiler/go.sum', 'ebpf-profiler/reporter/main.go'])}`);

/**
 * tools/peers/ebpf-profiler/reporter: the eBPF profiler's own OTLP reporter sending known traces,
 * so its requests can be tested where the profiler itself cannot run.
 */
export function ebpfReporterBinary(): Found {
  return built(`driver of the OpenTelemetry eBPF profiler ${PEER_VERSIONS.EBPF_PROFILER_VERSION}'s reporter`, join(EBPF_DIR(), 'ebpf-reporter'));
}

/** The Helm release tools/peers/helm pins. */
export const HELM_VERSION = required('helm', 'helm.sh/helm/v3');
/** The Kubernetes API types tools/peers/kubecheck decodes into (k8s.io/api). */
export const KUBE_API_VERSION = required('kubecheck', 'k8s.io/api');

const HELM_DIR = (): string => join(PEERS_DIR, `helm-${buildKey(['helm/go.mod', 'helm/go.sum', 'helm/notes/main.go'])}`);

/** Helm's own `helm` command. */
export function helmBinary(): Found {
  return built(`Helm ${HELM_VERSION}`, join(HELM_DIR(), 'helm'), '1.26');
}

/** tools/peers/helm/notes: a chart's NOTES.txt rendered by Helm's install action, client-only. */
export function helmNotesBinary(): Found {
  return built(`helm-notes (Helm ${HELM_VERSION})`, join(HELM_DIR(), 'helm-notes'), '1.26');
}

/** tools/peers/kubecheck: every object of a manifest strictly decoded into its Kubernetes API type. */
export function kubecheckBinary(): Found {
  const dir = join(PEERS_DIR, `kubecheck-${buildKey(['kubecheck/go.mod', 'kubecheck/go.sum', 'kubecheck/main.go'])}`);
  return built(`kubecheck (k8s.io/api ${KUBE_API_VERSION})`, join(dir, 'kubecheck'), '1.26');
}

/** The eBPF profiler's executable, built or not runnable here. */
export function ebpfProfilerBuilt(): Found {
  return built(`OpenTelemetry eBPF profiler ${PEER_VERSIONS.EBPF_PROFILER_VERSION}`, join(EBPF_DIR(), 'ebpf-profiler'));
}

/** The eBPF profiler when it can run here; `shim`: only when run under it (test/helpers/memlock-shim.c). */
export type Profiler = Found & { shim?: string };

/**
 * The eBPF profiler, when it can run here: it needs root, tracefs (mounted here when missing),
 * the right to lift RLIMIT_MEMLOCK, which it sets to unlimited before loading its eBPF programs
 * and fails without (CAP_SYS_RESOURCE, or a hard limit already unlimited), and Linux >= 5.10.
 * Where only that right is missing and the kernel (>= 5.11) charges eBPF maps to the memory
 * cgroup instead of that limit, it runs under the memlock shim, which lets the profiler's
 * setting of the limit succeed without doing it: whoever starts the profiler, or the agent
 * that starts it, starts it under `shim` (the agent then finds the limit liftable too).
 */
export function ebpfProfilerBinary(): Profiler {
  const found = ebpfProfilerBuilt();
  if (!found.path) return found;
  // The node agent's own check (what `pilotlight node --sampler ebpf-profiler` says), so a test
  // skips for exactly the reason the agent would refuse to start.
  let missing = ebpfProfilerMissing();
  if (missing?.includes('tracefs')) {
    const mount = spawnSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { encoding: 'utf8' });
    if (mount.status !== 0) return { why: `${missing}; mounting it failed: ${mount.stderr.trim() || mount.error?.message}` };
    missing = ebpfProfilerMissing();
  }
  let shim: string | undefined;
  // Linux 5.11 and later charge eBPF maps to the memory cgroup, not to RLIMIT_MEMLOCK.
  if (missing?.includes('RLIMIT_MEMLOCK') && kernelAtLeast(release(), [5, 11]) === true) {
    const built = memlockShim();
    if (built.path) {
      shim = built.path;
      missing = ebpfProfilerMissing('/proc', release(), () => memlockLiftable([built.path]));
    } else {
      missing += `; ${built.why}`;
    }
  }
  if (missing) return { why: `${missing} (OpenTelemetry eBPF profiler ${PEER_VERSIONS.EBPF_PROFILER_VERSION})` };
  return { path: found.path, shim };
}

/**
 * What a process that starts the profiler in-process (EbpfProfilerSampler: the benches) must run
 * under: [the memlock shim] where the profiler needs it and this process is not under a seccomp
 * filter already (the shim's, inherited), else nothing.
 */
export function memlockShimPrefix(): string[] {
  if (/^Seccomp:\s+2$/m.test(readFileSync('/proc/self/status', 'utf8'))) return [];
  const found = ebpfProfilerBinary();
  return found.shim ? [found.shim] : [];
}

/**
 * Runs this script again, as it was started, under the memlock shim when memlockShimPrefix
 * says so, and returns true with its exit code set (the caller then stops); false otherwise.
 */
export function rerunUnderMemlockShim(): boolean {
  const prefix = memlockShimPrefix();
  if (prefix.length === 0) return false;
  const r = spawnSync(prefix[0], [...prefix.slice(1), process.execPath, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
  return true;
}

/** test/helpers/memlock-shim.c compiled (once per source, in the temp folder). */
function memlockShim(): Found {
  const source = join(dirname(fileURLToPath(import.meta.url)), 'memlock-shim.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 12);
  const exe = join(tmpdir(), `pl-memlock-shim-${hash}`);
  if (existsSync(exe)) return { path: exe };
  const tmp = `${exe}.${process.pid}`;
  const cc = spawnSync('gcc', ['-O2', '-o', tmp, source], { encoding: 'utf8' });
  if (cc.status !== 0) return { why: `the memlock shim could not be built (gcc: ${cc.error?.message ?? cc.stderr.trim()})` };
  renameSync(tmp, exe);
  return { path: exe };
}

/** Grafana Pyroscope, given by path: the Go module proxy refuses its module, so setup cannot build it. */
export function pyroscopeBinary(): Found {
  const path = process.env.PILOTLIGHT_PYROSCOPE_BIN;
  if (!path) {
    return {
      why:
        'Grafana Pyroscope is not available here: the Go module proxy refuses github.com/grafana/pyroscope/v2 (and v1.14+, the releases that speak ' +
        'this OTLP Profiles layout), so setup cannot build it. Set PILOTLIGHT_PYROSCOPE_BIN to a Pyroscope >= 2.x binary to run this test',
    };
  }
  if (!existsSync(path)) return { why: `PILOTLIGHT_PYROSCOPE_BIN=${path} does not exist` };
  return { path };
}

/** A port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Peer {
  readonly name: string;
  readonly child: ChildProcess;
  /** What it has printed so far (stdout and stderr, the last 256 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

const OUTPUT_KEEP = 256 * 1024;

/** Starts `cmd`, resolves once `ready` holds (polled), rejects with its output if it exits or times out first. */
async function startPeer(
  t: TestContext,
  name: string,
  cmd: string,
  args: string[],
  ready: (out: string) => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<Peer> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > OUTPUT_KEEP) out = out.slice(out.length - OUTPUT_KEEP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  t.after(stop);
  const peer: Peer = { name, child, output: () => out, stop };
  try {
    await waitFor(
      `${name} to be ready`,
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${out.slice(-4000)}`);
        }
        return ready(out);
      },
      { timeoutMs, intervalMs: 100, detail: () => `its output:\n${out.slice(-4000)}` },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return peer;
}

function tempFile(t: TestContext, name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pl-peer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export interface CollectorPorts {
  grpc: number;
  http: number;
}

/**
 * An OpenTelemetry Collector with a profiles pipeline: the OTLP receiver on free loopback ports
 * (gRPC and HTTP) into `exporters` (the Collector's own config for each, keyed by its id, e.g.
 * `otlp/ui` or `otlphttp/gw`).
 */
export async function startCollector(t: TestContext, path: string, exporters: Record<string, unknown>): Promise<Peer & { ports: CollectorPorts }> {
  const ports = { grpc: await freePort(), http: await freePort() };
  const config = {
    receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${ports.grpc}` }, http: { endpoint: `127.0.0.1:${ports.http}` } } } },
    exporters,
    service: {
      telemetry: { metrics: { level: 'none' } },
      pipelines: { profiles: { receivers: ['otlp'], exporters: Object.keys(exporters) } },
    },
  };
  const file = tempFile(t, 'collector.yaml', stringify(config));
  const peer = await startPeer(t, 'OpenTelemetry Collector', path, ['--config', file, '--feature-gates=service.profilesSupport'], (out) =>
    out.includes('Everything is ready'),
  );
  return { ...peer, ports };
}

export interface EbpfProfilerOptions {
  /** `host:port` of an OTLP/gRPC receiver (no TLS). */
  agent: string;
  hz?: number;
  reporterInterval?: string;
  /** Probability of recording an off-CPU event (0 = off). */
  offCpuThreshold?: number;
}

/** The OpenTelemetry eBPF profiler, sampling every process, sending to `agent`. */
export async function startEbpfProfiler(t: TestContext, profiler: { path: string; shim?: string }, o: EbpfProfilerOptions): Promise<Peer> {
  const args = [
    '-collection-agent',
    o.agent,
    '-disable-tls',
    '-samples-per-second',
    String(o.hz ?? 20),
    '-reporter-interval',
    o.reporterInterval ?? '1s',
    '-reporter-jitter',
    '0',
  ];
  if (o.offCpuThreshold) args.push('-off-cpu-threshold', String(o.offCpuThreshold));
  const [cmd, argv] = profiler.shim ? [profiler.shim, [profiler.path, ...args]] : [profiler.path, args];
  return startPeer(t, 'OpenTelemetry eBPF profiler', cmd, argv, (out) => out.includes('Attached sched monitor'), 120_000);
}

/**
 * Grafana Pyroscope, all components in one process (its v2 storage: segment writer, metastore,
 * query backend), storing in a temp folder; `url` is its HTTP API (OTLP ingest and queries).
 * Every component is told to listen on and advertise 127.0.0.1: by default they advertise the
 * machine's first network address.
 */
export async function startPyroscope(t: TestContext, path: string): Promise<Peer & { url: string }> {
  const [http, grpc, memberlist, raft] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'pl-pyroscope-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const local = '127.0.0.1';
  const url = `http://${local}:${http}`;
  const args = [
    '-target=all',
    '-architecture.storage=v2',
    '-enable-query-backend-from=2020-01-01T00:00:00Z',
    '-self-profiling.disable-push',
    '-segment-writer.min-ready-duration=0s',
    '-metastore.min-ready-duration=0s',
    `-server.http-listen-address=${local}`,
    `-server.http-listen-port=${http}`,
    `-server.grpc-listen-address=${local}`,
    `-server.grpc-listen-port=${grpc}`,
    `-memberlist.bind-addr=${local}`,
    `-memberlist.bind-port=${memberlist}`,
    `-memberlist.advertise-addr=${local}`,
    `-memberlist.advertise-port=${memberlist}`,
    `-metastore.address=${local}:${grpc}`,
    `-metastore.raft.bind-address=${local}:${raft}`,
    `-metastore.raft.advertise-address=${local}:${raft}`,
    `-metastore.raft.server-id=${local}`,
    `-metastore.raft.bootstrap-peers=${local}:${raft}`,
    `-metastore.data-dir=${join(dir, 'metastore')}`,
    `-metastore.raft.dir=${join(dir, 'raft')}`,
    `-metastore.raft.snapshots-dir=${join(dir, 'raft-snapshots')}`,
    `-query-backend.address=${local}:${grpc}`,
    `-distributor.ring.instance-addr=${local}`,
    `-overrides-exporter.ring.instance-addr=${local}`,
    `-query-frontend.instance-addr=${local}`,
    `-query-scheduler.ring.instance-addr=${local}`,
    `-segment-writer.lifecycler.addr=${local}`,
    '-storage.backend=filesystem',
    `-storage.filesystem.dir=${join(dir, 'data')}`,
  ];
  const peer = await startPeer(
    t,
    'Grafana Pyroscope',
    path,
    args,
    async () => {
      try {
        return (await fetch(`${url}/ready`)).status === 200;
      } catch {
        return false;
      }
    },
    120_000,
  );
  return { ...peer, url };
}
