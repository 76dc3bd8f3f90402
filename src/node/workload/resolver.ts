import { readlinkSync } from 'node:fs';
import type { SimpleValue } from '../../otlp/frame.js';
import { workloadOf } from '../../profile/workload.js';
import { processStartTime, readProc } from '../symbolize/proc.js';
import { parseCgroup, serviceNameOfUnit, type CgroupInfo } from './cgroup.js';
import type { PodIndex } from './pod-index.js';

/** Where a process's samples go. */
export interface ProcessWorkload {
  /** `namespace/Kind/name`, as `workloadOf(resource)` computes it. */
  key: string;
  /** Attributes that hold for the whole workload: the samples of all its pids share them. */
  resource: Record<string, SimpleValue>;
  /** Attributes of this process that may differ within the workload (pod, container, binary). */
  sampleAttributes: Record<string, SimpleValue>;
  cgroup: CgroupInfo;
}

interface Entry {
  workload: ProcessWorkload;
  startTime: string | undefined;
  /** PodIndex generation this was resolved against, when it wanted a pod it did not find. */
  pendingPodGeneration?: number;
  lastUsed: number;
}

/**
 * Attributes that identify a workload (they make its key) or are the same for all its
 * processes; everything else rides on samples so one ResourceProfiles per workload suffices.
 */
const WORKLOAD_LEVEL = new Set([
  'k8s.namespace.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
  'k8s.node.name',
  'service.name',
  'host.name',
]);

export interface ResolverOptions {
  procRoot?: string;
  pods?: PodIndex;
  hostName: string;
}

/**
 * pid → workload, resolved once per process (pid + start time) and cached:
 * Kubernetes pod (cgroup → container id → pod → owners) first; off Kubernetes
 * `OTEL_SERVICE_NAME`, a systemd service unit, a container, else the executable.
 */
export class WorkloadResolver {
  private readonly cache = new Map<number, Entry>();
  private tick = 0;
  private readonly procRoot: string;

  constructor(private readonly o: ResolverOptions) {
    this.procRoot = o.procRoot ?? '/proc';
  }

  get size(): number {
    return this.cache.size;
  }

  /** Marks a flush, for sweeping entries of processes no longer sampled. */
  beginFlush(): void {
    this.tick++;
  }

  /**
   * A process just announced as new: resolves it now, while /proc/PID can still be read (it may
   * exit before the flush that holds its samples), replacing what a previous process with the
   * same pid left in the cache. Undefined when it has already gone.
   */
  resolveNew(pid: number, comm: string): ProcessWorkload | undefined {
    const start = processStartTime(this.procRoot, pid);
    if (start === undefined) return undefined;
    const hit = this.cache.get(pid);
    if (hit && hit.startTime !== start) this.cache.delete(pid);
    return this.resolve(pid, comm, start);
  }

  resolve(pid: number, comm: string, knownStart?: string): ProcessWorkload {
    const hit = this.cache.get(pid);
    if (hit && (hit.pendingPodGeneration === undefined || hit.pendingPodGeneration === this.o.pods?.generation)) {
      hit.lastUsed = this.tick;
      return hit.workload;
    }
    const startTime = hit?.startTime ?? knownStart ?? processStartTime(this.procRoot, pid);
    const { workload, pendingPod } = this.compute(pid, comm);
    // An exited process keeps what was resolved while it ran.
    const keep = hit && workload.key === `host/Process/${comm}` && readProc(this.procRoot, pid, 'stat') === undefined;
    const entry: Entry = {
      workload: keep ? hit.workload : workload,
      startTime,
      pendingPodGeneration: pendingPod ? this.o.pods?.generation : undefined,
      lastUsed: this.tick,
    };
    this.cache.set(pid, entry);
    return entry.workload;
  }

  forget(pid: number): void {
    this.cache.delete(pid);
  }

  /** Drops entries unused for `ticks` flushes whose process is gone or was replaced. */
  sweep(ticks: number): void {
    for (const [pid, e] of this.cache) {
      if (this.tick - e.lastUsed < ticks) continue;
      const start = processStartTime(this.procRoot, pid);
      if (start === undefined || start !== e.startTime) this.cache.delete(pid);
    }
  }

  private compute(pid: number, comm: string): { workload: ProcessWorkload; pendingPod: boolean } {
    const cgroup = parseCgroup(readProc(this.procRoot, pid, 'cgroup') ?? '');
    const attrs: Record<string, SimpleValue> = { 'host.name': this.o.hostName };
    const exe = this.executable(pid, comm);
    if (exe) attrs['process.executable.name'] = exe;
    const env = environ(readProc(this.procRoot, pid, 'environ'));
    const service = env.OTEL_SERVICE_NAME || serviceFromResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
    let pendingPod = false;
    if (cgroup.containerId || cgroup.podUid) {
      const k8s = this.o.pods?.get(cgroup.containerId, cgroup.podUid);
      if (k8s) Object.assign(attrs, k8s);
      else if (this.o.pods && cgroup.podUid) pendingPod = true;
      if (cgroup.containerId && !attrs['container.id']) attrs['container.id'] = cgroup.containerId;
      if (cgroup.runtime) attrs['container.runtime.name'] = cgroup.runtime;
    }
    if (service) attrs['service.name'] = service;
    else if (cgroup.systemdUnit && !cgroup.containerId) attrs['service.name'] = serviceNameOfUnit(cgroup.systemdUnit);

    // The key as a receiver computes it from the resource: a service's resource does not hold
    // the executable's name (it rides on samples).
    const { 'process.executable.name': _exe, ...serviceView } = attrs;
    const workload = workloadOf(attrs['service.name'] ? serviceView : attrs);
    const key = workload.key;
    // Every workload carries a service.name: backends that file profiles by it (Grafana
    // Pyroscope) would put the rest under `unknown_service`. Unless the process named itself,
    // it is the workload's name (the Deployment's, the container's, the executable's), which
    // workloadOf reads back as the same key.
    if (!attrs['service.name']) attrs['service.name'] = workload.name;
    const resource: Record<string, SimpleValue> = {};
    const sampleAttributes: Record<string, SimpleValue> = {};
    // What the key was made from must sit on the resource, or the receiver would compute
    // another key; the rest is workload-level only when listed.
    const keyAttr = key.startsWith('host/Container/')
      ? 'container.id'
      : key.startsWith('host/Process/')
        ? 'process.executable.name'
        : key.includes('/Pod/')
          ? 'k8s.pod.name'
          : '';
    for (const [k, v] of Object.entries(attrs)) {
      if (WORKLOAD_LEVEL.has(k) || k === keyAttr) resource[k] = v;
      else sampleAttributes[k] = v;
    }
    return { workload: { key, resource, sampleAttributes, cgroup }, pendingPod };
  }

  private executable(pid: number, comm: string): string {
    try {
      const path = readlinkSync(`${this.procRoot}/${pid}/exe`).replace(/ \(deleted\)$/, '');
      return path.slice(path.lastIndexOf('/') + 1);
    } catch {
      return comm; // kernel threads have no exe; an exited process leaves only its comm
    }
  }
}

export function environ(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const kv of text.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

function serviceFromResourceAttributes(value: string | undefined): string | undefined {
  if (!value) return undefined;
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === 'service.name') return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}
