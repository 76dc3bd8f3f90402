import { sourcePath, type ApiError, type ProfileResponse } from '../../api/types.js';
import { PROFILE_MEDIA_TYPE, decodeProfileAsync } from '../../api/profile-codec.js';
import { ApiCallError } from './client.js';
import { yieldToMain } from '../scheduling.js';

/**
 * `localStorage[PROFILE_FORMAT_FLAG] = 'json'` (then reload) makes the web app handle live
 * updates as it did before: the whole profile as JSON on every update without an ETag, parsed,
 * rendered and the table sorted in one go. A debugging switch, and the same-run baseline of
 * bench/live.bench.ts.
 */
export const PROFILE_FORMAT_FLAG = 'pilotlight.profileFormat';

let format: 'binary' | 'json' | undefined;

/** The format the page was loaded with (the flag is read once). */
export function profileFormat(): 'binary' | 'json' {
  if (format === undefined) {
    try {
      format = globalThis.localStorage?.getItem(PROFILE_FORMAT_FLAG) === 'json' ? 'json' : 'binary';
    } catch {
      format = 'binary';
    }
  }
  return format;
}

/** A profile the client holds, with what it needs to ask for the next one cheaply. */
export interface HeldProfile {
  profile: ProfileResponse;
  /** The server's ETag for it: sent back as If-None-Match, answered 304 while nothing changed. */
  etag: string | null;
  /** The frames table its frames came from (binary form): the next answer sends only new frames. */
  framesTable: string | null;
}

export interface ProfileQuery {
  type?: string;
  range?: { from: number; to: number } | null;
}

/** Where the time of one fetch went (ms), for the performance marks useProfile leaves. */
export interface FetchTiming {
  /** Request sent → body read (network and server; the browser un-gzips off the main thread). */
  fetchMs: number;
  /** Body → ProfileResponse (binary decode or JSON.parse), on the main thread: wall time (the binary decode yields between slices). */
  decodeMs: number;
  /** Bytes of the body after Content-Encoding. */
  bytes: number;
  status: number;
}

/**
 * GET the profile of `key`. With `held` (the profile shown now) the request carries its ETag,
 * and a 304 gives `held` back unchanged (the same object: nothing to render); else the binary
 * form is decoded, continuing `held`'s frames table when the server sent only its new frames.
 */
export async function fetchProfile(
  key: string,
  query: ProfileQuery,
  held: HeldProfile | null,
  signal?: AbortSignal,
  timing?: (t: FetchTiming) => void,
): Promise<HeldProfile> {
  const format = profileFormat();
  const params = new URLSearchParams();
  if (query.type !== undefined) params.set('type', query.type);
  if (query.range) {
    params.set('from', String(query.range.from));
    params.set('to', String(query.range.to));
  }
  const headers: Record<string, string> = { accept: format === 'binary' ? `${PROFILE_MEDIA_TYPE}, application/json;q=0.5` : 'application/json' };
  if (format === 'binary' && held?.etag) headers['if-none-match'] = held.etag;
  if (format === 'binary' && held?.framesTable) params.set('frames', `${held.framesTable}:${held.profile.flame.frames.name.length}`);
  const qs = params.toString();
  const t0 = performance.now();
  let res: Response;
  try {
    // With If-None-Match set by hand, fetch passes a 304 through instead of answering from
    // the HTTP cache, so "nothing changed" costs no body and no decoding.
    res = await fetch(`${sourcePath(key)}/profile${qs ? `?${qs}` : ''}`, { signal, headers });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiCallError(0, 'NETWORK', `cannot reach the Pilotlight UI server (${(err as Error).message})`);
  }
  if (res.status === 304 && held) {
    timing?.({ fetchMs: performance.now() - t0, decodeMs: 0, bytes: 0, status: 304 });
    return held;
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
  const etag = format === 'binary' ? res.headers.get('etag') : null;
  if ((res.headers.get('content-type') ?? '').startsWith(PROFILE_MEDIA_TYPE)) {
    const bytes = await res.arrayBuffer();
    const t1 = performance.now();
    let decoded;
    try {
      decoded = await decodeProfileAsync(bytes, held?.framesTable ? { table: held.framesTable, frames: held.profile.flame.frames } : null, yieldToMain);
    } catch (err) {
      // An answer that continues frames this client no longer has (it cannot, unless held
      // changed under us): ask once more for all of it.
      if (held) return fetchProfile(key, query, null, signal, timing);
      throw err;
    }
    timing?.({ fetchMs: t1 - t0, decodeMs: performance.now() - t1, bytes: bytes.byteLength, status: res.status });
    return { profile: decoded.profile, etag, framesTable: decoded.framesTable };
  }
  const text = await res.text();
  const t1 = performance.now();
  const profile = JSON.parse(text) as ProfileResponse;
  timing?.({ fetchMs: t1 - t0, decodeMs: performance.now() - t1, bytes: text.length, status: res.status });
  return { profile, etag, framesTable: null };
}
