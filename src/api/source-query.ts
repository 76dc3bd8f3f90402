/**
 * The Sources list's order and query, one rule for both sides: the UI server answers
 * `GET /api/sources?q=&state=&sort=&dir=&limit=&keep=` with it (a fleet's list is cut to the
 * rows asked for), and the browser orders and filters the rows it holds with it.
 */
import type { SourceInfo } from './types.js';

export type SourceSortKey = 'name' | 'cpu' | 'lastSeen' | 'profiling';
export type SortDir = 'asc' | 'desc';
export interface SourceSort {
  key: SourceSortKey;
  dir: SortDir;
}

/** The list opens busiest first. */
export const DEFAULT_SOURCE_SORT: SourceSort = { key: 'cpu', dir: 'desc' };

/** The direction a column sorts in when first clicked: names A→Z, the rest biggest (newest, profiling) first. */
export const FIRST_DIR: Record<SourceSortKey, SortDir> = { name: 'asc', cpu: 'desc', lastSeen: 'desc', profiling: 'desc' };

/** A header click: the same column turns around, another starts in its first direction. */
export function nextSort(current: SourceSort, key: SourceSortKey): SourceSort {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return { key, dir: FIRST_DIR[key] };
}

/**
 * Kinds in the order they come at equal sort keys: workloads someone deploys and names
 * (Kubernetes controllers, services) first, then bare pods, containers and processes, which
 * on a host are mostly incidental. A tie-break rather than a visible group per kind: groups
 * would put an idle Deployment above a bare process burning four cores, the one row a
 * busiest-first list is for; among rows that read the same, the workloads lead.
 */
const KIND_RANK: Record<string, number> = {
  Deployment: 0,
  StatefulSet: 0,
  DaemonSet: 0,
  Job: 0,
  CronJob: 0,
  Service: 0,
  Pod: 1,
  Container: 2,
  Process: 3,
};

export function kindRank(kind: string): number {
  return KIND_RANK[kind] ?? 1;
}

/** When the source's data last came: a slot's newest data, else when the source was last seen (null: never). */
export function lastDataOf(s: SourceInfo): number | null {
  const p = s.profiling;
  return p.active && p.lastDataAt !== null ? p.lastDataAt : s.lastSeenAt || null;
}

/**
 * The value a column sorts by, at the precision the list shows it: rows that read the same
 * (two idle sources at "0.00 cores", two seen "3 s ago") tie, and the tie goes to the kind.
 */
function sortValue(s: SourceInfo, key: Exclude<SourceSortKey, 'name'>): number {
  switch (key) {
    case 'cpu':
      return coresAsShown(s.cpuCores);
    case 'lastSeen':
      return Math.floor((lastDataOf(s) ?? 0) / 1000);
    case 'profiling':
      return s.profiling.active ? 1 : 0;
  }
}

function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Sources in `sort` order. Ties (at the shown precision) go to the kind (workloads before bare
 * containers and processes, whatever the direction), then to the busier, then to the name, so
 * the order holds still between polls.
 */
export function sortSources(rows: readonly SourceInfo[], sort: SourceSort): SourceInfo[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  const key = sort.key;
  const primary =
    key === 'name'
      ? (a: SourceInfo, b: SourceInfo) => byText(a.name.toLowerCase(), b.name.toLowerCase()) || byText(a.namespace, b.namespace)
      : (a: SourceInfo, b: SourceInfo) => sortValue(a, key) - sortValue(b, key);
  return [...rows].sort(
    (a, b) => sign * primary(a, b) || kindRank(a.kind) - kindRank(b.kind) || b.cpuCores - a.cpuCores || byText(a.name, b.name) || byText(a.key, b.key),
  );
}

export type SourceStateFilter = 'all' | 'profiling' | 'off';

/** Sources in the profiling state asked for. */
export function sourcesInState(rows: readonly SourceInfo[], state: SourceStateFilter): readonly SourceInfo[] {
  if (state === 'all') return rows;
  const want = state === 'profiling';
  return rows.filter((s) => s.profiling.active === want);
}

/** What the list asks the server for (GET /api/sources query parameters). */
export interface SourcesQuery {
  /** Filter text (see filterSources). */
  q: string;
  state: SourceStateFilter;
  /** None: by key. */
  sort?: SourceSort;
  /** At most this many matching rows, the first in `sort` order; none: every row. */
  limit?: number;
  /** A source sent whether or not it matches (the one whose drawer is open). */
  keep?: string;
}

/** The most rows one answer holds: more than a person reads, few enough to send every poll. */
export const SOURCES_LIMIT_MAX = 10_000;

/**
 * The rows a query gets: the first `limit` matching sources in its order, plus every source with
 * a profiling slot and the `keep` source wherever they rank (the drawer and the comparison
 * picker need them), in query order; `matched` counts every matching source.
 */
export function querySources(all: readonly SourceInfo[], query: SourcesQuery): { sources: SourceInfo[]; matched: number } {
  const order = (rows: readonly SourceInfo[]): SourceInfo[] => (query.sort ? sortSources(rows, query.sort) : [...rows].sort((a, b) => byText(a.key, b.key)));
  const matching = order(filterSources(sourcesInState(all, query.state), query.q));
  if (query.limit === undefined || matching.length <= query.limit) return { sources: matching, matched: matching.length };
  const page = matching.slice(0, query.limit);
  const inPage = new Set(page.map((s) => s.key));
  const extra = all.filter((s) => !inPage.has(s.key) && (s.profiling.active || s.key === query.keep));
  return { sources: extra.length === 0 ? page : order([...page, ...extra]), matched: matching.length };
}

/** Sources whose key (namespace/Kind/name) contains the filter text, any case. */
export function filterSources(rows: readonly SourceInfo[], text: string): readonly SourceInfo[] {
  const q = text.trim().toLowerCase();
  if (q === '') return rows;
  return rows.filter((s) => s.key.toLowerCase().includes(q));
}

/** Cores in hundredths as `formatCores` shows them (under 0.01 but not 0: half a hundredth). */
function coresAsShown(cores: number): number {
  if (cores <= 0) return 0;
  if (cores < 0.005) return 0.5;
  return cores < 10 ? Math.round(cores * 100) : Math.round(cores * 10) * 10;
}

/** Cores as the app writes them (as the timeline does): "0.52 cores", "12.5 cores", "<0.01 cores", "0 cores". */
export function formatCores(cores: number): string {
  if (cores <= 0) return '0 cores';
  if (cores < 0.005) return '<0.01 cores';
  return `${cores < 10 ? cores.toFixed(2) : cores.toFixed(1)} cores`;
}
