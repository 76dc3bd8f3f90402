import { startTransition, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ProfileResponse, SlotEvent } from '../../api/types.js';
import { ApiCallError, api } from '../api/client.js';
import { fetchProfile, profileFormat, type FetchTiming, type HeldProfile } from '../api/profileFetch.js';
import { layoutFlame } from '../flame/layout.js';
import { yieldToMain } from '../scheduling.js';

export type Transport = 'sse' | 'polling' | 'off';

export interface ProfileState {
  profile: ProfileResponse | null;
  error: string | null;
  /** The server's error code with `error` (PL_UI_UNKNOWN_TYPE, …), else null. */
  errorCode: string | null;
  /** Local time the current profile arrived (the browser's clock, so "n s ago" is honest). */
  receivedAt: number | null;
  loading: boolean;
  transport: Transport;
  refresh: () => void;
}

/** A profile is a full recomputation on the server: live updates ask for one at most this often (or less, see `gap`). */
const MIN_FETCH_GAP_MS = 1000;
const POLL_MS = 2000;
/** EventSource reconnects on its own; after this many failures in a row, poll instead. */
const MAX_SSE_FAILURES = 3;

/**
 * The profile of one source, of one profile type (`type`, a key; undefined: the slot's
 * default). When `live`, a Server-Sent Events stream says when the slot got
 * new data and the profile is fetched again (coalesced: at most once a second, and no more
 * often than twice what the last fetch took); where the stream fails (a proxy that buffers,
 * an old server) it falls back to polling.
 *
 * A refetch sends the shown profile's ETag, so one that finds nothing new is a 304 without a
 * body and keeps the same profile object (nothing re-renders); new data comes in the binary
 * form with only the frames the client lacks (api/profileFetch.ts), is decoded in slices,
 * laid out in a task of its own, and rendered as a transition. Each fetch leaves performance
 * measures `pilotlight:profile-fetch`, `-decode`, `-layout` and `-render` (state set → the tab
 * committed), which bench/live.bench.ts reads.
 */
export function useProfile(
  key: string,
  active: boolean,
  live: boolean,
  onClosed: () => void,
  onSlot?: (e: SlotEvent) => void,
  range: { from: number; to: number } | null = null,
  type?: string,
): ProfileState {
  const rangeFrom = range?.from;
  const rangeTo = range?.to;
  const [profile, setProfile] = useState<ProfileResponse | null>(null);
  const [error, setError] = useState<{ message: string; code: string | null } | null>(null);
  const [receivedAt, setReceivedAt] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [transport, setTransport] = useState<Transport>('off');
  const fetcher = useRef<{ request: (manual?: boolean) => void; cancel: () => void } | null>(null);
  // A live refetch still waiting when Live is switched off is dropped (only Refresh fetches then).
  const liveRef = useRef(live);
  liveRef.current = live;
  const latestSamples = useRef(-1);
  // The profile shown and its ETag / frames table: what the next fetch continues from.
  const held = useRef<HeldProfile | null>(null);
  // performance.now() when a new profile was handed to React, until it has committed.
  const renderStart = useRef<number | null>(null);
  const onClosedRef = useRef(onClosed);
  const onSlotRef = useRef(onSlot);
  useEffect(() => {
    onClosedRef.current = onClosed;
    onSlotRef.current = onSlot;
  }, [onClosed, onSlot]);

  // One fetcher per source: single flight, a request during a fetch runs once after it.
  useEffect(() => {
    if (!active) return;
    let stopped = false;
    let inFlight: AbortController | null = null;
    let again = false;
    let lastStart = 0;
    // A big profile takes the server a while: never ask more often than twice its last cost.
    let gap = MIN_FETCH_GAP_MS;
    let timer: number | undefined;
    let manual = false;
    const run = async (): Promise<void> => {
      timer = undefined;
      if (!manual && !liveRef.current && lastStart > 0) return;
      manual = false;
      inFlight = new AbortController();
      lastStart = Date.now();
      setLoading(true);
      try {
        const range = rangeFrom !== undefined && rangeTo !== undefined ? { from: rangeFrom, to: rangeTo } : null;
        const next = await fetchProfile(key, { type, range }, held.current, inFlight.signal, measureFetch);
        if (stopped) return;
        gap = Math.max(MIN_FETCH_GAP_MS, 2 * (Date.now() - lastStart));
        const res = next.profile;
        latestSamples.current = res.samples;
        const legacy = profileFormat() === 'json';
        if (next !== held.current && !legacy) {
          // The flame graph's layout, a task of its own ahead of the render that needs it
          // (layoutFlame keeps it per graph), so the render's task is that much shorter.
          const t = performance.now();
          layoutFlame(next.profile.flame);
          measure('layout', t, performance.now());
          await yieldToMain();
          if (stopped) return;
        }
        if (next !== held.current) {
          held.current = next;
          renderStart.current = performance.now();
        }
        // A new profile re-renders the graph and the table: as a transition, React renders it
        // in slices between which input (a hover, a click) is handled, rather than in one task.
        // (The `json` debugging format renders in one go: the benchmark's baseline.)
        const at = Date.now();
        const show = (): void => {
          setProfile(res);
          setReceivedAt(at);
          setError(null);
        };
        if (legacy) show();
        else startTransition(show);
      } catch (err) {
        if (stopped || inFlight?.signal.aborted) return;
        setError({ message: (err as Error).message, code: err instanceof ApiCallError ? err.code : null });
      } finally {
        inFlight = null;
        if (!stopped) setLoading(false);
        if (!stopped && again) {
          again = false;
          request(manual);
        }
      }
    };
    const request = (byUser = false): void => {
      if (stopped) return;
      if (byUser) manual = true;
      if (inFlight) {
        again = true;
        return;
      }
      if (timer !== undefined) return;
      timer = window.setTimeout(() => void run(), Math.max(0, lastStart + gap - Date.now()));
    };
    fetcher.current = {
      request,
      cancel: () => {
        stopped = true;
        inFlight?.abort();
        if (timer !== undefined) window.clearTimeout(timer);
      },
    };
    void run();
    return () => fetcher.current?.cancel();
  }, [key, active, rangeFrom, rangeTo, type]);

  // A new profile has been rendered and committed (this runs after the tab's children's
  // layout effects): the end of the `-render` measure.
  useLayoutEffect(() => {
    if (renderStart.current === null) return;
    measure('render', renderStart.current, performance.now());
    renderStart.current = null;
  }, [profile]);

  // Live updates: SSE first, polling when the stream keeps failing.
  useEffect(() => {
    if (!active || !live) {
      setTransport('off');
      return;
    }
    let es: EventSource | null = null;
    let pollId: number | undefined;
    let failures = 0;
    let lastSig = '';
    const startPolling = (): void => {
      es?.close();
      es = null;
      setTransport('polling');
      pollId = window.setInterval(() => fetcher.current?.request(), POLL_MS);
    };
    if (typeof EventSource === 'undefined') {
      startPolling();
    } else {
      es = new EventSource(api.eventsUrl(key));
      setTransport('sse');
      es.addEventListener('data', (ev) => {
        failures = 0;
        const e = JSON.parse((ev as MessageEvent<string>).data) as SlotEvent;
        const sig = `${e.samples}:${e.chunks}:${e.lastDataAt}`;
        // The first event on connect usually repeats what the initial fetch got.
        const changed = lastSig === '' ? e.samples !== latestSamples.current : sig !== lastSig;
        if (changed) fetcher.current?.request();
        onSlotRef.current?.(e);
        lastSig = sig;
      });
      es.addEventListener('closed', () => {
        es?.close();
        es = null;
        setTransport('off');
        onClosedRef.current();
      });
      es.onerror = () => {
        failures++;
        if (es?.readyState === EventSource.CLOSED || failures >= MAX_SSE_FAILURES) startPolling();
      };
      es.onopen = () => {
        // After a reconnect, data may have arrived while the stream was down.
        if (lastSig !== '') fetcher.current?.request();
      };
    }
    return () => {
      es?.close();
      if (pollId !== undefined) window.clearInterval(pollId);
    };
  }, [key, active, live]);

  const refresh = useCallback(() => fetcher.current?.request(true), []);
  return { profile: active ? profile : null, error: error?.message ?? null, errorCode: error?.code ?? null, receivedAt, loading, transport, refresh };
}

function measure(what: string, start: number, end: number): void {
  try {
    performance.measure(`pilotlight:profile-${what}`, { start, end });
  } catch {
    // A browser without User Timing Level 3: no measures.
  }
}

function measureFetch(t: FetchTiming): void {
  const end = performance.now();
  measure('fetch', end - t.decodeMs - t.fetchMs, end - t.decodeMs);
  if (t.status !== 304) measure('decode', end - t.decodeMs, end);
}
