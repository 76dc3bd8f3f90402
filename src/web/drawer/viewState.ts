import type { SortDir, SortKey } from '../table/sort.js';

export type ViewMode = 'flame' | 'table' | 'both' | 'sandwich';

/** How the Profiling tab of one source was left: restored when its drawer opens again. */
export interface SourceViewState {
  mode: ViewMode;
  live: boolean;
  zoom: readonly string[];
  search: string;
  selected: string | null;
  sort: { key: SortKey; dir: SortDir };
}

const states = new Map<string, SourceViewState>();

export function viewStateOf(key: string): SourceViewState {
  let s = states.get(key);
  if (!s) {
    s = { mode: 'both', live: true, zoom: [], search: '', selected: null, sort: { key: 'self', dir: 'desc' } };
    states.set(key, s);
  }
  return s;
}
