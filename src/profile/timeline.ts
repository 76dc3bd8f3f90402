import { nanosToMs64 } from '../otlp/wire/reader.js';
import { readWireRequest, type WireRequest } from '../otlp/wire/request.js';
import { wireTypeNames } from './aggregate-encoded.js';
import { CPU, classifyScope, type TypeNames } from './profile-type.js';

/**
 * One profile type over time from a slot's chunks (CPU samples and time, off-CPU time, bytes,
 * …: sample values in the type's sample unit, as aggregation adds them). A sample counts at
 * each of its timestamps; a sample without timestamps counts at its profile's
 * `time_unix_nano` — the same rule the time-window filter of the aggregation uses, so a
 * timeline range's buckets add up to exactly what a profile query for that range returns.
 * Samples with no time at all are counted apart.
 */
export interface TimelinePoint {
  /** Start of the bucket, ms since the epoch (a multiple of the step). */
  t: number;
  samples: number;
  cpuNanos: number;
}

export interface Timeline {
  /** Bucket width in ms. */
  stepMs: number;
  /** Every bucket from the first sample's to the last's, empty ones included. */
  points: TimelinePoint[];
  /** Sample values and CPU time that carry no time (neither timestamps nor a profile time). */
  untimedSamples: number;
  untimedNanos: number;
  /** Nanoseconds per sample of the last CPU profile seen; 0 when unknown, and for other types. */
  periodNanos: number;
}

/**
 * One chunk's events: (ms, samples, nanos) triples in the order they appear. Chunks never
 * change once stored, so this is computed once per chunk and cached by its bytes.
 */
export interface ChunkTimes {
  ms: Float64Array;
  samples: Float64Array;
  nanos: Float64Array;
  untimedSamples: number;
  untimedNanos: number;
  periodNanos: number;
}

const cache = new WeakMap<Uint8Array, Map<string, ChunkTimes>>();
const NO_TIMES: ChunkTimes = Object.freeze({
  ms: new Float64Array(0),
  samples: new Float64Array(0),
  nanos: new Float64Array(0),
  untimedSamples: 0,
  untimedNanos: 0,
  periodNanos: 0,
});

/** The events of one profile type (a ProfileType key) in an encoded (already validated) request, cached per byte array. */
export function chunkTimes(bytes: Uint8Array, type: string = CPU.key): ChunkTimes {
  let t = cache.get(bytes);
  if (!t) {
    t = requestTimesByType(readWireRequest(bytes));
    cache.set(bytes, t);
  }
  return t.get(type) ?? NO_TIMES;
}

/** Events of one profile type (a ProfileType key) in a wire request (all workloads). */
export function requestTimes(req: WireRequest, type: string = CPU.key): ChunkTimes {
  return requestTimesByType(req).get(type) ?? NO_TIMES;
}

/**
 * Events of every profile of a wire request (all workloads), by profile type key. Types and
 * values follow aggregation exactly (profile-type.ts): samples are in the type's sample unit,
 * nanos are CPU time; skipped profiles have no events.
 */
export function requestTimesByType(req: WireRequest): Map<string, ChunkTimes> {
  const byType = new Map<string, { ms: number[]; samples: number[]; nanos: number[]; untimedSamples: number; untimedNanos: number; periodNanos: number }>();
  const d = req.dictionary;
  const s = req.samples;
  const names: TypeNames[] = [];
  for (const rp of req.resourceProfiles) {
    for (const sp of rp.scopes) {
      names.length = 0;
      for (const p of sp.profiles) names.push(wireTypeNames(p, d));
      const classes = classifyScope(names);
      for (let k = 0; k < sp.profiles.length; k++) {
        const c = classes[k];
        if ('skip' in c) continue;
        const p = sp.profiles[k];
        let out = byType.get(c.type.key);
        if (!out) {
          out = { ms: [], samples: [], nanos: [], untimedSamples: 0, untimedNanos: 0, periodNanos: 0 };
          byType.set(c.type.key, out);
        }
        const { ms, samples, nanos } = out;
        const cpu = c.type.key === CPU.key;
        const period = p.period;
        if (cpu && period > 0) out.periodNanos = period;
        const valued = c.cpuNanosValued;
        // A count of events (or values) → samples and nanos, as aggregation converts it.
        const toSamples = (count: number): number => (valued ? (period > 0 ? count / period : 0) : count);
        const toNanos = (count: number): number => (!cpu ? 0 : valued ? count : count * period);
        const profileMs = (p.timeLo | p.timeHi) !== 0 ? nanosToMs64(p.timeLo, p.timeHi) : NaN;
        let untimedCount = 0;
        for (let row = p.sampleStart; row < p.sampleEnd; row++) {
          const nv = s.valueCount.a[row];
          const v0 = s.valueStart.a[row];
          const nts = s.tsCount.a[row];
          if (nts > 0) {
            const t0 = s.tsStart.a[row];
            for (let i = 0; i < nts; i++) {
              const count = nv > 0 ? s.values.a[v0 + i] : 1;
              if (count === 0) continue;
              ms.push(s.tsMs.a[t0 + i]);
              samples.push(toSamples(count));
              nanos.push(toNanos(count));
            }
          } else if (nv === 0) {
            untimedCount += 1;
          } else {
            for (let i = 0; i < nv; i++) untimedCount += s.values.a[v0 + i];
          }
        }
        if (untimedCount === 0) continue;
        if (Number.isNaN(profileMs)) {
          out.untimedSamples += toSamples(untimedCount);
          out.untimedNanos += toNanos(untimedCount);
        } else {
          ms.push(profileMs);
          samples.push(toSamples(untimedCount));
          nanos.push(toNanos(untimedCount));
        }
      }
    }
  }
  const result = new Map<string, ChunkTimes>();
  for (const [key, t] of byType) {
    result.set(key, {
      ms: Float64Array.from(t.ms),
      samples: Float64Array.from(t.samples),
      nanos: Float64Array.from(t.nanos),
      untimedSamples: t.untimedSamples,
      untimedNanos: t.untimedNanos,
      periodNanos: t.periodNanos,
    });
  }
  return result;
}

export interface TimelineOptions {
  /** Bucket width in ms (> 0). */
  stepMs: number;
  /** At most this many buckets; more throws a RangeError that says which step would fit. */
  maxPoints?: number;
}

export const DEFAULT_MAX_POINTS = 10_000;

/**
 * Buckets the events of `chunks` by `stepMs`. Buckets start at multiples of the step since
 * the epoch, so they stay put as new data arrives.
 */
export function timeline(chunks: Iterable<ChunkTimes>, opts: TimelineOptions): Timeline {
  const step = opts.stepMs;
  if (!(step > 0) || !Number.isFinite(step)) throw new RangeError(`step must be a positive number of ms, got ${step}`);
  const list = [...chunks];
  let lo = Infinity;
  let hi = -Infinity;
  let untimedSamples = 0;
  let untimedNanos = 0;
  let periodNanos = 0;
  for (const c of list) {
    for (let i = 0; i < c.ms.length; i++) {
      const m = c.ms[i];
      if (m < lo) lo = m;
      if (m > hi) hi = m;
    }
    untimedSamples += c.untimedSamples;
    untimedNanos += c.untimedNanos;
    if (c.periodNanos > 0) periodNanos = c.periodNanos;
  }
  const out: Timeline = { stepMs: step, points: [], untimedSamples, untimedNanos, periodNanos };
  if (lo === Infinity) return out;
  const first = Math.floor(lo / step);
  const n = Math.floor(hi / step) - first + 1;
  const max = opts.maxPoints ?? DEFAULT_MAX_POINTS;
  if (n > max) {
    const fits = Math.ceil((hi - lo) / (max - 1));
    throw new RangeError(`a step of ${step} ms makes ${n} buckets over the data's ${hi - lo} ms (at most ${max}); use a step of at least ${fits} ms`);
  }
  const samples = new Float64Array(n);
  const nanos = new Float64Array(n);
  for (const c of list) {
    for (let i = 0; i < c.ms.length; i++) {
      const b = Math.floor(c.ms[i] / step) - first;
      samples[b] += c.samples[i];
      nanos[b] += c.nanos[i];
    }
  }
  for (let b = 0; b < n; b++) out.points.push({ t: (first + b) * step, samples: samples[b], cpuNanos: nanos[b] });
  return out;
}
