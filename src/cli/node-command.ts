import { setFlagsFromString } from 'node:v8';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import { describeIssue } from '../config/load.js';
import { exporterTuning, type PilotlightConfig } from '../config/schema.js';
import { NodeSamplerConfigSchema, type NodeSamplerInput } from '../node/config.js';
import { EbpfProfilerSamplerConfigSchema, type EbpfProfilerSamplerInput } from '../node/ebpf-profiler/config.js';
import { chooseSampler, fallbackLine, type SamplerKind } from '../node/choose-sampler.js';
import type { Exporter } from '../pipeline/exporter/exporter.js';
import { exporterConfigSchema, type ExporterConfigInput } from '../pipeline/exporter/exporter-config.js';
import { parseWorkloadKey } from '../profile/workload.js';
import { durationMs, makeLogger, readConfig, samplerOption, stopOnSignals } from './common.js';

interface NodeFlags {
  config?: string;
  hz?: number;
  interval?: number;
  gateway?: string;
  protocol?: 'grpc' | 'http';
  pid: number[];
  cgroup: string[];
  workload: string[];
  compression?: boolean;
  timeout?: number;
  retry?: boolean;
  retryInitialInterval?: number;
  retryMaxInterval?: number;
  retryMaxElapsedTime?: number;
  queueMaxItems?: number;
  queueMaxBytes?: number;
  bearerToken?: string;
  bpftrace?: string;
  sampler?: SamplerKind;
  ebpfProfiler?: string;
  offCpu?: boolean;
  offCpuProbability?: number;
  kubernetes?: 'auto' | 'on' | 'off';
  nodeName?: string;
  eagerResolves?: number;
  statsInterval: number;
  logLevel: string;
}

/** How often the sampler's counters (samples, restarts, drops) are logged. */
const DEFAULT_STATS_INTERVAL_MS = 60_000;

export function nodeCommand(): Command {
  return new Command('node')
    .description('run the node sampler: eBPF CPU sampling of every process, attributed to workloads, sent as OTLP Profiles')
    .option('--config <file>', 'pilotlight.yaml (profiling.node and profiling.exporter sections)')
    .option('--hz <n>', 'samples per second per CPU (default 20)', intInRange(1, 1000))
    .option('--interval <duration>', 'flush interval: one export request each (default 1s)', durationMs(100, 60_000))
    .option('--gateway <endpoint>', 'where to send: a URL for OTLP/HTTP, host:port for gRPC (default http://127.0.0.1:4318)')
    .addOption(new Option('--protocol <protocol>', 'OTLP transport to the gateway (default: http for a URL, grpc for host:port)').choices(['grpc', 'http']))
    .option('--pid <pid>', 'sample only this process (repeatable)', collect(intInRange(1, 2 ** 31 - 1)), [])
    .option('--cgroup <path>', 'sample only processes under this cgroup path, e.g. /system.slice/nginx.service (repeatable)', collect(cgroupPath), [])
    .option('--workload <key>', 'sample only this workload, namespace/Kind/name (repeatable)', collect(workloadKey), [])
    .option('--compression', 'gzip requests (profiling.exporter.enableDataCompression; default off)')
    .option('--no-compression', 'send requests uncompressed')
    .option('--timeout <duration>', 'deadline of one send attempt (default 5s)', durationMs(1, 3_600_000))
    .option('--retry', 'retry failed sends with backoff (profiling.exporter.retryOnFailure.enabled; default on)')
    .option('--no-retry', 'drop a request whose first send fails')
    .option('--retry-initial-interval <duration>', 'first backoff (default 5s)', durationMs(1, 3_600_000))
    .option('--retry-max-interval <duration>', 'longest backoff (default 30s)', durationMs(1, 3_600_000))
    .option('--retry-max-elapsed-time <duration>', 'give a request up after this long; 0 = never (default 5m)', durationMs(0, 86_400_000))
    .option('--queue-max-items <n>', 'requests held while the gateway is slow or down (default 1000)', intInRange(1, 1_000_000))
    .option('--queue-max-bytes <n>', 'bytes held in the queue (default 64 MiB)', intInRange(1, 2 ** 40))
    .addOption(new Option('--bearer-token <token>', 'send Authorization: Bearer <token>').env('PILOTLIGHT_BEARER_TOKEN'))
    .addOption(samplerOption())
    .option('--bpftrace <path>', 'the bpftrace executable (default: bpftrace on PATH)')
    .option('--ebpf-profiler <path>', 'the OpenTelemetry eBPF profiler executable (default: ebpf-profiler on PATH, else the one npm run setup built)')
    .option('--off-cpu', 'also send off-CPU profiles (where workloads wait; profiling.node.offCpu.enabled; eBPF profiler only; default off)')
    .option('--no-off-cpu', 'send CPU profiles only')
    .option(
      '--off-cpu-probability <p>',
      'share of context switches recorded for off-CPU profiles, (0-1] (profiling.node.offCpu.probability; default 0.01)',
      probability,
    )
    .addOption(new Option('--kubernetes <mode>', 'resolve pods through the API server: auto = when in a cluster').choices(['auto', 'on', 'off']))
    .option('--node-name <name>', "this node's name for the pod list (default $NODE_NAME, else the host name)")
    .option(
      '--eager-resolves <n>',
      'new processes resolved (workload, maps) as soon as first sampled, at most this many a second; 0 = at flush time only (default 100)',
      intInRange(0, 100_000),
    )
    .option('--stats-interval <duration>', 'log the sampler counters this often; 0 = never (default 60s)', durationMs(0, 86_400_000), DEFAULT_STATS_INTERVAL_MS)
    .option('--log-level <level>', 'pino log level', process.env.PILOTLIGHT_LOG_LEVEL ?? 'info')
    .action(async (flags: NodeFlags) => {
      const config = await readConfig(flags.config);
      // The one switch: a file that says profiling is off means no sampling (running the
      // command without a file is itself the opt-in).
      if (flags.config !== undefined && !config.profiling.enabled) {
        throw new Error(
          `${flags.config}: profiling.enabled: false, so the profiles pipeline is off and the node sampler has nothing to do; set profiling.enabled: true`,
        );
      }
      const logger = makeLogger(flags.logLevel, 'node');
      // The sampler's JavaScript runs once a flush (a second): V8's optimizing compiler spends
      // more CPU compiling it than it saves. PILOTLIGHT_NODE_OPTIMIZE=1 keeps it (busy nodes).
      if (process.env.PILOTLIGHT_NODE_OPTIMIZE !== '1') setFlagsFromString('--no-opt');
      await runNode(flags, config, logger);
    });
}

/** What `pilotlight node` runs: either sampler, started, stopped and counted alike. */
interface Sampler {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): object;
}

async function runNode(flags: NodeFlags, config: PilotlightConfig, logger: Logger): Promise<void> {
  const node = config.profiling.node;
  const choice = chooseSampler(flags.sampler ?? node.sampler, flags.ebpfProfiler);
  const kind = choice.kind;
  if (choice.fallback) logger.warn(fallbackLine(choice.fallback));
  const common = {
    hz: flags.hz ?? node.hz,
    intervalMs: flags.interval ?? node.interval,
    pids: flags.pid,
    cgroups: flags.cgroup,
    workloads: flags.workload,
    kubernetes: flags.kubernetes,
    nodeName: flags.nodeName,
  };
  const offCpu = flags.offCpu ?? node.offCpu.enabled;
  const offCpuProbability = flags.offCpuProbability ?? node.offCpu.probability;
  // The file's values are checked by its own schema; the sampler's limits may be narrower.
  let make: (exporter: Exporter) => Sampler;
  if (kind === 'ebpf-profiler') {
    const input: EbpfProfilerSamplerInput = { ...common, profiler: flags.ebpfProfiler, offCpuThreshold: offCpu ? offCpuProbability : 0 };
    const checked = EbpfProfilerSamplerConfigSchema.safeParse(input);
    if (!checked.success) throw new InvalidArgumentError(describeIssue(checked.error, 'profiling.node'));
    const { EbpfProfilerSampler } = await import('../node/ebpf-profiler/sampler.js');
    make = (exporter) => new EbpfProfilerSampler(checked.data, exporter, logger);
  } else {
    const input: NodeSamplerInput = { ...common, bpftrace: flags.bpftrace, eagerResolvesPerSecond: flags.eagerResolves };
    const checked = NodeSamplerConfigSchema.safeParse(input);
    if (!checked.success) throw new InvalidArgumentError(describeIssue(checked.error, 'profiling.node'));
    const { NodeSampler } = await import('../node/sampler.js');
    make = (exporter) => new NodeSampler(checked.data, exporter, logger);
    if (offCpu)
      logger.warn(
        'off-CPU profiles (profiling.node.offCpu.enabled, --off-cpu) need the eBPF profiler (--sampler ebpf-profiler); bpftrace sends CPU profiles only',
      );
  }
  const { Exporter } = await import('../pipeline/exporter/exporter.js');
  const exporter = new Exporter({ ...exporterSettings(flags, config), name: 'gateway', logger });
  let sampler: Sampler;
  try {
    sampler = make(exporter);
    await sampler.start();
  } catch (err) {
    await exporter.shutdown(0);
    throw err;
  }
  logger.info(
    {
      sampler: kind,
      hz: common.hz,
      intervalMs: common.intervalMs,
      ...(kind === 'ebpf-profiler' && offCpu ? { offCpuProbability } : {}),
      gateway: exporter.config.endpoint,
      protocol: exporter.config.protocol,
      pids: common.pids,
      cgroups: common.cgroups,
      workloads: common.workloads,
    },
    'node sampler running',
  );
  const statsTimer = flags.statsInterval > 0 ? setInterval(() => logger.info(sampler.stats(), 'sampler stats'), flags.statsInterval) : undefined;
  statsTimer?.unref();

  stopOnSignals(async () => {
    if (statsTimer) clearInterval(statsTimer);
    // The sampler first (its last window is still handed to the exporter), then send what is queued.
    await sampler.stop();
    await exporter.shutdown(exporter.config.timeout);
    logger.info(sampler.stats(), 'node sampler stopped');
  }, logger);
}

/** Exporter settings: profiling.exporter and profiling.node.gateway from the file, flags over them. */
export function exporterSettings(flags: NodeFlags, config: PilotlightConfig): ExporterConfigInput {
  const file = exporterTuning(config);
  const gateway = config.profiling.node.gateway;
  const retry = file.retryOnFailure;
  const queue = file.sendingQueue;
  const input: ExporterConfigInput = {
    endpoint: flags.gateway ?? gateway.endpoint,
    // --gateway alone says its transport by its form: a URL is OTLP/HTTP, host:port is gRPC.
    protocol: flags.protocol ?? (flags.gateway !== undefined ? (/^https?:\/\//i.test(flags.gateway) ? 'http' : 'grpc') : gateway.protocol),
    enableDataCompression: flags.compression ?? file.enableDataCompression,
    timeout: flags.timeout ?? file.timeout,
    retryOnFailure: {
      enabled: flags.retry ?? retry.enabled,
      initialInterval: flags.retryInitialInterval ?? retry.initialInterval,
      maxInterval: flags.retryMaxInterval ?? retry.maxInterval,
      maxElapsedTime: flags.retryMaxElapsedTime ?? retry.maxElapsedTime,
    },
    sendingQueue: { maxItems: flags.queueMaxItems ?? queue.maxItems, maxBytes: flags.queueMaxBytes ?? queue.maxBytes },
    headers: flags.bearerToken ? { authorization: `Bearer ${flags.bearerToken}` } : {},
  };
  // Checked here so that a bad endpoint is one line naming the setting, not a zod dump.
  const checked = exporterConfigSchema.safeParse(input);
  if (!checked.success) {
    const issue = describeIssue(checked.error);
    throw new InvalidArgumentError(issue.startsWith('endpoint:') ? `--gateway (profiling.node.gateway.endpoint)${issue.slice('endpoint'.length)}` : issue);
  }
  return input;
}

function intInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

function probability(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1)
    throw new InvalidArgumentError(`expected a probability above 0 and at most 1, got ${JSON.stringify(value)}`);
  return n;
}

function collect<T>(parse: (value: string) => T): (value: string, previous: T[]) => T[] {
  return (value, previous) => [...previous, parse(value)];
}

function cgroupPath(value: string): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError(`a cgroup path starts with / (as in /proc/PID/cgroup), got ${JSON.stringify(value)}`);
  return value;
}

function workloadKey(value: string): string {
  if (!parseWorkloadKey(value)) throw new InvalidArgumentError(`a workload key is namespace/Kind/name, got ${JSON.stringify(value)}`);
  return value;
}
