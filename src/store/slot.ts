import { aggregateRequest, emptyWorkloadProfile, mergeWorkloadProfile, type WorkloadProfile } from '../profile/aggregate.js';
import type { WorkloadId } from '../profile/workload.js';
import { decodeRequest } from '../otlp/codec.js';

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
 * a time window costs one flame-graph build and no decoding. A dropped chunk is decoded once
 * more and subtracted; after as many drops as the slot holds chunks, the running aggregate is
 * rebuilt so nodes that fell to zero do not pile up.
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

  add(chunk: Chunk, aggregate: WorkloadProfile): void {
    this.chunks.push(chunk);
    this.bytes += chunk.bytes.byteLength;
    this.samples += chunk.samples;
    this.lastDataAt = chunk.receivedAt;
    mergeWorkloadProfile(this.running, aggregate);
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
      const agg = aggregateChunk(chunk, inside ? undefined : { from: lo, to: hi });
      if (agg) mergeWorkloadProfile(out, agg);
    }
    return out;
  }

  private subtract(chunk: Chunk): void {
    const agg = aggregateChunk(chunk);
    if (!agg) return;
    this.running.tree.merge(agg.tree, -1);
    this.running.samples -= agg.samples;
    this.running.cpuNanos -= agg.cpuNanos;
    // Time bounds only shrink on rebuild; until then they may reach back a little further.
  }

  private rebuild(): void {
    this.dropsSinceRebuild = 0;
    const fresh = emptyWorkloadProfile(this.workload);
    for (const chunk of this.chunks) {
      const agg = aggregateChunk(chunk);
      if (agg) mergeWorkloadProfile(fresh, agg);
    }
    fresh.resource = this.running.resource;
    this.running = fresh;
  }
}

function aggregateChunk(chunk: Chunk, window?: { from: number; to: number }): WorkloadProfile | undefined {
  const req = decodeRequest(chunk.bytes, 'protobuf');
  const all = [...aggregateRequest(req, window ?? {}).values()];
  if (all.length === 0) return undefined;
  const out = all[0];
  for (let i = 1; i < all.length; i++) mergeWorkloadProfile(out, all[i]);
  return out;
}
