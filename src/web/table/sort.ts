import type { SymbolRow } from '../../profile/symbols.js';
import { compileQuery } from '../flame/search.js';

export type SortKey = 'name' | 'self' | 'total';
export type SortDir = 'asc' | 'desc';

/** Sorted copy of the rows; ties fall back to name so the order is stable between updates. */
export function sortRows(rows: readonly SymbolRow[], key: SortKey, dir: SortDir): SymbolRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  const byName = (a: SymbolRow, b: SymbolRow): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const cmp =
    key === 'name'
      ? (a: SymbolRow, b: SymbolRow) => sign * byName(a, b) || a.binary.localeCompare(b.binary)
      : (a: SymbolRow, b: SymbolRow) => sign * (a[key] - b[key]) || byName(a, b);
  return [...rows].sort(cmp);
}

/** Rows whose name, file or binary matches the filter (same syntax as the flame search). */
export function filterRows(rows: readonly SymbolRow[], query: string): readonly SymbolRow[] {
  const pred = compileQuery(query);
  if (!pred) return rows;
  return rows.filter((r) => pred(r.name) || pred(r.file) || pred(r.binary));
}

/** The same identity the flame graph uses for a frame (name, file, binary, kind). */
export function rowKey(r: SymbolRow): string {
  return `${r.name}\0${r.file}\0${r.binary}\0${r.kind}`;
}
