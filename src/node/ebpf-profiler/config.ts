import { z } from 'zod';
import { NodeSamplerConfigSchema } from '../config.js';

/**
 * The eBPF profiler sampler's configuration: what the bpftrace sampler takes (rates, filters,
 * workload resolution, restart backoff) but bpftrace's own settings, plus the profiler's.
 */
export const EbpfProfilerSamplerConfigSchema = NodeSamplerConfigSchema.omit({ bpftrace: true, eagerResolvesPerSecond: true }).extend({
  /** The profiler's executable; default: `ebpf-profiler` on PATH, else what `npm run setup` built (see findEbpfProfiler). */
  profiler: z.string().min(1).optional(),
  /**
   * Off-CPU profiling: the probability that a thread's switch off the CPU is recorded (the
   * profiler's `-off-cpu-threshold`: each context switch is kept with this probability, and a
   * kept one reports the nanoseconds until the thread ran again, with its stack); 0 = off. The
   * recorded waits are sent as each workload's off-CPU profile (`off_cpu`/`nanoseconds`),
   * as recorded (not scaled up by 1/probability).
   */
  offCpuThreshold: z.number().min(0).max(1).default(0),
  /** How long the profiler may take to load and attach its eBPF programs. */
  readyTimeoutMs: z.number().int().min(100).default(120_000),
});

export type EbpfProfilerSamplerConfig = z.infer<typeof EbpfProfilerSamplerConfigSchema>;
export type EbpfProfilerSamplerInput = z.input<typeof EbpfProfilerSamplerConfigSchema>;
