import { useCallback, useEffect, useRef, useState } from 'react';
import type { SlotStatus, SourceInfo, SourcesResponse, StoreLimits } from '../../ui/api-types.js';
import { api } from '../api/client.js';

export interface SourcesState {
  sources: SourceInfo[];
  limits: StoreLimits | null;
  error: string | null;
  loadedAt: number | null;
  refresh: () => void;
  /** Applies a source the server just returned (after enable/disable) without waiting for the next poll. */
  update: (source: SourceInfo) => void;
  /** Applies a slot's newer figures (from its event stream) until the next poll brings them. */
  patchSlot: (key: string, slot: Partial<SlotStatus>) => void;
}

/** The Sources list, polled every `everyMs` (the list is small and cheap to fetch). */
export function useSources(everyMs = 2000): SourcesState {
  const [data, setData] = useState<SourcesResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadedAt, setLoadedAt] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  const inFlight = useRef<AbortController | null>(null);

  useEffect(() => {
    let stopped = false;
    const load = async (): Promise<void> => {
      // A slow answer is dropped when the next poll starts, so answers never arrive out of order.
      inFlight.current?.abort();
      const ctl = new AbortController();
      inFlight.current = ctl;
      try {
        const res = await api.sources(ctl.signal);
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
  }, [everyMs, tick]);

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
  return { sources: data?.sources ?? [], limits: data?.limits ?? null, error, loadedAt, refresh, update, patchSlot };
}
