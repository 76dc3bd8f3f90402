// The HTTP API between the UI server and the web app: one definition, used by both sides.
import type { DiffFlameGraph, DiffSymbolRow } from '../profile/diff.js';
import type { FlameGraph } from '../profile/flame.js';
import type { SymbolRow } from '../profile/symbols.js';
import type { UnsymbolizedRow } from '../profile/unsymbolized.js';

export type { DiffFlameGraph, DiffSymbolRow, UnsymbolizedRow };

export interface StoreLimits {
  maxSlots: number;
  slotTtlSeconds: number;
  slotMaxBytes: number;
  cleanupIntervalSeconds: number;
  /** Most sources the Sources list remembers; past it the longest unseen without a slot goes. */
  maxSources: number;
}

export interface SlotStatus {
  /** True while a slot is open for this source (after Enable Profiling). */
  active: boolean;
  /** Raw OTLP chunk bytes held, and how many chunks. */
  bytes: number;
  chunks: number;
  /** Samples held in the slot, every profile type: sampled events (CPU samples, off-CPU events, …). */
  samples: number;
  /** ms since epoch of the newest data, or null. */
  lastDataAt: number | null;
  /** ms since epoch when the slot expires unless viewed, or null without a slot. */
  expiresAt: number | null;
}

export interface SourceInfo {
  key: string;
  namespace: string;
  kind: string;
  name: string;
  /** ms since epoch when data for this source last arrived (slot or not). */
  lastSeenAt: number;
  /**
   * CPU the source used over the last minute, in cores (CPU seconds per second): the mean of
   * the last CPU_RATE_BUCKETS entries of `cpuSeries`. Counted from every CPU profile the UI
   * receives for the source, profiling enabled or not; samples are placed by their timestamps,
   * else their profile's time window, else their arrival (src/store/cpu.ts).
   */
  cpuCores: number;
  /**
   * Cores used per bucket of CPU_SERIES_STEP_SECONDS, CPU_SERIES_LENGTH of them, oldest first;
   * the last is the newest bucket that is complete (ended a couple of seconds ago, so that
   * data still on its way is in), and buckets with no data are 0.
   */
  cpuSeries: number[];
  profiling: SlotStatus;
}

/** Width of one bucket of SourceInfo.cpuSeries, seconds. */
export const CPU_SERIES_STEP_SECONDS = 10;
/** Buckets in SourceInfo.cpuSeries: five minutes. */
export const CPU_SERIES_LENGTH = 30;
/** The newest buckets of cpuSeries that SourceInfo.cpuCores averages: one minute. */
export const CPU_RATE_BUCKETS = 6;

/**
 * GET /api/sources[?q=&state=&sort=&dir=&limit=&keep=] (src/api/source-query.ts): the sources
 * matching the query in its order, the first `limit` of them (all without), plus every source
 * with a slot and the `keep` one. Without `sort`, in key order; with no parameters, every source.
 */
export interface SourcesResponse {
  sources: SourceInfo[];
  limits: StoreLimits;
  /** Sources the UI holds. */
  total: number;
  /** Sources matching the query's filter and state (more than `sources` holds when cut by `limit`). */
  matched: number;
}

/** POST / DELETE /api/sources/{key}/profiling */
export interface SlotResponse {
  source: SourceInfo;
  limits: StoreLimits;
}

/** A profile type: what samples measure. Key and label come from the sender's sample type (untrusted text). */
export interface ProfileTypeName {
  /** `cpu`, `off_cpu`, or `type:unit` (`alloc_space:bytes`): the `type` query parameter. */
  key: string;
  /** `CPU`, `Off-CPU`, or `type (unit)`. */
  label: string;
  /** What its values measure: `nanoseconds` (show as durations), `count`, `bytes`, or another unit's name. */
  unit: string;
}

/** A profile type a slot holds, and how much of it. */
export interface ProfileTypeInfo extends ProfileTypeName {
  /**
   * Sample values of this type held in the slot (no window), in its sample unit: samples for
   * `cpu` (× periodNanos = CPU time), `unit` for every other type.
   */
  samples: number;
  /** Sampled events of this type held in the slot (CPU samples, off-CPU events, …). */
  events: number;
}

/**
 * GET /api/sources/{key}/profile[?type=KEY][&from=ms&to=ms][&search=text|/regex/]
 * (and profile.pb.gz with the same type/from/to). `type` is a ProfileTypeInfo key; omitted,
 * `cpu` when the slot has CPU data, else the first type it has; a type the slot does not hold
 * is a 400 PL_UI_UNKNOWN_TYPE listing the types it does (`cpu` is always allowed). from/to
 * select samples with from <= t < to; a sample without timestamps is at its profile's
 * time_unix_nano.
 *
 * Revalidation: every answer carries a weak `ETag` naming the slot's data (the slot and the
 * chunks it holds) and the question (type, from/to, search, format), with `Cache-Control:
 * no-cache` and `Vary: Accept, Accept-Encoding`. A request whose `If-None-Match` lists it is
 * answered `304 Not Modified` with no body until the slot gets new data (or drops old data),
 * so a view that polls an unchanged profile costs a few hundred bytes of headers.
 *
 * Formats, by `Accept`: JSON (this interface; the default, for any other Accept), or with
 * `Accept: application/vnd.pilotlight.profile` (PROFILE_MEDIA_TYPE in profile-codec.ts) the
 * same answer in a binary form, gzip'd when `Accept-Encoding` allows it: the frames table's
 * strings once each, the flame graph's node columns and the symbols rows as little-endian
 * numeric columns (u8/u16/u32 relative to the column's minimum, or f64), symbols rows naming
 * their frame by id. `decodeProfile` (profile-codec.ts, the one decoder) turns it into this
 * interface, value for value. Its header names the frames table it used (`framesTable`); a
 * client that passes `frames=TABLE:N` (that table, and the N frames it holds of it) gets only
 * the frames after the first N when the table is still the one the server's profile uses
 * (the table only grows), else all of them. About 1/30 of the JSON's bytes for a live update
 * of a 100k-node profile.
 */
export interface ProfileResponse {
  key: string;
  /** The type shown (samples/events: what the slot holds of it, without the window). */
  type: ProfileTypeInfo;
  /** Every type the slot holds, `cpu` first, then `off_cpu`, then the others by key. */
  profileTypes: ProfileTypeInfo[];
  /**
   * Sample values in the profile (after the window), in the type's sample unit: the flame
   * graph's and the symbols' unit. CPU: samples; other types: `type.unit`.
   */
  samples: number;
  /** CPU time in the profile; 0 for other types. */
  cpuNanos: number;
  /** Nanoseconds per CPU sample (1e9 / hz); 0 when unknown, and for other types. */
  periodNanos: number;
  /** Time bounds of the data in ms since epoch, null when unknown. */
  startMs: number | null;
  endMs: number | null;
  from: number | null;
  to: number | null;
  flame: FlameGraph;
  symbols: SymbolRow[];
  /** Per binary, samples with a frame in it that could not be named (sorted, largest first). */
  unsymbolized: UnsymbolizedRow[];
  /** Present when `search` was given (an invalid regex is a 400 PL_UI_BAD_SEARCH instead). */
  search?: SearchResult;
  /** ms since epoch when this answer was computed. */
  generatedAt: number;
}

/** Search that measures: samples whose stack passes through a matching frame, each once. */
export interface SearchResult {
  query: string;
  matchedSamples: number;
  totalSamples: number;
  /** Distinct frames whose name matches. */
  matchedFrames: number;
}

/** One bucket of the timeline; `t` is its start (ms since epoch, a multiple of the step). */
export interface TimelinePoint {
  t: number;
  samples: number;
  cpuNanos: number;
}

/** GET /api/sources/{key}/timeline?step=SECONDS (default 10)[&type=KEY] (type as for the profile) */
export interface TimelineResponse {
  key: string;
  /** The type shown; points are its sample values (`samples`, as in ProfileResponse) and CPU time. */
  type: ProfileTypeInfo;
  profileTypes: ProfileTypeInfo[];
  /** Bucket width in seconds, as asked. Cores used in a bucket = cpuNanos / (step × 1e9). */
  step: number;
  /** Every bucket from the first sample's to the last's, empty ones included. */
  points: TimelinePoint[];
  /** Samples with no time at all (shown in every range, placed in no bucket). */
  untimedSamples: number;
  periodNanos: number;
  generatedAt: number;
}

/** One side of a diff (samples: sample values in the diff's type's sample unit). */
export interface DiffSide {
  key: string;
  from: number | null;
  to: number | null;
  samples: number;
  cpuNanos: number;
  periodNanos: number;
  startMs: number | null;
  endMs: number | null;
}

/**
 * GET /api/diff?base=KEY&baseFrom=&baseTo=&target=KEY&from=&to=&type= (target defaults to
 * base). Both sides are of one profile type: `type` must be held by either slot (`cpu` always
 * allowed); omitted, `cpu` when either has CPU data, else the target's first type.
 * Shares: a node's change = total / target.samples − baseTotal / base.samples.
 */
export interface DiffResponse {
  type: ProfileTypeName;
  base: DiffSide;
  target: DiffSide;
  flame: DiffFlameGraph;
  symbols: DiffSymbolRow[];
  generatedAt: number;
}

export interface DiffQuery {
  base: string;
  baseFrom?: number;
  baseTo?: number;
  target?: string;
  from?: number;
  to?: number;
  /** A ProfileTypeInfo key. */
  type?: string;
}

export function diffPath(q: DiffQuery): string {
  const p = new URLSearchParams({ base: q.base });
  if (q.baseFrom !== undefined) p.set('baseFrom', String(q.baseFrom));
  if (q.baseTo !== undefined) p.set('baseTo', String(q.baseTo));
  if (q.target !== undefined) p.set('target', q.target);
  if (q.from !== undefined) p.set('from', String(q.from));
  if (q.to !== undefined) p.set('to', String(q.to));
  if (q.type !== undefined) p.set('type', q.type);
  return `/api/diff?${p.toString()}`;
}

/** GET /api/slots */
export interface SlotsResponse {
  limits: StoreLimits;
  /** `sources`: the sources the Sources list remembers (at most `limits.maxSources`). */
  usage: { slots: number; bytes: number; chunks: number; sources: number };
  evictions: { lru: number; ttl: number; closed: number };
  /** Sources forgotten because `limits.maxSources` were remembered (the longest unseen first). */
  sourcesTrimmed: number;
  dropped: { noSlot: number; chunkTooLarge: number; byteCapChunks: number };
  /**
   * Profiles (of workloads with a slot) that went into no profile type, by reason:
   * unreadable_type, missing_type, missing_unit, duplicate_cpu, too_many_types.
   */
  skippedProfiles: Record<string, number>;
}

/** Server-Sent Event `data` on /api/sources/{key}/events (event name `data`). */
export interface SlotEvent {
  key: string;
  bytes: number;
  chunks: number;
  samples: number;
  lastDataAt: number | null;
}

/** Every 4xx/5xx answer. */
export interface ApiError {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

export function sourcePath(key: string): string {
  return `/api/sources/${encodeURIComponent(key)}`;
}
