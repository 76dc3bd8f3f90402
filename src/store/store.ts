import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { encodeRequest } from '../otlp/codec.js';
import { readRequest } from '../otlp/read-request.js';
import type { WorkloadProfile, WorkloadProfiles } from '../profile/workload-profile.js';
import { aggregateWireTypes } from '../profile/aggregate-encoded.js';
import { CPU, addSkipCounts, emptySkipCounts, type ProfileType, type SkipCounts } from '../profile/profile-type.js';
import type { WorkloadId } from '../profile/workload.js';
import type { WireRequest } from '../otlp/wire/request.js';
import { ACCEPTED, type ConsumeResult, type ProfilesBatch, type ProfilesConsumer } from '../pipeline/consumer.js';
import type { SlotEvent, SlotsResponse, SourceInfo, StoreLimits } from '../api/types.js';
import type { SubscriptionResponse, UsageSource } from '../api/pipeline.js';
import { DEFAULT_LIMITS, partialLimitsSchema } from './config.js';
import { emptyCpuSeries } from './cpu.js';
import { Slot, type TypeSummary } from './slot.js';
import { SourceRegistry } from './sources.js';
import { RequestSplit, countWireProfiles } from './split.js';

export type Clock = () => number;

export interface StoreCounters {
  evictions: { lru: number; ttl: number; closed: number };
  dropped: { noSlot: number; chunkTooLarge: number; byteCapChunks: number };
  /** Profiles of workloads with a slot that went into no profile type, by reason (counted once, at ingest). */
  skipped: SkipCounts;
}

export class StoreError extends Error {
  constructor(
    readonly code: 'SLOT_NOT_FOUND' | 'BAD_LIMITS' | 'UNKNOWN_TYPE',
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * The profile store of the UI process: bounded slots, one per workload that has profiling
 * enabled. Slots live in a Map in least-recently-used order (a view moves a slot to the end);
 * at the slot limit the first is evicted. A slot not viewed for the TTL is swept by the
 * cleanup loop. Data for workloads without a slot is counted and dropped. Every workload the
 * data names is a source of the Sources list (sources.ts), with the CPU time it used counted
 * from every request, slot or not; a request is cut into workloads by split.ts.
 */
export class ProfileStore implements ProfilesConsumer {
  private readonly slots = new Map<string, Slot>();
  /** Every source seen; those with a slot are kept past their retention and the maxSources trim. */
  private readonly sources = new SourceRegistry(
    (key) => this.slots.has(key),
    () => this.limitsValue.maxSources,
  );
  private readonly events = new EventEmitter();
  /** Hears when the set of slots changes (see `subscription`). */
  private readonly slotSetEvents = new EventEmitter();
  /** Names this process in subscription tokens, so a restarted UI's tokens never repeat. */
  private readonly instance = randomUUID();
  /** Bumped whenever a slot opens or goes. */
  private slotSetVersion = 0;
  private timer: NodeJS.Timeout | undefined;
  private limitsValue: StoreLimits;
  readonly counters: StoreCounters = {
    evictions: { lru: 0, ttl: 0, closed: 0 },
    dropped: { noSlot: 0, chunkTooLarge: 0, byteCapChunks: 0 },
    skipped: emptySkipCounts(),
  };

  constructor(
    limits: StoreLimits = DEFAULT_LIMITS,
    private readonly clock: Clock = Date.now,
  ) {
    this.limitsValue = { ...limits };
    this.events.setMaxListeners(0);
    this.slotSetEvents.setMaxListeners(0);
  }

  get limits(): StoreLimits {
    return { ...this.limitsValue };
  }

  /** Starts the cleanup loop (every cleanupIntervalSeconds). */
  start(): void {
    this.stop();
    this.timer = setInterval(() => this.sweep(), this.limitsValue.cleanupIntervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Enable Profiling: opens (or refreshes) the slot for a workload key. */
  open(workload: WorkloadId): Slot {
    const now = this.clock();
    let slot = this.slots.get(workload.key);
    if (slot) {
      this.touchSlot(slot, now);
      return slot;
    }
    while (this.slots.size >= this.limitsValue.maxSlots) this.evictOldest('lru');
    slot = new Slot(workload, now, this.limitsValue.slotMaxBytes);
    this.slots.set(workload.key, slot);
    this.sources.ensure(workload, now);
    this.slotSetChanged();
    return slot;
  }

  /** Closes a slot and frees its buffer; false when there was none. */
  close(key: string): boolean {
    const existed = this.slots.delete(key);
    if (existed) {
      this.counters.evictions.closed++;
      this.emit(key);
      this.slotSetChanged();
    }
    return existed;
  }

  slot(key: string): Slot | undefined {
    return this.slots.get(key);
  }

  /** A view of the slot: refreshes its TTL and LRU position. */
  touch(key: string): Slot | undefined {
    const slot = this.slots.get(key);
    if (slot) this.touchSlot(slot, this.clock());
    return slot;
  }

  private touchSlot(slot: Slot, now: number): void {
    slot.lastViewedAt = now;
    this.slots.delete(slot.key);
    this.slots.set(slot.key, slot);
  }

  /**
   * The profile of one type of an active slot (a view: refreshes TTL and LRU): a ProfileType,
   * or a type key the slot must hold (see `typeOf`); CPU when omitted. (The API's default,
   * which falls back to another type, is `typeOf` without a key.)
   */
  profile(key: string, window: { from?: number; to?: number } = {}, type: string | ProfileType = CPU): WorkloadProfile {
    const slot = this.touch(key);
    if (!slot) throw new StoreError('SLOT_NOT_FOUND', `no active profiling slot for ${key}; enable profiling first`);
    return slot.profile(typeof type === 'object' ? type : this.typeOf([key], type), window.from, window.to);
  }

  /** The profile types an active slot holds data of, CPU first (no view: TTL and LRU stay). */
  types(key: string): TypeSummary[] {
    const slot = this.slots.get(key);
    if (!slot) throw new StoreError('SLOT_NOT_FOUND', `no active profiling slot for ${key}; enable profiling first`);
    return slot.types();
  }

  /**
   * The profile type a query over the slots `keys` shows: the one `requested` names, which one
   * of them must hold (CPU is always allowed: an empty CPU profile is an answer); omitted, CPU
   * when one of them has CPU data, else the first type the first of them has. An unknown type
   * is a StoreError whose message lists the types there are.
   */
  typeOf(keys: string[], requested?: string): ProfileType {
    keys = [...new Set(keys)];
    const held: TypeSummary[] = [];
    for (const key of keys) for (const t of this.types(key)) if (!held.some((h) => h.type.key === t.type.key)) held.push(t);
    if (requested === undefined) return held.find((t) => t.type.key === CPU.key)?.type ?? held[0]?.type ?? CPU;
    if (requested === CPU.key) return CPU;
    const found = held.find((t) => t.type.key === requested);
    if (found) return found.type;
    const there = held.length > 0 ? held.map((t) => `${t.type.key} (${t.type.label})`).join(', ') : 'none yet';
    throw new StoreError('UNKNOWN_TYPE', `type=${JSON.stringify(requested)}: no such profile type in ${keys.join(' or ')}; types there: ${there}`);
  }

  /**
   * Removes slots not viewed for the TTL, and sources unseen for their retention (sources.ts,
   * `sourceRetentionMs`: 2 minutes for a bare process, 15 for the others) unless they have a
   * slot; returns the keys of the slots swept.
   */
  sweep(): string[] {
    const now = this.clock();
    const ttlMs = this.limitsValue.slotTtlSeconds * 1000;
    const swept: string[] = [];
    for (const slot of [...this.slots.values()]) {
      if (now - slot.lastViewedAt >= ttlMs) {
        this.slots.delete(slot.key);
        this.counters.evictions.ttl++;
        swept.push(slot.key);
        this.emit(slot.key);
      }
    }
    if (swept.length > 0) this.slotSetChanged();
    this.sources.prune(now);
    return swept;
  }

  /** Changes limits at run time; fewer slots, bytes or sources prune at once (LRU first, oldest chunks first, longest unseen first). */
  setLimits(partial: Partial<StoreLimits>): StoreLimits {
    const parsed = partialLimitsSchema.safeParse(partial);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new StoreError('BAD_LIMITS', `${issue.path.join('.') || 'body'}: ${issue.message}`);
    }
    const before = this.limitsValue.cleanupIntervalSeconds;
    this.limitsValue = { ...this.limitsValue, ...parsed.data };
    while (this.slots.size > this.limitsValue.maxSlots) this.evictOldest('lru');
    for (const slot of this.slots.values()) {
      const dropped = slot.resize(this.limitsValue.slotMaxBytes);
      this.counters.dropped.byteCapChunks += dropped;
      if (dropped > 0) this.emit(slot.key);
    }
    this.sources.trim();
    if (this.timer && before !== this.limitsValue.cleanupIntervalSeconds) this.start();
    return this.limits;
  }

  private evictOldest(reason: 'lru'): void {
    const first = this.slots.keys().next();
    if (first.done) return;
    this.slots.delete(first.value);
    this.counters.evictions[reason]++;
    this.emit(first.value);
    this.slotSetChanged();
  }

  /**
   * The store as a pipeline consumer: split per workload, keep the parts that have slots. A
   * received batch comes with its protobuf bytes and their WireRequest; one made of messages
   * (a consumer upstream that built it) is encoded once.
   */
  async consume(batch: ProfilesBatch): Promise<ConsumeResult> {
    if (batch.encoded) return this.ingestEncoded(batch.encoded, batch.wire);
    return this.ingestEncoded(encodeRequest(batch.request));
  }

  /**
   * Keeps each workload's part of a request in its slot: the request's protobuf encoding, with
   * its WireRequest as the receiver read and validated it (read and validated here when not
   * given; bad input throws OtlpInputError). Each workload's chunk is cut from the received
   * bytes by copying the entries it uses (`WireChunker`), and its samples are aggregated from
   * the columns already read; a request of one workload is stored as received, without working
   * out which entries it uses (those it does not are kept too, and counted in the slot's bytes).
   * No message objects are built.
   */
  ingestEncoded(encoded: Uint8Array, wire: WireRequest = readRequest(encoded, 'protobuf').wire): ConsumeResult {
    const now = this.clock();
    const split = new RequestSplit(encoded, wire);
    let rejected = 0;
    const messages: string[] = [];
    const accepted = new Map<string, { slot: Slot; bytes: Uint8Array }>();
    for (const [key, part] of split.workloads) {
      this.sources.countWire(part.workload, part.parts, wire, now);
      const slot = this.slots.get(key);
      if (!slot) {
        this.counters.dropped.noSlot += countWireProfiles(part.parts);
        continue;
      }
      // A request of one workload is kept as received, dictionary entries it does not use and
      // all (they count against the slot's byte cap as the bytes they are); a shared one is cut
      // into chunks. The bytes are copied into the slot's arena: neither the received buffer nor
      // the chunker's output is kept.
      const kept = split.bytesOf(part);
      if (kept.byteLength > this.limitsValue.slotMaxBytes) {
        this.counters.dropped.chunkTooLarge++;
        rejected += countWireProfiles(part.parts);
        messages.push(`${key}: chunk of ${kept.byteLength} bytes exceeds the slot cap of ${this.limitsValue.slotMaxBytes}`);
        continue;
      }
      accepted.set(key, { slot, bytes: kept });
    }
    if (accepted.size > 0) {
      // One pass over the request for every slot: shared stacks are resolved once.
      const aggs = aggregateWireTypes(wire, { treesOf: (key) => accepted.get(key)?.slot });
      for (const [key, { slot, bytes }] of accepted) {
        if (!this.keep(slot, bytes, aggs.get(key), now)) continue;
        this.emit(key);
      }
    }
    return rejected > 0 ? { rejectedProfiles: rejected, errorMessage: messages.join('; ') } : ACCEPTED;
  }

  /**
   * Adds a workload's chunk, aggregated into its slot, and counts what did not fit: profiles
   * skipped (by reason) and chunks dropped at the byte cap. Returns whether the chunk was kept
   * (false when it holds no samples of any type).
   */
  private keep(slot: Slot, bytes: Uint8Array, agg: WorkloadProfiles | undefined, now: number): boolean {
    if (agg) addSkipCounts(this.counters.skipped, agg.skipped);
    const kept = slot.addAggregated(bytes, agg, now) !== undefined;
    this.counters.dropped.byteCapChunks += slot.takeDropped();
    return kept;
  }

  /**
   * The workloads that have a slot, for gateways: they forward only these workloads' data
   * (pipeline-api.ts). The token changes whenever the set does and is never reused by another
   * process.
   */
  subscription(): SubscriptionResponse {
    return { token: `${this.instance}.${this.slotSetVersion}`, workloads: [...this.slots.keys()] };
  }

  /** Calls `listener` whenever a slot opens or goes. */
  onSlotSetChange(listener: () => void): () => void {
    this.slotSetEvents.on('change', listener);
    return () => this.slotSetEvents.off('change', listener);
  }

  private slotSetChanged(): void {
    this.slotSetVersion++;
    this.slotSetEvents.emit('change');
  }

  /**
   * A gateway's usage report: CPU time of workloads whose stacks it did not forward (they have
   * no slot), counted into their sources as data would be. Each bucket is named by its start;
   * a time after the store's current bucket counts in it, one older than the ring is dropped.
   */
  addUsage(sources: readonly UsageSource[]): void {
    this.sources.addUsage(sources, this.clock());
  }

  /** A source as the API shows it, CPU over the last minute and the last five included. */
  sourceInfo(key: string, now = this.clock()): SourceInfo | undefined {
    const src = this.sources.get(key);
    const slot = this.slots.get(key);
    const workload = src?.workload ?? slot?.workload;
    if (!workload) return undefined;
    return {
      key,
      namespace: workload.namespace,
      kind: workload.kind,
      name: workload.name,
      lastSeenAt: src?.lastSeenAt ?? slot!.openedAt,
      cpuCores: src ? src.cpu.cores(now) : 0,
      cpuSeries: src ? src.cpu.series(now) : emptyCpuSeries(),
      profiling: slot
        ? {
            active: true,
            bytes: slot.bytes,
            chunks: slot.chunks.length,
            samples: slot.samples,
            lastDataAt: slot.lastDataAt,
            expiresAt: slot.lastViewedAt + this.limitsValue.slotTtlSeconds * 1000,
          }
        : { active: false, bytes: 0, chunks: 0, samples: 0, lastDataAt: null, expiresAt: null },
    };
  }

  /**
   * Every source still retained (aged exactly, whether or not the sweep has run since) and every
   * source with a slot, by key.
   */
  listSources(): SourceInfo[] {
    const now = this.clock();
    const keys = new Set<string>(this.slots.keys());
    for (const key of this.sources.retainedKeys(now)) keys.add(key);
    return [...keys].map((k) => this.sourceInfo(k, now)!).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  stats(): SlotsResponse {
    let bytes = 0;
    let chunks = 0;
    for (const s of this.slots.values()) {
      bytes += s.bytes;
      chunks += s.chunks.length;
    }
    return {
      limits: this.limits,
      usage: { slots: this.slots.size, bytes, chunks, sources: this.sources.size },
      evictions: { ...this.counters.evictions },
      sourcesTrimmed: this.sources.trimmed,
      dropped: { ...this.counters.dropped },
      skippedProfiles: { ...this.counters.skipped },
    };
  }

  slotEvent(key: string): SlotEvent {
    const slot = this.slots.get(key);
    return {
      key,
      bytes: slot?.bytes ?? 0,
      chunks: slot?.chunks.length ?? 0,
      samples: slot?.samples ?? 0,
      lastDataAt: slot?.lastDataAt ?? null,
    };
  }

  /** Calls `listener` whenever the slot for `key` changes (data, trim, close, eviction). */
  subscribe(key: string, listener: () => void): () => void {
    this.events.on(key, listener);
    return () => this.events.off(key, listener);
  }

  private emit(key: string): void {
    this.events.emit(key);
  }
}
