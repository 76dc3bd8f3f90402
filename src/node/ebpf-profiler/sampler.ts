import type { Logger } from 'pino';
import { encodeRequest } from '../../otlp/codec.js';
import { readRequest } from '../../otlp/read-request.js';
import { ACCEPTED, type ConsumeResult, type ProfilesBatch, type ProfilesConsumer } from '../../pipeline/consumer.js';
import { Receiver } from '../../pipeline/receiver/receiver.js';
import { AssemblerCache, RequestAssembler } from '../assemble.js';
import { Attribution, FlushExporter, type ExportCounts } from '../attribution.js';
import { Demangler } from '../symbolize/demangle.js';
import { Symbolizer, type SymbolizerStats } from '../symbolize/symbolizer.js';
import { ChildSupervisor, type SupervisorStats } from '../supervisor.js';
import { EbpfProfilerSamplerConfigSchema, type EbpfProfilerSamplerConfig, type EbpfProfilerSamplerInput } from './config.js';
import { ProfilerIntake } from './intake.js';
import { ebpfProfilerPreflight, explainProfilerExit, offCpuMissing } from './preflight.js';

export interface EbpfProfilerSamplerStats extends ExportCounts {
  profiler: SupervisorStats;
  symbolizer: SymbolizerStats;
  /** Requests received from the profiler. */
  received: number;
  /** Received while this many were still being worked on: refused (the profiler's reporter drops them). */
  refused: number;
  /** CPU samples sent on. */
  samples: number;
  /** Nanoseconds off the CPU sent on (off-CPU profiling on: `offCpuThreshold` > 0). */
  offCpuNanos: number;
  filteredSamples: number;
  emptyFlushes: number;
  /** Profiles of a type not sent on (any but CPU and, when on, off-CPU), by `type/unit`. */
  skippedProfiles: Record<string, number>;
  workloads: number;
}

/** Requests from the profiler being symbolized at once; more are refused (a profiler sends one per interval). */
const MAX_PENDING = 4;
/** Processes and maps not seen for this many requests are checked and forgotten if gone. */
const SWEEP_AFTER_REQUESTS = 60;

/** The profiler's command line: send to the loopback receiver at `port`, sample as configured. */
export function profilerArgs(c: Pick<EbpfProfilerSamplerConfig, 'hz' | 'intervalMs' | 'offCpuThreshold'>, port: number): string[] {
  const args = [
    '-collection-agent',
    `127.0.0.1:${port}`,
    '-disable-tls',
    '-samples-per-second',
    String(c.hz),
    '-reporter-interval',
    `${c.intervalMs}ms`,
    // One request per interval, on time, as bpftrace's windows.
    '-reporter-jitter',
    '0',
  ];
  if (c.offCpuThreshold > 0) args.push('-off-cpu-threshold', String(c.offCpuThreshold));
  return args;
}

/** The supervisor of the profiler process: when it is up, why it stopped, what of its output is logged. */
export function profilerSupervisor(
  profiler: string,
  args: string[],
  c: Pick<EbpfProfilerSamplerConfig, 'readyTimeoutMs' | 'restartInitialMs' | 'restartMaxMs'>,
  log: Logger,
): ChildSupervisor {
  return new ChildSupervisor({
    name: 'the eBPF profiler',
    command: profiler,
    args,
    log,
    // The profiler's own "up" line (its system tests wait for it too).
    ready: (line) => line.includes('Attached sched monitor'),
    explain: (tail) => explainProfilerExit(tail),
    relay: (line) => /level=(WARN|ERROR)/.test(line),
    readyTimeoutMs: c.readyTimeoutMs,
    restartInitialMs: c.restartInitialMs,
    restartMaxMs: c.restartMaxMs,
  });
}

/**
 * The node sampler with the OpenTelemetry eBPF profiler as its sampler: the profiler (a child
 * process, started, watched, restarted with backoff and stopped by a ChildSupervisor) unwinds
 * every process's stacks (native code from .eh_frame, interpreters from their memory) and
 * sends them as OTLP over gRPC to a receiver on loopback; each request is attributed to
 * workloads and symbolized like the bpftrace sampler's windows (ProfilerIntake), assembled
 * by the same RequestAssembler and handed to the consumer (the exporter to the gateway).
 * With `offCpuThreshold` > 0 the profiler also records off-CPU waits; they go on as each
 * workload's off-CPU profile (`off_cpu`/`nanoseconds`), beside and never mixed into its CPU one.
 */
export class EbpfProfilerSampler {
  readonly config: EbpfProfilerSamplerConfig;
  private readonly symbolizer: Symbolizer;
  private readonly demangler = new Demangler();
  private readonly attribution: Attribution;
  private readonly intake: ProfilerIntake;
  private readonly exporter: FlushExporter;
  private readonly dictionary = new AssemblerCache();
  private readonly pids: Set<number>;
  private receiver: Receiver | undefined;
  private supervisor: ChildSupervisor | undefined;
  private pending = 0;
  private readonly working = new Set<Promise<void>>();
  private readonly counts = { received: 0, refused: 0, samples: 0, offCpuNanos: 0, filteredSamples: 0, emptyFlushes: 0 };
  private readonly skipped = new Map<string, number>();
  private skipLogged = false;

  constructor(
    input: EbpfProfilerSamplerInput,
    consumer: ProfilesConsumer,
    private readonly log: Logger,
  ) {
    this.config = EbpfProfilerSamplerConfigSchema.parse(input);
    const c = this.config;
    this.symbolizer = new Symbolizer(c.procRoot);
    this.attribution = new Attribution(c, log);
    this.exporter = new FlushExporter(consumer, log);
    this.pids = new Set(c.pids);
    const own = new Set([process.pid, ...c.excludePids]);
    this.intake = new ProfilerIntake({
      attribution: this.attribution,
      symbolizer: this.symbolizer,
      procRoot: c.procRoot,
      excluded: (pid) => own.has(pid) || pid === this.supervisor?.pid || (this.pids.size > 0 && !this.pids.has(pid)),
      offCpu: c.offCpuThreshold > 0,
    });
  }

  /**
   * Checks what the profiler needs, starts the loopback receiver and then the profiler; resolves
   * once the profiler says it samples, rejects with a one-line message when it cannot.
   */
  async start(): Promise<void> {
    const c = this.config;
    const profiler = ebpfProfilerPreflight(c.profiler, c.procRoot);
    // Off-CPU is an addition: where the kernel cannot give it, CPU profiles still flow.
    const offCpuWhy = c.offCpuThreshold > 0 ? offCpuMissing() : undefined;
    if (offCpuWhy) this.log.warn(`${offCpuWhy}: sampling CPU only`);
    await this.startReceiver();
    try {
      await this.attribution.start();
      this.supervisor = profilerSupervisor(profiler, profilerArgs(offCpuWhy ? { ...c, offCpuThreshold: 0 } : c, this.receiverPort!), c, this.log);
      await this.supervisor.start();
    } catch (err) {
      await this.stopReceiver();
      this.attribution.stop();
      throw err;
    }
  }

  /**
   * Starts only the loopback receiver (what `start` does before starting the profiler): for a
   * sender other than the profiler that speaks as it does.
   */
  async startReceiver(): Promise<number> {
    this.receiver = new Receiver({
      grpc: { host: '127.0.0.1', port: 0 },
      http: false,
      // The profiler's reporter sends up to 32 MiB at once.
      maxRequestBytes: 32 * 1024 * 1024,
      consumer: { consume: (batch) => this.consume(batch) },
      logger: this.log,
    });
    const { grpc } = await this.receiver.start();
    return grpc!.port;
  }

  /** The loopback port the profiler sends to. */
  get receiverPort(): number | undefined {
    return this.receiver?.addresses.grpc?.port;
  }

  /** The profiler's pid while it runs. */
  get profilerPid(): number | undefined {
    return this.supervisor?.pid;
  }

  async stop(): Promise<void> {
    this.attribution.stop();
    // The profiler first: what it still holds it sends as it exits, to the receiver still up.
    await this.supervisor?.stop();
    await this.stopReceiver();
    await Promise.all(this.working);
    this.demangler.close();
  }

  stats(): EbpfProfilerSamplerStats {
    return {
      profiler: this.supervisor?.stats ?? { starts: 0, restarts: 0, suppressedLines: 0 },
      symbolizer: this.symbolizer.stats(),
      ...this.counts,
      ...this.exporter.counts,
      skippedProfiles: Object.fromEntries(this.skipped),
      workloads: this.attribution.resolver.size,
    };
  }

  private async stopReceiver(): Promise<void> {
    await this.receiver?.stop(2000);
  }

  private async consume(batch: ProfilesBatch): Promise<ConsumeResult> {
    this.counts.received++;
    if (this.pending >= MAX_PENDING) {
      this.counts.refused++;
      return { rejectedProfiles: Math.max(1, batch.stats?.profiles ?? 1), errorMessage: 'the node agent is behind; request dropped' };
    }
    this.pending++;
    const work = this.flush(batch).finally(() => {
      this.pending--;
      this.working.delete(work);
    });
    this.working.add(work);
    await work;
    return ACCEPTED;
  }

  private async flush(batch: ProfilesBatch): Promise<void> {
    this.symbolizer.beginFlush();
    this.attribution.resolver.beginFlush();
    // The receiver read and validated the request on the wire path: the intake reads its columns.
    const got = this.intake.read(batch.wire ?? readRequest(batch.encoded ?? encodeRequest(batch.request), 'protobuf').wire);
    if (this.counts.received % SWEEP_AFTER_REQUESTS === 0) {
      this.symbolizer.sweep(SWEEP_AFTER_REQUESTS);
      this.attribution.resolver.sweep(SWEEP_AFTER_REQUESTS);
      this.attribution.sweep();
      this.intake.sweep(SWEEP_AFTER_REQUESTS);
    }
    this.counts.filteredSamples += got.filteredSamples;
    for (const [type, n] of got.skippedProfiles) {
      this.skipped.set(type, (this.skipped.get(type) ?? 0) + n);
      if (!this.skipLogged) {
        this.skipLogged = true;
        this.log.warn({ type }, 'profiles of this type are not sent on (the node sends CPU and, when on, off-CPU profiles)');
      }
    }
    const samples = got.samples;
    const offCpu = got.offCpuSamples;
    if (samples.length === 0 && offCpu.length === 0) {
      this.counts.emptyFlushes++;
      return;
    }
    // C++ and Rust names read as code, as in the bpftrace sampler (one c++filt round trip for new names).
    const stacks = [...new Set([...samples, ...offCpu].map((s) => s.frames))];
    await this.demangler.prepare(stacks);
    const demangled = new Map(stacks.map((f) => [f, this.demangler.frames(f)]));
    const now = Date.now();
    const window = got.windowEndMs > 0 ? { start: got.windowStartMs, end: got.windowEndMs } : { start: now - this.config.intervalMs, end: now };
    const asm = new RequestAssembler({ hz: this.config.hz, windowStartMs: window.start, windowEndMs: window.end }, this.dictionary);
    for (const s of samples) asm.add({ ...s, frames: demangled.get(s.frames)! });
    for (const s of offCpu) asm.addOffCpu({ ...s, frames: demangled.get(s.frames)! });
    this.counts.samples += asm.samples;
    this.counts.offCpuNanos += asm.offCpuNanos;
    this.exporter.export(asm.encode());
  }
}
