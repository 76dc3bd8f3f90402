import { ebpfProfilerMissing, findEbpfProfiler } from './ebpf-profiler/preflight.js';
import { PreflightError } from './preflight.js';

export const SAMPLER_KINDS = ['bpftrace', 'ebpf-profiler'] as const;
export type SamplerKind = (typeof SAMPLER_KINDS)[number];

/** Which sampler runs, and, when the default fell back to bpftrace, why. */
export interface SamplerChoice {
  kind: SamplerKind;
  fallback?: string;
}

/**
 * The sampler profiling.node.sampler names; unset, the default: the OpenTelemetry eBPF profiler
 * (complete, named stacks in every runtime without flags on the workloads: bench/stacks.bench.ts)
 * where it is installed and can run here, else bpftrace, with the reason the profiler cannot.
 * A sampler that is named is run as named (and refuses to start, saying why, where it cannot).
 */
export function chooseSampler(setting: SamplerKind | undefined, profilerPath?: string, procRoot = '/proc'): SamplerChoice {
  if (setting) return { kind: setting };
  try {
    findEbpfProfiler(profilerPath);
  } catch (err) {
    if (err instanceof PreflightError) return { kind: 'bpftrace', fallback: err.message };
    throw err;
  }
  const missing = ebpfProfilerMissing(procRoot);
  return missing ? { kind: 'bpftrace', fallback: missing } : { kind: 'ebpf-profiler' };
}

/** The one line saying the default fell back to bpftrace, and why. */
export function fallbackLine(why: string): string {
  return `sampling with bpftrace (frame pointers only), not the default eBPF profiler: ${why}; set profiling.node.sampler (--sampler) to choose`;
}
