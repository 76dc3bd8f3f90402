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
   * Probability that an off-CPU wait is recorded (the profiler's `-off-cpu-threshold`); 0 = no
   * off-CPU profiling. Until the request assembler carries profile types other than CPU, its
   * off-CPU profiles are counted (`skippedProfiles`) and not sent.
   */
  offCpuThreshold: z.number().min(0).max(1).default(0),
  /** How long the profiler may take to load and attach its eBPF programs. */
  readyTimeoutMs: z.number().int().min(100).default(120_000),
});

export type EbpfProfilerSamplerConfig = z.infer<typeof EbpfProfilerSamplerConfigSchema>;
export type EbpfProfilerSamplerInput = z.input<typeof EbpfProfilerSamplerConfigSchema>;
