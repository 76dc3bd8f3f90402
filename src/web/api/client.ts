import type { SourcesQuery } from '../../api/source-query.js';
import {
  diffPath,
  sourcePath,
  type ApiError,
  type DiffQuery,
  type DiffResponse,
  type SlotResponse,
  type SourcesResponse,
  type TimelineResponse,
} from '../../api/types.js';

/** A failed API call, with the server's error code when it sent one. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...init?.headers } });
  } catch (err) {
    throw new ApiCallError(0, 'NETWORK', `cannot reach the Pilotlight UI server (${(err as Error).message})`);
  }
  if (!res.ok) {
    let body: Partial<ApiError> = {};
    try {
      body = (await res.json()) as ApiError;
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    throw new ApiCallError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? `${res.status} ${res.statusText}`);
  }
  return (await res.json()) as T;
}

/** A query string of the given parameters (those set), with its `?`; '' when none is. */
function query(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const api = {
  sources: (q: SourcesQuery, signal?: AbortSignal) =>
    call<SourcesResponse>(
      `/api/sources${query({ q: q.q || undefined, state: q.state === 'all' ? undefined : q.state, sort: q.sort?.key, dir: q.sort?.dir, limit: q.limit, keep: q.keep })}`,
      { signal },
    ),
  // The profile itself: api/profileFetch.ts (ETag, binary form).
  timeline: (key: string, stepSeconds: number, signal?: AbortSignal, type?: string) =>
    call<TimelineResponse>(`${sourcePath(key)}/timeline${query({ step: stepSeconds, type })}`, { signal }),
  diff: (q: DiffQuery, signal?: AbortSignal) => call<DiffResponse>(diffPath(q), { signal }),
  enable: (key: string) => call<SlotResponse>(`${sourcePath(key)}/profiling`, { method: 'POST' }),
  disable: (key: string) => call<SlotResponse>(`${sourcePath(key)}/profiling`, { method: 'DELETE' }),
  eventsUrl: (key: string) => `${sourcePath(key)}/events`,
  /** The pprof download of what the tab shows: its profile type and, when one is selected, its range. */
  pprofUrl: (key: string, type?: string, range?: { from: number; to: number } | null) =>
    `${sourcePath(key)}/profile.pb.gz${query({ type, from: range?.from, to: range?.to })}`,
};
