import { useEffect, useState } from 'react';
import type { DiffQuery, DiffResponse } from '../../api/types.js';
import { api } from '../api/client.js';

/** The diff for a query, fetched again when the query or `version` (new data) changes. */
export function useDiff(q: DiffQuery | null, version: string): { diff: DiffResponse | null; error: string | null; loading: boolean } {
  const [diff, setDiff] = useState<DiffResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const sig = q ? JSON.stringify(q) : '';
  useEffect(() => {
    if (!sig) {
      setDiff(null);
      return;
    }
    const query = JSON.parse(sig) as DiffQuery;
    const ctl = new AbortController();
    setLoading(true);
    api
      .diff(query, ctl.signal)
      .then((d) => {
        setDiff(d);
        setError(null);
      })
      .catch((err: unknown) => {
        if (!ctl.signal.aborted) setError((err as Error).message);
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
  }, [sig, version]);
  return { diff: sig ? diff : null, error: sig ? error : null, loading };
}
