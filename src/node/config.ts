import { z } from 'zod';

/** The node sampler's configuration and defaults (`pilotlight node` flags map onto it). */
export const NodeSamplerConfigSchema = z.object({
  /** Samples per second per CPU. */
  hz: z.number().int().min(1).max(1000).default(20),
  /** How often bpftrace prints (and clears) its map; one export request per interval. */
  intervalMs: z.number().int().min(100).max(60_000).default(1000),
  /** Only these processes; empty = every process. Filtered in the kernel. */
  pids: z.array(z.number().int().positive()).default([]),
  /** Only processes whose cgroup path starts with one of these. */
  cgroups: z.array(z.string().min(1)).default([]),
  /** Only these workload keys (`namespace/Kind/name`). */
  workloads: z.array(z.string().min(1)).default([]),
  /** Extra processes never sampled (the sampler's own node process is always excluded). */
  excludePids: z.array(z.number().int().positive()).default([]),
  /**
   * Processes announced on their first sample are resolved (workload, /proc/PID/maps) at once,
   * at most this many a second (a burst of short processes must not make the sampler read /proc
   * without bound; the rest are counted and resolved at flush time, if still there). 0 = off.
   */
  eagerResolvesPerSecond: z.number().int().min(0).max(100_000).default(100),
  bpftrace: z.string().min(1).default('bpftrace'),
  procRoot: z.string().min(1).default('/proc'),
  /** Kubernetes: `auto` uses the in-cluster API when KUBERNETES_SERVICE_HOST is set. */
  kubernetes: z.enum(['auto', 'on', 'off']).default('auto'),
  /** This node's name for the pod list (Downward API NODE_NAME; else the host name). */
  nodeName: z.string().min(1).optional(),
  podListIntervalMs: z.number().int().min(1000).default(30_000),
  restartInitialMs: z.number().int().min(10).default(1000),
  restartMaxMs: z.number().int().min(10).default(30_000),
});

export type NodeSamplerConfig = z.infer<typeof NodeSamplerConfigSchema>;
export type NodeSamplerInput = z.input<typeof NodeSamplerConfigSchema>;
