import { useCallback, useEffect, useRef, useState } from 'react';
import type { SlotStatus, SourceInfo, SourcesResponse, StoreLimits } from '../../api/types.js';
import type { SourcesQuery } from '../../api/source-query.js';
import { api } from '../api/client.js';

export interface SourcesState {
  sources: SourceInfo[];
  limits: StoreLimits | null;
  /** Sources the UI holds, and those matching the query (more than `sources` has when the list is cut). */
  total: number;
  matched: number;
  error: string | null;
  loadedAt: number | null;
  refresh: () => void;
  /** Applies a source the server just returned (after enable/disable) without waiting for the next poll. */
  update: (source: SourceInfo) => void;
  /** Applies a slot's newer figures (from its event stream) until the next poll brings them. */
  patchSlot: (key: string, slot: Partial<SlotStatus>) => void;
}

/**
 * The Sources list's rows for `query`, polled every `everyMs` and fetched again at once when
 * the query changes (a fleet's list is cut to the rows the query asks for, see
 * src/api/source-query.ts).
 */
export function useSources(everyMs: number, query: SourcesQuery): SourcesState {
  const [data, setData] = useState<SourcesResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadedAt, setLoadedAt] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  const inFlight = useRef<AbortController | null>(null);
  // The query as text: a new object with the same parameters is the same query.
  const asked = JSON.stringify(query);

  useEffect(() => {
    let stopped = false;
    const load = async (): Promise<void> => {
      // A slow answer is dropped when the next poll starts, so answers never arrive out of order.
      inFlight.current?.abort();
      const ctl = new AbortController();
      inFlight.current = ctl;
      try {
        const res = await api.sources(JSON.parse(asked) as SourcesQuery, ctl.signal);
        if (stopped || ctl.signal.aborted) return;
        setData(res);
        setError(null);
        setLoadedAt(Date.now());
      } catch (err) {
        if (stopped || ctl.signal.aborted) return;
        setError((err as Error).message);
      }
    };
    void load();
    const id = window.setInterval(() => void load(), everyMs);
    return () => {
      stopped = true;
      window.clearInterval(id);
      inFlight.current?.abort();
    };
  }, [everyMs, tick, asked]);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  const update = useCallback((source: SourceInfo) => {
    setData((d) => {
      if (!d) return d;
      const i = d.sources.findIndex((s) => s.key === source.key);
      const sources = i < 0 ? [...d.sources, source] : d.sources.map((s, k) => (k === i ? source : s));
      return { ...d, sources };
    });
  }, []);
  const patchSlot = useCallback((key: string, slot: Partial<SlotStatus>) => {
    setData((d) => {
      if (!d) return d;
      const sources = d.sources.map((s) => (s.key === key && s.profiling.active ? { ...s, profiling: { ...s.profiling, ...slot } } : s));
      return { ...d, sources };
    });
  }, []);
  const sources = data?.sources ?? [];
  return {
    sources,
    limits: data?.limits ?? null,
    total: data?.total ?? sources.length,
    matched: data?.matched ?? sources.length,
    error,
    loadedAt,
    refresh,
    update,
    patchSlot,
  };
}
