import type { SortDir, SortKey } from '../table/sort.js';
import type { Route } from '../route/route.js';

export type ViewMode = 'flame' | 'table' | 'both' | 'sandwich';

/** How the Profiling tab of one source was left: restored when its drawer opens again. */
export interface SourceViewState {
  mode: ViewMode;
  live: boolean;
  zoom: readonly string[];
  search: string;
  sort: { key: SortKey; dir: SortDir };
  /** The view (mode, range, zoom, search, diff) as last in the URL: a bare `#/sources/<key>` restores it. */
  route: Route | null;
}

const states = new Map<string, SourceViewState>();

export function viewStateOf(key: string): SourceViewState {
  let s = states.get(key);
  if (!s) {
    s = { mode: 'both', live: true, zoom: [], search: '', sort: { key: 'self', dir: 'desc' }, route: null };
    states.set(key, s);
  }
  return s;
}
