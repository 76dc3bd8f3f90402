import { aggregateRequest, emptyWorkloadProfile, type AggregateOptions, type WorkloadProfile } from '../profile/aggregate.js';
import { aggregateWire } from '../profile/aggregate-encoded.js';
import type { WorkloadId } from '../profile/workload.js';
import type { ExportProfilesServiceRequest } from '../otlp/messages.js';
import { readWireRequest } from '../otlp/wire/request.js';
import type { CallTree } from '../profile/calltree.js';

/** One workload's part of one export, as a self-contained encoded request. */
export interface Chunk {
  bytes: Uint8Array;
  receivedAt: number;
  samples: number;
  /** Time bounds of its samples (ms); NaN when the sender gave no time. */
  startMs: number;
  endMs: number;
}

/**
 * A slot: the buffer for one workload, opened by "Enable Profiling". It keeps the raw chunks
 * (oldest first, bounded by bytes) and a running aggregate of all of them, so a query without
 * a time window costs one flame-graph build and no decoding. A chunk is aggregated straight
 * into the running tree when it arrives; a dropped chunk is read once more (from its bytes, on
 * the wire fast path) and subtracted. After as many drops as the slot holds chunks, the
 * running aggregate is rebuilt so nodes and frames that fell to zero do not pile up.
 */
export class Slot {
  readonly chunks: Chunk[] = [];
  bytes = 0;
  samples = 0;
  lastDataAt: number | null = null;
  lastViewedAt: number;
  readonly openedAt: number;
  private running: WorkloadProfile;
  private dropsSinceRebuild = 0;

  constructor(
    readonly workload: WorkloadId,
    now: number,
  ) {
    this.openedAt = now;
    this.lastViewedAt = now;
    this.running = emptyWorkloadProfile(workload);
  }

  get key(): string {
    return this.workload.key;
  }

  /** Adds a chunk whose samples are already aggregated (into a tree of their own). */
  add(chunk: Chunk, aggregate: WorkloadProfile): void {
    this.push(chunk);
    this.running.tree.merge(aggregate.tree);
    addTotals(this.running, aggregate);
  }

  /**
   * Adds `bytes`, the encoding of `req` (this workload's part of an export), aggregating its
   * samples straight into the running tree. Returns the chunk, or undefined when it holds no
   * CPU samples (then nothing is kept).
   */
  addRequest(req: ExportProfilesServiceRequest, bytes: Uint8Array, receivedAt: number): Chunk | undefined {
    const agg = aggregateRequest(req, { workload: this.key, tree: this.running.tree }).get(this.key);
    if (!agg || (agg.samples === 0 && agg.cpuNanos === 0)) return undefined;
    const chunk: Chunk = { bytes, receivedAt, samples: agg.samples, startMs: agg.startMs, endMs: agg.endMs };
    this.push(chunk);
    addTotals(this.running, agg);
    return chunk;
  }

  /** The running tree, for aggregating a new chunk straight into it (then `addAggregated`). */
  get tree(): CallTree {
    return this.running.tree;
  }

  /**
   * Adds `bytes`, this workload's chunk, whose samples `agg` has already added into `tree`.
   * Returns the chunk, or undefined when it holds no CPU samples (then nothing is kept).
   */
  addAggregated(bytes: Uint8Array, agg: WorkloadProfile | undefined, receivedAt: number): Chunk | undefined {
    if (!agg || (agg.samples === 0 && agg.cpuNanos === 0)) return undefined;
    const chunk: Chunk = { bytes, receivedAt, samples: agg.samples, startMs: agg.startMs, endMs: agg.endMs };
    this.push(chunk);
    addTotals(this.running, agg);
    return chunk;
  }

  private push(chunk: Chunk): void {
    this.chunks.push(chunk);
    this.bytes += chunk.bytes.byteLength;
    this.samples += chunk.samples;
    this.lastDataAt = chunk.receivedAt;
  }

  /** Drops oldest chunks until the slot holds at most `maxBytes`; returns how many were dropped. */
  trimTo(maxBytes: number): number {
    let dropped = 0;
    while (this.bytes > maxBytes && this.chunks.length > 0) {
      const chunk = this.chunks.shift()!;
      this.bytes -= chunk.bytes.byteLength;
      this.samples -= chunk.samples;
      dropped++;
      this.dropsSinceRebuild++;
      if (this.dropsSinceRebuild < this.chunks.length) this.subtract(chunk);
    }
    if (dropped > 0 && this.dropsSinceRebuild >= this.chunks.length) this.rebuild();
    return dropped;
  }

  /** The slot's profile, optionally only samples in [from, to) (ms). */
  profile(from?: number, to?: number): WorkloadProfile {
    if (from === undefined && to === undefined) return this.running;
    const lo = from ?? -Infinity;
    const hi = to ?? Infinity;
    const out = emptyWorkloadProfile(this.workload);
    for (const chunk of this.chunks) {
      const untimed = Number.isNaN(chunk.startMs);
      if (!untimed && (chunk.endMs < lo || chunk.startMs >= hi)) continue;
      const inside = untimed || (chunk.startMs >= lo && chunk.endMs < hi);
      const agg = this.aggregateChunk(chunk, { tree: out.tree, ...(inside ? {} : { from: lo, to: hi }) });
      if (agg) addTotals(out, agg);
    }
    return out;
  }

  private subtract(chunk: Chunk): void {
    const agg = this.aggregateChunk(chunk, { tree: this.running.tree, sign: -1 });
    if (!agg) return;
    this.running.samples -= agg.samples;
    this.running.cpuNanos -= agg.cpuNanos;
    // Time bounds only shrink on rebuild; until then they may reach back a little further.
  }

  private rebuild(): void {
    this.dropsSinceRebuild = 0;
    const fresh = emptyWorkloadProfile(this.workload);
    for (const chunk of this.chunks) {
      const agg = this.aggregateChunk(chunk, { tree: fresh.tree });
      if (agg) addTotals(fresh, agg);
    }
    fresh.resource = this.running.resource;
    this.running = fresh;
  }

  /**
   * A chunk's samples for this workload, added into `opts.tree`. Chunks were built from
   * validated requests, so they are read on the wire path without validating again.
   */
  private aggregateChunk(chunk: Chunk, opts: AggregateOptions): WorkloadProfile | undefined {
    return aggregateWire(readWireRequest(chunk.bytes), { ...opts, workload: this.key }).get(this.key);
  }
}

/** mergeWorkloadProfile without the tree (already added into): totals add, bounds widen. */
function addTotals(dst: WorkloadProfile, src: WorkloadProfile): void {
  dst.samples += src.samples;
  dst.cpuNanos += src.cpuNanos;
  if (src.periodNanos > 0) dst.periodNanos = src.periodNanos;
  if (!Number.isNaN(src.startMs)) dst.startMs = Number.isNaN(dst.startMs) ? src.startMs : Math.min(dst.startMs, src.startMs);
  if (!Number.isNaN(src.endMs)) dst.endMs = Number.isNaN(dst.endMs) ? src.endMs : Math.max(dst.endMs, src.endMs);
  dst.skippedProfiles += src.skippedProfiles;
}
