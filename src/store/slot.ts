import { aggregateRequest, emptyWorkloadProfile, type AggregateOptions, type WorkloadProfile } from '../profile/aggregate.js';
import { aggregateWire } from '../profile/aggregate-encoded.js';
import type { WorkloadId } from '../profile/workload.js';
import type { ExportProfilesServiceRequest } from '../otlp/messages.js';
import { readWireRequest } from '../otlp/wire/request.js';
import type { CallTree } from '../profile/calltree.js';
import { ChunkRing } from './arena.js';

/** One workload's part of one export, as a self-contained encoded request held in its slot's arena. */
export class Chunk {
  constructor(
    private ring: ChunkRing | undefined,
    /** Logical position of its bytes in the slot's arena. */
    readonly pos: number,
    readonly byteLength: number,
    readonly receivedAt: number,
    readonly samples: number,
    /** Time bounds of its samples (ms); NaN when the sender gave no time. */
    readonly startMs: number,
    readonly endMs: number,
  ) {}

  /**
   * Its encoded bytes: a view into the slot's arena (valid until the slot next changes), or a
   * copy when the chunk wraps the arena's end. Reading a dropped chunk is an error.
   */
  get bytes(): Uint8Array {
    if (!this.ring) throw new Error('chunk was dropped from its slot; its bytes are gone');
    return this.ring.read(this.pos, this.byteLength);
  }

  /** Marks it dropped: its bytes in the arena will be overwritten. */
  detach(): void {
    this.ring = undefined;
  }
}

/**
 * A slot: the buffer for one workload, opened by "Enable Profiling". It keeps the raw chunks
 * (oldest first, at most `maxBytes` of them, in one ring arena: see ChunkRing) and a running
 * aggregate of all of them, so a query without a time window costs one flame-graph build and
 * no decoding. A chunk is aggregated straight into the running tree when it arrives; a dropped
 * chunk is read once more (from the arena, on the wire fast path) and subtracted. After as
 * many drops as the slot holds chunks, the running aggregate is rebuilt so nodes and frames
 * that fell to zero do not pile up.
 */
export class Slot {
  readonly chunks: Chunk[] = [];
  samples = 0;
  lastDataAt: number | null = null;
  lastViewedAt: number;
  readonly openedAt: number;
  /** Chunks dropped at the byte cap since the store last asked (see takeDropped). */
  private dropped = 0;
  private readonly ring: ChunkRing;
  private running: WorkloadProfile;
  private dropsSinceRebuild = 0;

  constructor(
    readonly workload: WorkloadId,
    now: number,
    maxBytes: number,
  ) {
    this.openedAt = now;
    this.lastViewedAt = now;
    this.ring = new ChunkRing(maxBytes);
    this.running = emptyWorkloadProfile(workload);
  }

  get key(): string {
    return this.workload.key;
  }

  /** Raw chunk bytes held (never more than maxBytes). */
  get bytes(): number {
    return this.ring.used;
  }

  get maxBytes(): number {
    return this.ring.maxBytes;
  }

  /** Bytes the slot's arena has allocated (grows by doubling up to maxBytes). */
  get arenaBytes(): number {
    return this.ring.capacity;
  }

  /**
   * Adds `bytes`, the encoding of `req` (this workload's part of an export), aggregating its
   * samples straight into the running tree. Returns the chunk, or undefined when it holds no
   * CPU samples or is larger than the cap (then nothing is kept).
   */
  addRequest(req: ExportProfilesServiceRequest, bytes: Uint8Array, receivedAt: number): Chunk | undefined {
    if (bytes.byteLength > this.maxBytes) return undefined;
    const agg = aggregateRequest(req, { workload: this.key, tree: this.running.tree }).get(this.key);
    return this.addAggregated(bytes, agg, receivedAt);
  }

  /** The running tree, for aggregating a new chunk straight into it (then `addAggregated`). */
  get tree(): CallTree {
    return this.running.tree;
  }

  /**
   * Adds `bytes`, this workload's chunk, whose samples `agg` has already added into `tree`,
   * dropping the oldest chunks to make room. Returns the chunk, or undefined when it holds no
   * CPU samples (then nothing is kept). A chunk larger than maxBytes is the caller's to refuse.
   */
  addAggregated(bytes: Uint8Array, agg: WorkloadProfile | undefined, receivedAt: number): Chunk | undefined {
    if (!agg || (agg.samples === 0 && agg.cpuNanos === 0)) return undefined;
    if (bytes.byteLength > this.maxBytes) throw new RangeError(`chunk of ${bytes.byteLength} bytes exceeds the slot cap of ${this.maxBytes}`);
    // Subtract what is dropped before its bytes are overwritten.
    const dropped = this.dropUntil(() => this.ring.fits(bytes.byteLength), 1);
    this.dropped += dropped;
    const chunk = new Chunk(this.ring, this.ring.append(bytes), bytes.byteLength, receivedAt, agg.samples, agg.startMs, agg.endMs);
    this.chunks.push(chunk);
    this.samples += chunk.samples;
    this.lastDataAt = receivedAt;
    addTotals(this.running, agg);
    if (dropped > 0 && this.dropsSinceRebuild >= this.chunks.length) this.rebuild();
    return chunk;
  }

  /** Chunks dropped at the byte cap since the last call. */
  takeDropped(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }

  /**
   * A new byte cap: drops oldest chunks until the slot holds at most `maxBytes` and shrinks
   * the arena if it is larger; returns how many chunks were dropped.
   */
  resize(maxBytes: number): number {
    const dropped = this.dropUntil(() => this.ring.used <= maxBytes, 0);
    this.ring.resize(maxBytes);
    if (dropped > 0 && this.dropsSinceRebuild >= this.chunks.length) this.rebuild();
    return dropped;
  }

  /**
   * Drops oldest chunks until `done()`. `pending` chunks are about to be added, so a chunk is
   * subtracted only if no rebuild will follow (a rebuild reads what is held anyway).
   */
  private dropUntil(done: () => boolean, pending: number): number {
    let dropped = 0;
    while (!done() && this.chunks.length > 0) {
      const chunk = this.chunks.shift()!;
      this.dropsSinceRebuild++;
      if (this.dropsSinceRebuild < this.chunks.length + pending) this.subtract(chunk);
      this.ring.dropOldest(chunk.byteLength);
      chunk.detach();
      this.samples -= chunk.samples;
      dropped++;
    }
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
