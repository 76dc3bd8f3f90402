import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { SimpleValue } from '../otlp/frame.js';
import { encodedBatch, type ProfilesConsumer } from '../pipeline/consumer.js';
import type { EncodedFlush } from './assemble.js';
import { KubeApi, inClusterConfig } from './workload/k8s-api.js';
import { PodIndex } from './workload/pod-index.js';
import { WorkloadResolver, type ProcessWorkload } from './workload/resolver.js';

export interface AttributionConfig {
  procRoot: string;
  kubernetes: 'auto' | 'on' | 'off';
  nodeName?: string;
  podListIntervalMs: number;
  /** Only processes whose cgroup path starts with one of these (empty: all). */
  cgroups: readonly string[];
  /** Only these workload keys (empty: all). */
  workloads: readonly string[];
}

/**
 * Where every sampled process's samples go, the same whichever sampler took them: its
 * workload (Kubernetes owner chain from the pod the cgroup names, else service, container or
 * executable; see WorkloadResolver), whether the `--cgroup`/`--workload` filters let it
 * through, and the attributes each of its samples carries.
 */
export class Attribution {
  readonly resolver: WorkloadResolver;
  private readonly pods: PodIndex | undefined;
  private readonly workloadFilter: Set<string>;
  /** Sample attributes per `pid:thread name`, rebuilt when the pid's workload changes (see RequestAssembler). */
  private readonly sampleAttrs = new Map<string, { workload: ProcessWorkload; attributes: Record<string, SimpleValue> }>();

  constructor(
    private readonly c: AttributionConfig,
    log: Logger,
  ) {
    const k8s = c.kubernetes === 'off' ? undefined : inClusterConfig();
    if (c.kubernetes === 'on' && !k8s) {
      throw new Error('--kubernetes on, but no in-cluster API access (KUBERNETES_SERVICE_HOST or the service-account token is missing)');
    }
    const nodeName = c.nodeName ?? process.env.NODE_NAME ?? hostname();
    this.pods = k8s ? new PodIndex(new KubeApi(k8s), nodeName, log, c.podListIntervalMs) : undefined;
    this.resolver = new WorkloadResolver({ procRoot: c.procRoot, pods: this.pods, hostName: nodeName });
    this.workloadFilter = new Set(c.workloads);
  }

  /** Starts following this node's pods (when on Kubernetes). */
  async start(): Promise<void> {
    if (this.pods) await this.pods.start();
  }

  stop(): void {
    this.pods?.stop();
  }

  wanted(w: ProcessWorkload): boolean {
    if (this.workloadFilter.size > 0 && !this.workloadFilter.has(w.key)) return false;
    const cgroups = this.c.cgroups;
    const path = w.cgroup.path;
    if (cgroups.length > 0 && !cgroups.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`))) return false;
    return true;
  }

  /**
   * The attributes of a sample of thread `thread` of process `pid`: the workload's per-process
   * attributes, `process.pid` and `thread.name`. One object per pid and thread name while its
   * workload stays, so the request assembler makes its attribute set once.
   */
  sampleAttributes(pid: number, thread: string, w: ProcessWorkload): Record<string, SimpleValue> {
    const key = `${pid}:${thread}`;
    let attrs = this.sampleAttrs.get(key);
    if (attrs?.workload !== w) {
      attrs = { workload: w, attributes: { ...w.sampleAttributes, 'process.pid': pid, 'thread.name': thread } };
      this.sampleAttrs.set(key, attrs);
    }
    return attrs.attributes;
  }

  /** Forgets the sample attribute objects (rebuilt on demand for the processes still sampled). */
  sweep(): void {
    this.sampleAttrs.clear();
  }
}

export interface ExportCounts {
  requests: number;
  consumeErrors: number;
  droppedRequests: number;
}

/** Flushes whose export has not resolved yet; beyond this new requests are dropped and counted. */
const MAX_IN_FLIGHT = 8;

/**
 * Hands each assembled request to the exporter without waiting for it, with at most
 * MAX_IN_FLIGHT not yet accepted: a gateway that does not keep up costs dropped (and counted)
 * requests, never unbounded memory.
 */
export class FlushExporter {
  readonly counts: ExportCounts = { requests: 0, consumeErrors: 0, droppedRequests: 0 };
  private inFlight = 0;

  constructor(
    private readonly consumer: ProfilesConsumer,
    private readonly log: Logger,
  ) {}

  export(flush: EncodedFlush): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.counts.droppedRequests++;
      this.log.warn({ inFlight: this.inFlight, dropped: this.counts.droppedRequests }, 'exporter is not keeping up; dropping this window');
      return;
    }
    this.inFlight++;
    this.counts.requests++;
    this.consumer
      .consume(encodedBatch(flush.bytes, undefined, flush.stats))
      .then((r) => {
        if (r.rejectedProfiles > 0) this.log.warn({ rejected: r.rejectedProfiles, error: r.errorMessage }, 'export partially rejected');
      })
      .catch((err: unknown) => {
        this.counts.consumeErrors++;
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'export failed');
      })
      .finally(() => {
        this.inFlight--;
      });
  }
}
