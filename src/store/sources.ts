import type { UsageSource } from '../api/pipeline.js';
import type { WireRequest, WireResourceProfiles } from '../otlp/wire/request.js';
import { workloadId, type WorkloadId } from '../profile/workload.js';
import { CpuRing, bucketOf, countWireCpu } from './cpu.js';

/** How long a workload stays in the Sources list after its last data. */
export const SOURCE_RETENTION_MS = 15 * 60 * 1000;
/**
 * How long a bare process (kind `Process`: neither a Kubernetes workload, a service nor a
 * container) stays after its last data. Most are short-lived commands (`ls`, a cron script, a
 * `kworker/…` thread), and a host runs many: kept for 15 minutes they would drown the
 * workloads in the list. A process that keeps running is seen on every export and stays.
 */
export const PROCESS_RETENTION_MS = 2 * 60 * 1000;
/** How long a source of `kind` is listed after its last data (a source with a slot stays regardless). */
export function sourceRetentionMs(kind: string): number {
  return kind === 'Process' ? PROCESS_RETENTION_MS : SOURCE_RETENTION_MS;
}

/** A source the store has seen: its workload, when its data last came, and the CPU it used. */
export interface SourceEntry {
  workload: WorkloadId;
  lastSeenAt: number;
  cpu: CpuRing;
}

/**
 * The sources of the Sources list: every workload data has named, with when its data last
 * came and the CPU time it used (cpu.ts), kept for its retention (`sourceRetentionMs`) and at
 * most `maxSources()` of them (the store's limit: with the CPU ring of each, CPU_RING_BUCKETS
 * numbers, it bounds the memory the list takes). A source with a profiling slot is always kept:
 * `hasSlot` tells which keys have one (the registry holds no slots itself).
 */
export class SourceRegistry {
  /** Every source seen, in last-seen order (the least recently seen first). */
  private readonly sources = new Map<string, SourceEntry>();
  /** Sources forgotten at the `maxSources()` cap (not those past their retention). */
  trimmed = 0;

  constructor(
    private readonly hasSlot: (key: string) => boolean,
    private readonly maxSources: () => number,
  ) {}

  /** Sources remembered. */
  get size(): number {
    return this.sources.size;
  }

  get(key: string): SourceEntry | undefined {
    return this.sources.get(key);
  }

  /** Makes sure `workload` is a source (a slot opened for it): added, last seen `now`, when new. */
  ensure(workload: WorkloadId, now: number): void {
    if (!this.sources.has(workload.key)) this.add(workload, now);
  }

  /** Data for `workload` arrived: its source entry, made (and the list trimmed) when new. */
  seen(workload: WorkloadId, now: number): SourceEntry {
    const src = this.sources.get(workload.key);
    if (src) {
      src.lastSeenAt = now;
      // Keep the map in last-seen order so the oldest is first when trimming.
      this.sources.delete(workload.key);
      this.sources.set(workload.key, src);
      return src;
    }
    return this.add(workload, now);
  }

  /** Counts the CPU time of `workload`'s resource profiles `parts` of `wire` into its source, seen `now`. */
  countWire(workload: WorkloadId, parts: WireResourceProfiles[], wire: WireRequest, now: number): void {
    countWireCpu(this.seen(workload, now).cpu, parts, wire, now);
  }

  /**
   * A gateway's usage report: CPU time of workloads whose stacks it did not forward, counted
   * into their sources as data would be. Each bucket is named by its start; a time after the
   * current bucket (of `now`) counts in it, one older than the ring is dropped.
   */
  addUsage(sources: readonly UsageSource[], now: number): void {
    const nowBucket = bucketOf(now);
    for (const u of sources) {
      const src = this.seen(workloadId(u.namespace, u.kind, u.name), now);
      src.cpu.advance(nowBucket);
      for (const [ms, ns] of u.cpu) src.cpu.add(ms, ns);
    }
  }

  /** Removes the sources unseen for their retention that have no slot. */
  prune(now: number): void {
    for (const [key, src] of this.sources) {
      if (!this.retained(src, now)) this.sources.delete(key);
    }
  }

  /** The keys of the sources still retained at `now` (aged exactly, whether or not `prune` has run since). */
  retainedKeys(now: number): string[] {
    const keys: string[] = [];
    for (const [key, src] of this.sources) if (this.retained(src, now)) keys.push(key);
    return keys;
  }

  /** A new source, last seen `now`; past `maxSources()` the longest unseen without a slot goes. */
  private add(workload: WorkloadId, now: number): SourceEntry {
    const src: SourceEntry = { workload, lastSeenAt: now, cpu: new CpuRing() };
    this.sources.set(workload.key, src);
    this.trim();
    return src;
  }

  /** Removes the longest unseen sources without a slot until at most `maxSources()` are left. */
  trim(): void {
    const max = this.maxSources();
    if (this.sources.size <= max) return;
    // The first keys are the longest unseen: only sources with slots are passed over.
    for (const k of this.sources.keys()) {
      if (this.sources.size <= max) break;
      if (!this.hasSlot(k)) {
        this.sources.delete(k);
        this.trimmed++;
      }
    }
  }

  /** Whether a source is still listed at `now` (see `sourceRetentionMs`). */
  private retained(src: SourceEntry, now: number): boolean {
    return now - src.lastSeenAt <= sourceRetentionMs(src.workload.kind) || this.hasSlot(src.workload.key);
  }
}
