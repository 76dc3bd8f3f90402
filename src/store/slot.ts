import { addTotals, emptyWorkloadProfile, type TypeTrees, type WorkloadProfile, type WorkloadProfiles } from '../profile/workload-profile.js';
import { aggregateWireTypes, type DeferredTrees } from '../profile/aggregate-encoded.js';
import type { WorkloadId } from '../profile/workload.js';
import { CPU, compareTypes, type ProfileType } from '../profile/profile-type.js';
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
    /** Sampled events of every profile type (WorkloadProfile.events): CPU samples, off-CPU events, … */
    readonly samples: number,
    /** Time bounds of its samples (ms); NaN when the sender gave no time. */
    readonly startMs: number,
    readonly endMs: number,
    /** What it added to the slot's totals, per profile type: taken back out when it is dropped. */
    readonly totals: readonly ChunkTotals[],
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

/** One chunk's share of a slot's totals of one profile type. */
export interface ChunkTotals {
  key: string;
  samples: number;
  events: number;
  cpuNanos: number;
}

/** At most this many distinct profile types per slot: a tree each. Profiles of more types are skipped (`too_many_types`). */
export const MAX_PROFILE_TYPES = 16;

/** What a slot holds of one profile type (all data, no window). */
export interface TypeSummary {
  type: ProfileType;
  /** Sample values in the type's sample unit (WorkloadProfile.samples). */
  samples: number;
  /** Sampled events (WorkloadProfile.events). */
  events: number;
}

/**
 * A slot: the buffer for one workload, opened by "Enable Profiling". It keeps the raw chunks
 * (oldest first, at most `maxBytes` of them, in one ring arena: see ChunkRing) and a running
 * aggregate of all of them per profile type (one tree per type present: a slot of CPU data
 * alone has one), so a query without a time window costs one flame-graph build and no
 * decoding.
 *
 * A chunk's totals (samples, CPU time, time bounds) are counted when it arrives; its stacks
 * go into the running trees when the slot is next read (`profile`), from the arena. Ingest
 * then costs what reading and counting a request costs, and a slot nobody looks at never
 * resolves a stack: its chunks drop off the end unresolved, for free. A dropped chunk that is
 * already in the trees is read once more and subtracted. After as many such drops as the slot
 * holds chunks, the running aggregate is rebuilt so nodes, frames and types that fell to zero
 * do not pile up.
 */
export class Slot implements DeferredTrees {
  /** DeferredTrees: ingest counts a chunk's samples; `settle` adds its stacks. */
  readonly defersStacks = true;
  readonly chunks: Chunk[] = [];
  samples = 0;
  lastDataAt: number | null = null;
  lastViewedAt: number;
  readonly openedAt: number;
  /** Chunks dropped at the byte cap since the store last asked (see takeDropped). */
  private dropped = 0;
  private readonly ring: ChunkRing;
  /** The running aggregate, by profile type key. */
  private running = new Map<string, WorkloadProfile>();
  /** The newest `pending` chunks are counted in the totals but not yet in the trees. */
  private pending = 0;
  private dropsSinceRebuild = 0;

  constructor(
    readonly workload: WorkloadId,
    now: number,
    maxBytes: number,
  ) {
    this.openedAt = now;
    this.lastViewedAt = now;
    this.ring = new ChunkRing(maxBytes);
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
   * TypeTrees: the running tree of a type, which a new chunk is counted against (then
   * `addAggregated`); a type beyond MAX_PROFILE_TYPES gets none.
   */
  treeFor(type: ProfileType): CallTree | undefined {
    return treeIn(this.running, this.workload, type);
  }

  /**
   * Adds `bytes`, this workload's chunk, whose samples `agg` has counted against the running
   * trees (`treeFor`, stacks deferred), dropping the oldest chunks to make room. Its stacks are
   * added when the slot is next read. Returns the chunk, or undefined
   * when it holds no samples of any type (then nothing is kept). A chunk larger than maxBytes
   * is the caller's to refuse.
   */
  addAggregated(bytes: Uint8Array, agg: WorkloadProfiles | undefined, receivedAt: number): Chunk | undefined {
    if (!agg) return undefined;
    let events = 0;
    let startMs = NaN;
    let endMs = NaN;
    let held = false;
    const totals: ChunkTotals[] = [];
    for (const [key, p] of agg.types) {
      if (this.running.has(key)) totals.push({ key, samples: p.samples, events: p.events, cpuNanos: p.cpuNanos });
      if (p.samples === 0 && p.cpuNanos === 0) continue;
      held = true;
      events += p.events;
      if (!Number.isNaN(p.startMs)) startMs = Number.isNaN(startMs) ? p.startMs : Math.min(startMs, p.startMs);
      if (!Number.isNaN(p.endMs)) endMs = Number.isNaN(endMs) ? p.endMs : Math.max(endMs, p.endMs);
    }
    if (!held) return undefined;
    if (bytes.byteLength > this.maxBytes) throw new RangeError(`chunk of ${bytes.byteLength} bytes exceeds the slot cap of ${this.maxBytes}`);
    // Subtract what is dropped before its bytes are overwritten.
    const dropped = this.dropUntil(() => this.ring.fits(bytes.byteLength), 1);
    this.dropped += dropped;
    const chunk = new Chunk(this.ring, this.ring.append(bytes), bytes.byteLength, receivedAt, events, startMs, endMs, totals);
    this.chunks.push(chunk);
    this.pending++;
    this.samples += chunk.samples;
    this.lastDataAt = receivedAt;
    for (const [key, p] of agg.types) {
      const running = this.running.get(key);
      if (running) addTotals(running, p);
    }
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
   * Drops oldest chunks until `done()`, taking each out of the totals. A chunk already in the
   * trees is subtracted from them too, unless a rebuild will follow (a rebuild reads what is
   * held anyway); `incoming` chunks are about to be added.
   */
  private dropUntil(done: () => boolean, incoming: number): number {
    let dropped = 0;
    while (!done() && this.chunks.length > 0) {
      const inTrees = this.pending < this.chunks.length;
      const chunk = this.chunks.shift()!;
      if (inTrees) {
        this.dropsSinceRebuild++;
        if (this.dropsSinceRebuild < this.chunks.length + incoming) this.subtract(chunk);
      } else {
        this.pending--;
      }
      this.subtractTotals(chunk);
      this.ring.dropOldest(chunk.byteLength);
      chunk.detach();
      this.samples -= chunk.samples;
      dropped++;
    }
    return dropped;
  }

  /** The profile types the slot holds data of, CPU first (see compareTypes). */
  types(): TypeSummary[] {
    const out: TypeSummary[] = [];
    // A type whose chunks were all dropped keeps its (empty) tree until the next rebuild;
    // nanosecond-valued CPU samples may leave a rounding residue when subtracted.
    for (const p of this.running.values()) if (p.samples > 1e-6 || p.cpuNanos > 1e-6) out.push({ type: p.type, samples: p.samples, events: p.events });
    return out.sort((a, b) => compareTypes(a.type, b.type));
  }

  /** The type a query shows by default: CPU when the slot has CPU data, else the first type it has. */
  defaultType(): ProfileType {
    return this.types()[0]?.type ?? CPU;
  }

  /** The slot's profile of `type`, optionally only samples in [from, to) (ms). */
  profile(type: ProfileType = CPU, from?: number, to?: number): WorkloadProfile {
    if (from === undefined && to === undefined) {
      this.settle();
      return this.running.get(type.key) ?? emptyWorkloadProfile(this.workload, {}, type);
    }
    const lo = from ?? -Infinity;
    const hi = to ?? Infinity;
    const out = emptyWorkloadProfile(this.workload, {}, type);
    const trees: TypeTrees = { treeFor: () => out.tree };
    for (const chunk of this.chunks) {
      const untimed = Number.isNaN(chunk.startMs);
      if (!untimed && (chunk.endMs < lo || chunk.startMs >= hi)) continue;
      const inside = untimed || (chunk.startMs >= lo && chunk.endMs < hi);
      const window = inside ? {} : { from: lo, to: hi };
      const agg = aggregateWireTypes(readWireRequest(chunk.bytes), { workload: this.key, type: type.key, treesOf: () => trees, ...window }).get(this.key);
      const p = agg?.types.get(type.key);
      if (p) addTotals(out, p);
    }
    return out;
  }

  /** Adds the stacks of the chunks counted but not yet in the trees. */
  private settle(): void {
    if (this.pending === 0) return;
    const running = this.running;
    const trees: TypeTrees = { treeFor: (type) => running.get(type.key)?.tree };
    for (let i = this.chunks.length - this.pending; i < this.chunks.length; i++) this.aggregateChunk(this.chunks[i], trees, 1);
    this.pending = 0;
  }

  /** Takes a chunk's stacks back out of the trees (its totals: `subtractTotals`). */
  private subtract(chunk: Chunk): void {
    const running = this.running;
    this.aggregateChunk(chunk, { treeFor: (type) => running.get(type.key)?.tree }, -1);
  }

  private subtractTotals(chunk: Chunk): void {
    for (const t of chunk.totals) {
      const r = this.running.get(t.key);
      if (!r) continue;
      r.samples -= t.samples;
      r.events -= t.events;
      r.cpuNanos -= t.cpuNanos;
    }
    // Time bounds only shrink on rebuild; until then they may reach back a little further.
  }

  private rebuild(): void {
    this.dropsSinceRebuild = 0;
    this.pending = 0;
    const fresh = new Map<string, WorkloadProfile>();
    const trees: TypeTrees = { treeFor: (type) => treeIn(fresh, this.workload, type) };
    for (const chunk of this.chunks) {
      const agg = this.aggregateChunk(chunk, trees, 1);
      if (!agg) continue;
      for (const [key, p] of agg.types) addTotals(fresh.get(key)!, p);
    }
    this.running = fresh;
  }

  /**
   * A chunk's samples for this workload, every type, added into the trees `trees` gives.
   * Chunks were built from validated requests, so they are read on the wire path without
   * validating again.
   */
  private aggregateChunk(chunk: Chunk, trees: TypeTrees, sign: 1 | -1): WorkloadProfiles | undefined {
    return aggregateWireTypes(readWireRequest(chunk.bytes), { workload: this.key, treesOf: () => trees, sign }).get(this.key);
  }
}

/** The tree of `type` in a running aggregate, made when the aggregate has room for another type. */
function treeIn(running: Map<string, WorkloadProfile>, workload: WorkloadId, type: ProfileType): CallTree | undefined {
  let p = running.get(type.key);
  if (!p) {
    if (running.size >= MAX_PROFILE_TYPES) return undefined;
    p = emptyWorkloadProfile(workload, {}, type);
    running.set(type.key, p);
  }
  return p.tree;
}
