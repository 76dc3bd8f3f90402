import { useEffect, useMemo, useState } from 'react';
import type { SymbolRow } from '../../profile/symbols.js';
import { yieldToMain } from '../scheduling.js';
import { profileFormat } from '../api/profileFetch.js';
import { filterRows, sortRows, sortRowsAsync, sortRowsByComparator, type SortDir, type SortKey } from './sort.js';

interface Sorted {
  rows: readonly SymbolRow[];
  filter: string;
  sort: { key: SortKey; dir: SortDir };
  out: readonly SymbolRow[];
}

/**
 * The rows filtered and sorted for the table. A sort or filter the user just changed is
 * applied at once; new rows from a live update are sorted in slices between which the browser
 * handles input and paints (tens of thousands of rows took one long task), and until that
 * finishes the table keeps showing the previous update's rows in their order. (The `json`
 * debugging format sorts as before: at once, comparing rows pairwise.)
 */
export function useSortedRows(rows: readonly SymbolRow[], filter: string, sort: { key: SortKey; dir: SortDir }): readonly SymbolRow[] {
  const [done, setDone] = useState<Sorted | null>(null);
  const legacy = profileFormat() === 'json';
  const current = done !== null && done.rows === rows && done.filter === filter && done.sort === sort;
  // Only the rows changed since the last result: a live update, sorted in the background.
  const background = !legacy && !current && done !== null && done.filter === filter && done.sort === sort;
  const now = useMemo(
    () => (current || background ? null : (legacy ? sortRowsByComparator : sortRows)(filterRows(rows, filter), sort.key, sort.dir)),
    [legacy, current, background, rows, filter, sort],
  );

  useEffect(() => {
    if (now) {
      setDone({ rows, filter, sort, out: now });
      return;
    }
    if (!background) return;
    let cancelled = false;
    void sortRowsAsync(filterRows(rows, filter), sort.key, sort.dir, yieldToMain).then((out) => {
      if (!cancelled) setDone({ rows, filter, sort, out });
    });
    return () => {
      cancelled = true;
    };
  }, [now, background, rows, filter, sort]);

  return now ?? done!.out;
}
