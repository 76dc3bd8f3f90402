import { nanosToMs64 } from '../otlp/wire/reader.js';
import type { WireProfile, WireRequest, WireResourceProfiles } from '../otlp/wire/request.js';
import { wireTypeNames } from '../profile/aggregate-encoded.js';
import { CPU, classifyProfile, classifyScope, type ProfileClass, type TypeNames } from '../profile/profile-type.js';
import { CPU_RATE_BUCKETS, CPU_SERIES_LENGTH, CPU_SERIES_STEP_SECONDS } from '../api/types.js';

/**
 * CPU time per source, for the Sources list: every source's CPU nanoseconds in buckets of
 * CPU_SERIES_STEP_SECONDS over the last few minutes, counted at ingest from the CPU profiles of
 * every request (whether the source has a profiling slot or not).
 *
 * Which bucket a sample goes into: its own timestamps when it has them; else its profile's time
 * (time_unix_nano), spread evenly over the profile's duration (a sampler's one-second window
 * that straddles a bucket boundary is split between the two buckets); else, with no time at
 * all, the time it arrived (the store's clock). Sample times are the sender's clock, so a source
 * reads the same however late its data arrives (a gateway's retries, a slow export), and the
 * series has no gaps or doubled buckets from the export rhythm. Two guards against a sender's
 * clock: a time after the store's current bucket counts in the current bucket, and a time older
 * than the ring is not counted (it is older than anything the list shows).
 */

/** Width of a bucket, ms. */
export const CPU_BUCKET_MS = CPU_SERIES_STEP_SECONDS * 1000;
/**
 * A bucket is shown once it ended this long ago: data arrives a little after its samples were
 * taken (a sampler exports every second, a gateway forwards), so the newest bucket would read
 * low for a moment if it were shown as soon as it ended.
 */
export const CPU_SETTLE_MS = 2000;
/**
 * Buckets a ring holds: the series, plus the bucket that is settling and the current one (the
 * series ends at most two buckets before the current: see `seriesEnd`).
 */
export const CPU_RING_BUCKETS = CPU_SERIES_LENGTH + 2;
/** Cores are rounded to this in the API (0.0001 core): enough for the list, and short JSON. */
const CORES_PRECISION = 1e4;

/** The bucket a time (ms since the epoch) falls in. */
export function bucketOf(ms: number): number {
  return Math.floor(ms / CPU_BUCKET_MS);
}

/** The newest bucket the series shows at `nowMs`: the last that ended CPU_SETTLE_MS ago or more. */
export function seriesEnd(nowMs: number): number {
  return bucketOf(nowMs - CPU_SETTLE_MS) - 1;
}

/**
 * One source's CPU nanoseconds per bucket: a fixed ring of CPU_RING_BUCKETS buckets (256 bytes),
 * so the store's memory for CPU is bounded by the store's maxSources × the ring. Bucket `b` lives at index
 * `b mod CPU_RING_BUCKETS` while `head - CPU_RING_BUCKETS < b <= head`; `head` is the store clock's
 * bucket at the last add, and moving it on clears the buckets that fall out.
 */
export class CpuRing {
  private readonly nanos = new Float64Array(CPU_RING_BUCKETS);
  private head = -Infinity;

  /** Moves the ring on to bucket `nowBucket` (the store clock's), clearing the buckets it leaves behind. */
  advance(nowBucket: number): void {
    if (nowBucket <= this.head) return;
    if (nowBucket - this.head >= CPU_RING_BUCKETS) this.nanos.fill(0);
    else for (let b = this.head + 1; b <= nowBucket; b++) this.nanos[slotOf(b)] = 0;
    this.head = nowBucket;
  }

  /**
   * Adds `ns` at time `ms` (ms since the epoch), after `advance`: a time after the current
   * bucket counts in it, a time older than the ring (or NaN) is dropped.
   */
  add(ms: number, ns: number): void {
    let b = Math.floor(ms / CPU_BUCKET_MS);
    if (b > this.head) b = this.head;
    else if (!(b > this.head - CPU_RING_BUCKETS)) return; // older than the ring, or NaN
    this.nanos[slotOf(b)] += ns;
  }

  /**
   * Adds `ns` spread evenly over [startMs, endMs) (a profile's window); a window of no length
   * is `add(startMs)`. The part after the current bucket counts in it, the part older than the
   * ring is dropped; at most one step per bucket of the ring, however long the window.
   */
  addSpread(startMs: number, endMs: number, ns: number): void {
    const span = endMs - startMs;
    if (!(span > 0)) {
      this.add(startMs, ns);
      return;
    }
    const headEnd = (this.head + 1) * CPU_BUCKET_MS;
    if (endMs > headEnd) {
      this.nanos[slotOf(this.head)] += (ns * (endMs - Math.max(startMs, headEnd))) / span;
      if (startMs >= headEnd) return;
      endMs = headEnd;
    }
    const oldest = this.head - CPU_RING_BUCKETS + 1;
    const last = Math.ceil(endMs / CPU_BUCKET_MS) - 1;
    for (let b = Math.max(bucketOf(startMs), oldest); b <= last; b++) {
      const overlap = Math.min(endMs, (b + 1) * CPU_BUCKET_MS) - Math.max(startMs, b * CPU_BUCKET_MS);
      if (overlap > 0) this.nanos[slotOf(b)] += (ns * overlap) / span;
    }
  }

  /** CPU nanoseconds in bucket `b` (0 outside the ring's buckets). Reading changes nothing. */
  nanosAt(b: number): number {
    return b <= this.head && b > this.head - CPU_RING_BUCKETS ? this.nanos[slotOf(b)] : 0;
  }

  /** `[bucket start (ms), nanoseconds]` of every bucket of the ring with CPU time, oldest first. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    if (this.head === -Infinity) return out; // nothing added yet
    for (let b = this.head - CPU_RING_BUCKETS + 1; b <= this.head; b++) {
      const ns = this.nanos[slotOf(b)];
      if (ns > 0) out.push([b * CPU_BUCKET_MS, ns]);
    }
    return out;
  }

  /** Cores per bucket, CPU_SERIES_LENGTH of them ending at `seriesEnd(nowMs)`, oldest first. */
  series(nowMs: number): number[] {
    const end = seriesEnd(nowMs);
    const out = new Array<number>(CPU_SERIES_LENGTH);
    for (let i = 0; i < CPU_SERIES_LENGTH; i++) out[i] = roundCores(this.nanosAt(end - CPU_SERIES_LENGTH + 1 + i) / (CPU_BUCKET_MS * 1e6));
    return out;
  }

  /** Cores over the newest CPU_RATE_BUCKETS buckets of the series (one minute). */
  cores(nowMs: number): number {
    const end = seriesEnd(nowMs);
    let ns = 0;
    for (let b = end - CPU_RATE_BUCKETS + 1; b <= end; b++) ns += this.nanosAt(b);
    return roundCores(ns / (CPU_RATE_BUCKETS * CPU_BUCKET_MS * 1e6));
  }
}

/** A bucket's index in the ring (a clock before the epoch gives negative buckets). */
function slotOf(b: number): number {
  const i = b % CPU_RING_BUCKETS;
  return i < 0 ? i + CPU_RING_BUCKETS : i;
}

function roundCores(cores: number): number {
  return Math.round(cores * CORES_PRECISION) / CORES_PRECISION;
}

/** A series of no CPU (a source the store does not know). */
export function emptyCpuSeries(): number[] {
  return new Array<number>(CPU_SERIES_LENGTH).fill(0);
}

/**
 * Counts the CPU time of one workload's resources of a WireRequest into its ring, from the
 * sample columns the reader filled (no messages). Profiles are classified as aggregation does
 * (`classifyScope`): counted CPU samples are worth their profile's period each (none when it
 * has no period), `cpu`/`nanoseconds` values are CPU time as they are, a scope's duplicate
 * nanosecond profiles are not counted twice, and other types are not CPU.
 */
export function countWireCpu(ring: CpuRing, parts: readonly WireResourceProfiles[], wire: WireRequest, nowMs: number): void {
  ring.advance(bucketOf(nowMs));
  const d = wire.dictionary;
  const s = wire.samples;
  const names: TypeNames[] = [];
  for (const rp of parts) {
    for (const sp of rp.scopes) {
      const profiles = sp.profiles;
      if (profiles.length === 1) {
        const p = profiles[0];
        // One profile alone in its scope (a sampler's usual shape): no scope rule applies.
        if (p.sampleEnd > p.sampleStart) addWireProfile(ring, p, classifyProfile(wireTypeNames(p, d)), s, nowMs);
        continue;
      }
      names.length = 0;
      for (const p of profiles) names.push(wireTypeNames(p, d));
      const classes = classifyScope(names);
      for (let i = 0; i < profiles.length; i++) addWireProfile(ring, profiles[i], classes[i], s, nowMs);
    }
  }
}

function addWireProfile(ring: CpuRing, p: WireProfile, c: ProfileClass, s: WireRequest['samples'], nowMs: number): void {
  if (!('type' in c) || c.type !== CPU || p.sampleEnd === p.sampleStart) return;
  const valued = c.cpuNanosValued;
  const period = p.period;
  if (!valued && !(period > 0)) return;
  const perValue = valued ? 1 : period;
  const values = s.values.a;
  const tsMs = s.tsMs.a;
  const valueStart = s.valueStart.a;
  const valueCount = s.valueCount.a;
  const tsStart = s.tsStart.a;
  const tsCount = s.tsCount.a;
  let untimed = 0;
  for (let row = p.sampleStart; row < p.sampleEnd; row++) {
    const nts = tsCount[row];
    const nv = valueCount[row];
    const v0 = valueStart[row];
    if (nts > 0) {
      // Values pair with timestamps by index (validated); without values each timestamp is one sample.
      const t0 = tsStart[row];
      for (let i = 0; i < nts; i++) ring.add(tsMs[t0 + i], (nv > 0 ? values[v0 + i] : 1) * perValue);
    } else if (nv === 0) {
      untimed += 1;
    } else {
      for (let i = 0; i < nv; i++) untimed += values[v0 + i];
    }
  }
  if (untimed === 0) return;
  if ((p.timeLo | p.timeHi) !== 0) {
    const startMs = nanosToMs64(p.timeLo, p.timeHi);
    ring.addSpread(startMs, startMs + nanosToMs64(p.durationLo, p.durationHi), untimed * perValue);
  } else {
    ring.add(nowMs, untimed * perValue);
  }
}
