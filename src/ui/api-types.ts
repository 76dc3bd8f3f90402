// The HTTP API between the UI server and the web app: one definition, used by both sides.
import type { FlameGraph } from '../profile/flame.js';
import type { SymbolRow } from '../profile/symbols.js';

export interface StoreLimits {
  maxSlots: number;
  slotTtlSeconds: number;
  slotMaxBytes: number;
  cleanupIntervalSeconds: number;
}

export interface SlotStatus {
  /** True while a slot is open for this source (after Enable Profiling). */
  active: boolean;
  /** Raw OTLP chunk bytes held, and how many chunks. */
  bytes: number;
  chunks: number;
  /** Samples held in the slot. */
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
  profiling: SlotStatus;
}

/** GET /api/sources */
export interface SourcesResponse {
  sources: SourceInfo[];
  limits: StoreLimits;
}

/** POST / DELETE /api/sources/{key}/profiling */
export interface SlotResponse {
  source: SourceInfo;
  limits: StoreLimits;
}

/** GET /api/sources/{key}/profile[?from=ms&to=ms] */
export interface ProfileResponse {
  key: string;
  /** Samples and CPU time in the profile (after the window). */
  samples: number;
  cpuNanos: number;
  /** Nanoseconds per sample (1e9 / hz); 0 when unknown. */
  periodNanos: number;
  /** Time bounds of the data in ms since epoch, null when unknown. */
  startMs: number | null;
  endMs: number | null;
  from: number | null;
  to: number | null;
  flame: FlameGraph;
  symbols: SymbolRow[];
  /** ms since epoch when this answer was computed. */
  generatedAt: number;
}

/** GET /api/slots */
export interface SlotsResponse {
  limits: StoreLimits;
  usage: { slots: number; bytes: number; chunks: number };
  evictions: { lru: number; ttl: number; closed: number };
  dropped: { noSlot: number; chunkTooLarge: number; byteCapChunks: number };
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
