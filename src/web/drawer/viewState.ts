import type { SortDir, SortKey } from '../table/sort.js';
import type { Route } from '../route/route.js';

export type ViewMode = 'flame' | 'table' | 'both' | 'sandwich';

/** How the Profiling tab of one source was left: restored when its drawer opens again. */
export interface SourceViewState {
  mode: ViewMode;
  live: boolean;
  sort: { key: SortKey; dir: SortDir };
  /** The view (mode, range, zoom, search, diff) as last in the URL: a bare `#/sources/<key>` restores it. */
  route: Route | null;
}

const DEFAULT_STATE: Readonly<SourceViewState> = Object.freeze<SourceViewState>({ mode: 'both', live: true, sort: { key: 'self', dir: 'desc' }, route: null });

const states = new Map<string, Readonly<SourceViewState>>();

/** How the tab of `key` was left (the defaults if it never was). Reading changes nothing, so render may call it. */
export function viewStateOf(key: string): Readonly<SourceViewState> {
  return states.get(key) ?? DEFAULT_STATE;
}

/** Remembers part of how the tab of `key` is being left; called from event handlers, not during render. */
export function rememberViewState(key: string, patch: Partial<SourceViewState>): void {
  states.set(key, { ...viewStateOf(key), ...patch });
}
