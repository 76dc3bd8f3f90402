import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { SimpleValue } from '../otlp/frame.js';
import type { ProfilesConsumer } from '../pipeline/consumer.js';
import { AssemblerCache, RequestAssembler } from './assemble.js';
import { Attribution, FlushExporter } from './attribution.js';
import { BpftraceDriver, type DriverStats } from './bpftrace/driver.js';
import type { RawSample, SampleKey } from './bpftrace/output.js';
import { buildProgram } from './bpftrace/program.js';
import { NodeSamplerConfigSchema, type NodeSamplerConfig, type NodeSamplerInput } from './config.js';
import { preflight } from './preflight.js';
import { Demangler } from './symbolize/demangle.js';
import { Symbolizer, type SymFrame, type SymbolizerStats } from './symbolize/symbolizer.js';
import type { WorkloadResolver, ProcessWorkload } from './workload/resolver.js';

export interface SamplerStats {
  bpftrace: DriverStats;
  symbolizer: SymbolizerStats;
  samples: number;
  /** Samples whose leaf's caller, missed by the frame-pointer walk, was put back (Symbolizer.leafCaller). */
  leafCallers: number;
  filteredSamples: number;
  requests: number;
  emptyFlushes: number;
  consumeErrors: number;
  droppedRequests: number;
  workloads: number;
  /** New processes resolved (workload and maps) as soon as they were announced. */
  eagerResolves: number;
  /** Announced processes not resolved at once because of `eagerResolvesPerSecond`. */
  eagerSkipped: number;
  /** Announced processes that had already exited when the sampler looked. */
  eagerGone: number;
}

/** Processes not sampled for this many flushes are checked and forgotten if gone. */
const SWEEP_AFTER_FLUSHES = 60;
/** Bounds the pid → start map that keeps repeated announcements of a process from costing anything. */
const MAX_ANNOUNCED = 65_536;

/**
 * What a map key (one thread's stack) came to: its workload, its symbolized and demangled
 * frames and its sample attributes. Kept per key object while the workload and the process's
 * symbols stay as they were, so a stack seen before costs a flush no symbolizing.
 */
interface Row {
  workload: ProcessWorkload;
  /** The symbolizer's version of the process when the frames were made. */
  version: number | undefined;
  wanted: boolean;
  resource: Record<string, SimpleValue>;
  frames: SymFrame[];
  attributes: Record<string, SimpleValue>;
  /** The leaf's caller, missed by the frame-pointer walk, is in `frames` (Symbolizer.leafCaller). */
  leafCaller: boolean;
}

/**
 * Frames that symbolizing again later could name differently: an address outside every known
 * mapping or in anonymous memory, unnamed (a maps re-read or perf map may name it later).
 */
function settled(frames: readonly SymFrame[]): boolean {
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (f.name === undefined && (f.binary === undefined || f.binary.startsWith('['))) return false;
  }
  return true;
}

/**
 * The node sampler: bpftrace samples every process in the kernel; each printed window is
 * symbolized, attributed to workloads and handed to the consumer as one OTLP request.
 */
export class NodeSampler {
  readonly config: NodeSamplerConfig;
  private readonly symbolizer: Symbolizer;
  private readonly demangler = new Demangler();
  private readonly attribution: Attribution;
  private readonly resolver: WorkloadResolver;
  private readonly exporter: FlushExporter;
  private driver: BpftraceDriver | undefined;
  /** Flushes waiting for c++filt before they are assembled and exported. */
  private readonly flushing = new Set<Promise<void>>();
  private flushes = 0;
  private readonly counts = { samples: 0, leafCallers: 0, filteredSamples: 0, emptyFlushes: 0, eagerResolves: 0, eagerSkipped: 0, eagerGone: 0 };
  /** Announced processes already handled: pid → kernel start time. */
  private readonly announced = new Map<number, string>();
  /** Token bucket for eager resolutions (refilled at `eagerResolvesPerSecond`, burst of one second's worth). */
  private eagerTokens = 0;
  private eagerRefilledAt = 0;
  /** Per map key, what it came to (see Row); weakly held: bpftrace's key parser bounds the keys. */
  private readonly rows = new WeakMap<SampleKey, Row>();
  /** Dictionary entries carried from flush to flush (see AssemblerCache). */
  private readonly dictionary = new AssemblerCache();

  constructor(
    input: NodeSamplerInput,
    consumer: ProfilesConsumer,
    private readonly log: Logger,
  ) {
    this.config = NodeSamplerConfigSchema.parse(input);
    const c = this.config;
    this.symbolizer = new Symbolizer(c.procRoot);
    this.attribution = new Attribution(c, log);
    this.resolver = this.attribution.resolver;
    this.exporter = new FlushExporter(consumer, log);
  }

  /** Checks root/bpftrace/kernel, starts bpftrace; rejects with a user-facing message. */
  async start(): Promise<void> {
    const c = this.config;
    const bpftrace = preflight(c.bpftrace, c.procRoot);
    await this.attribution.start();
    const program = buildProgram({
      hz: c.hz,
      intervalMs: c.intervalMs,
      pids: c.pids,
      excludePids: [process.pid, ...c.excludePids],
      excludeSelfParam: true,
      announceProcesses: c.eagerResolvesPerSecond > 0,
      btf: existsSync('/sys/kernel/btf/vmlinux'),
      userModeOnly: process.arch === 'x64',
      leafCaller: process.arch === 'x64',
    });
    this.eagerTokens = c.eagerResolvesPerSecond;
    this.eagerRefilledAt = Date.now();
    this.driver = new BpftraceDriver({
      bpftrace,
      program,
      log: this.log,
      onSamples: (samples, window) => {
        const done = this.flush(samples, window)
          .catch((err: unknown) => this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'flush failed; this window is lost'))
          .finally(() => this.flushing.delete(done));
        this.flushing.add(done);
      },
      onProcess: (pid, start, exec, comm) => this.newProcess(pid, start, exec, comm),
      restartInitialMs: c.restartInitialMs,
      restartMaxMs: c.restartMaxMs,
    });
    try {
      await this.driver.start();
    } catch (err) {
      this.attribution.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.attribution.stop();
    await this.driver?.stop();
    // Windows already printed are still sent (they wait at most for c++filt's answer).
    await Promise.all(this.flushing);
    this.demangler.close();
  }

  /** The bpftrace process id (for the benchmark's CPU accounting). */
  get bpftracePid(): number | undefined {
    return this.driver?.pid;
  }

  stats(): SamplerStats {
    return {
      bpftrace: this.driver?.stats ?? { starts: 0, restarts: 0, flushes: 0, malformedKeys: 0, invalidLines: 0, lostStacks: 0, processEvents: 0 },
      symbolizer: this.symbolizer.stats(),
      ...this.counts,
      ...this.exporter.counts,
      workloads: this.resolver.size,
    };
  }

  /**
   * A process sampled for the first time (announced by bpftrace at once, not at the end of the
   * interval): resolve its workload and snapshot its maps now, while /proc/PID exists, so a
   * process that exits before the flush still gets its workload and symbols from the caches.
   */
  private newProcess(pid: number, start: string, exec: string, comm: string): void {
    if (pid === this.driver?.pid || pid === process.pid) return;
    // "0.0": the program could not read start times (no BTF), so a repeat may be a new process.
    const id = `${start}.${exec}`;
    const known = id !== '0.0';
    const prev = this.announced.get(pid);
    if (known && prev === id) return;
    const c = this.config;
    const now = Date.now();
    this.eagerTokens = Math.min(c.eagerResolvesPerSecond, this.eagerTokens + ((now - this.eagerRefilledAt) / 1000) * c.eagerResolvesPerSecond);
    this.eagerRefilledAt = now;
    if (this.eagerTokens < 1) {
      this.counts.eagerSkipped++;
      return;
    }
    this.eagerTokens--;
    if (known) {
      if (this.announced.size >= MAX_ANNOUNCED) this.announced.clear();
      this.announced.set(pid, id);
      if (prev !== undefined) {
        // Another process with this pid, or this one after an exec (same start time, another
        // program, environment and maps): nothing cached about the pid applies.
        this.resolver.forget(pid);
        this.symbolizer.forget(pid);
      }
    }
    const w = this.resolver.resolveNew(pid, comm);
    if (!w) {
      this.counts.eagerGone++;
      return;
    }
    this.counts.eagerResolves++;
    // Filtered-out processes cost no maps read.
    if (this.attribution.wanted(w)) this.symbolizer.snapshot(pid);
  }

  private async flush(samples: RawSample[], window: { start: number; end: number }): Promise<void> {
    this.flushes++;
    this.symbolizer.beginFlush();
    this.resolver.beginFlush();
    const c = this.config;
    const self = this.driver?.pid;
    const rows: { row: Row; count: number }[] = [];
    /** Rows made in this flush, and their keys (each key is printed once a map). */
    const fresh: Row[] = [];
    const freshKeys: SampleKey[] = [];
    // Indexed loops: this code runs without the optimizing compiler, where each for-of step allocates.
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i].key;
      const count = samples[i].count;
      if (s.pid === self || s.pid === process.pid) continue;
      const w = this.resolver.resolve(s.pid, s.comm);
      let row = this.rows.get(s);
      if (!row || row.workload !== w || row.version !== this.symbolizer.version(s.pid)) {
        row = this.row(s, w);
        fresh.push(row);
        freshKeys.push(s);
      }
      if (!row.wanted) {
        this.counts.filteredSamples += count;
        continue;
      }
      rows.push({ row, count });
      if (row.leafCaller) this.counts.leafCallers += count;
    }
    if (this.flushes % SWEEP_AFTER_FLUSHES === 0) {
      this.symbolizer.sweep(SWEEP_AFTER_FLUSHES);
      this.resolver.sweep(SWEEP_AFTER_FLUSHES);
      this.attribution.sweep();
    }
    if (fresh.length > 0) {
      // C++ and Rust names read as code, not as their manglings: new names go to the running
      // c++filt in one batch (a pipe round trip; never rejects).
      await this.demangler.prepare(fresh.map((r) => r.frames));
      for (let i = 0; i < fresh.length; i++) {
        const r = fresh[i];
        r.frames = this.demangler.frames(r.frames);
        // Kept only when symbolizing again could not name more, and only once demangled.
        if (!r.wanted || settled(r.frames)) this.rows.set(freshKeys[i], r);
        else this.rows.delete(freshKeys[i]);
      }
    }
    const asm = new RequestAssembler({ hz: c.hz, windowStartMs: window.start, windowEndMs: window.end }, this.dictionary);
    for (let i = 0; i < rows.length; i++) {
      const { row, count } = rows[i];
      asm.add({ resource: row.resource, frames: row.frames, attributes: row.attributes, count });
    }
    if (asm.samples === 0) {
      this.counts.emptyFlushes++;
      return;
    }
    this.counts.samples += asm.samples;
    this.exporter.export(asm.encode());
  }

  /** Symbolizes and attributes one map key. */
  private row(s: SampleKey, w: ProcessWorkload): Row {
    if (!this.attribution.wanted(w)) {
      return { workload: w, version: this.symbolizer.version(s.pid), wanted: false, resource: w.resource, frames: [], attributes: {}, leafCaller: false };
    }
    const user = this.symbolizer.user(s.pid, s.user);
    const caller = s.leafReturn === undefined ? undefined : this.symbolizer.leafCaller(s.pid, s.user[0], s.leafReturn);
    if (caller) user.splice(1, 0, caller);
    const frames = [...this.symbolizer.kernel(s.kernel), ...user];
    const attributes = this.attribution.sampleAttributes(s.pid, s.comm, w);
    return { workload: w, version: this.symbolizer.version(s.pid), wanted: true, resource: w.resource, frames, attributes, leafCaller: caller !== undefined };
  }
}
