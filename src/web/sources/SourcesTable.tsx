import { useEffect, useMemo, useRef, useState } from 'react';
import type { SourceInfo, StoreLimits } from '../../api/types.js';
import { formatAgo, formatBytes } from '../flame/text.js';
import { useNow } from '../hooks/useNow.js';
import { Sparkline } from './Sparkline.js';
import {
  DEFAULT_SOURCE_SORT,
  filterSources,
  formatCores,
  lastDataOf,
  nextSort,
  sortSources,
  sourcesInState,
  type SourceSort,
  type SourceSortKey,
  type SourceStateFilter,
  type SourcesQuery,
} from '../../api/source-query.js';

interface Props {
  sources: SourceInfo[];
  /** Sources the UI holds, and those matching the filter: more than `sources` when the server cut the list. */
  total: number;
  matched: number;
  limits: StoreLimits | null;
  onOpen: (key: string) => void;
  /** The filter, state and order changed: the list's rows are asked for again with them. */
  onQueryChange: (q: SourcesQuery) => void;
  /** Put the keyboard in the filter box when the list first shows (not under an open drawer). */
  focusFilter?: boolean;
}

/** How long the filter text rests before the server is asked (the rows held filter at once). */
const FILTER_QUERY_DELAY_MS = 200;

const COLUMNS: { key: SourceSortKey; label: string; className: string }[] = [
  { key: 'name', label: 'Name', className: 'col-name' },
  { key: 'cpu', label: 'CPU', className: 'col-cpu' },
  { key: 'lastSeen', label: 'Last seen', className: 'col-seen' },
  { key: 'profiling', label: 'Profiling', className: 'col-profiling' },
];

/**
 * Every workload seen, busiest first: name (with namespace and kind), CPU over the last minute
 * with its last five minutes as a sparkline, when its data last came, and its profiling state.
 * Each column sorts by a click on its header; rows that tie at the precision shown list
 * workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Services) before bare pods,
 * containers and processes (see sort.ts). Every name is sender text, rendered as text.
 */
export function SourcesTable({ sources, total, matched, limits, onOpen, onQueryChange, focusFilter = true }: Props) {
  const [text, setText] = useState('');
  const [state, setState] = useState<SourceStateFilter>('all');
  const [sort, setSort] = useState<SourceSort>(DEFAULT_SOURCE_SORT);
  const filterRef = useRef<HTMLInputElement>(null);
  const now = useNow(1000);
  const shown = useMemo(() => sortSources(filterSources(sourcesInState(sources, state), text), sort), [sources, text, state, sort]);
  // The rows held are filtered at once; the server is asked once the text rests.
  const [queryText, setQueryText] = useState('');
  useEffect(() => {
    const id = window.setTimeout(() => setQueryText(text), FILTER_QUERY_DELAY_MS);
    return () => window.clearTimeout(id);
  }, [text]);
  useEffect(() => onQueryChange({ q: queryText, state, sort }), [onQueryChange, queryText, state, sort]);
  const cut = matched > shown.length;
  const cap = limits?.slotMaxBytes ?? 0;

  // Only on first show: later renders never take the keyboard from where the user put it.
  const focusOnOpen = useRef(focusFilter);
  useEffect(() => {
    if (focusOnOpen.current) filterRef.current?.focus();
  }, []);

  return (
    <section className="sources" aria-label="Sources">
      <div className="sources-toolbar">
        <input
          ref={filterRef}
          type="search"
          className="search"
          placeholder="Filter by name, namespace or kind"
          aria-label="Filter sources"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <div className="segmented" role="radiogroup" aria-label="Profiling state">
          {(['all', 'profiling', 'off'] as const).map((s) => (
            <button key={s} type="button" role="radio" aria-checked={state === s} className={state === s ? 'seg active' : 'seg'} onClick={() => setState(s)}>
              {s === 'all' ? 'All' : s === 'profiling' ? 'Profiling' : 'Not profiling'}
            </button>
          ))}
        </div>
        <span className="muted">
          {count(shown.length)} of {count(total)} sources
          {limits && ` · ${sources.filter((s) => s.profiling.active).length} / ${limits.maxSlots} slots`}
        </span>
      </div>
      <table className="sources-table">
        <colgroup>
          <col className="col-name" />
          <col className="col-cpu" />
          <col className="col-seen" />
          <col className="col-profiling" />
        </colgroup>
        <thead>
          <tr>
            {COLUMNS.map((c) => {
              const active = sort.key === c.key;
              return (
                <th key={c.key} scope="col" className={c.className} aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
                  <button type="button" className={active ? 'th-sort sorted' : 'th-sort'} onClick={() => setSort((s) => nextSort(s, c.key))}>
                    {c.label}
                    <span className="sort-arrow" aria-hidden="true">
                      {active ? (sort.dir === 'asc' ? '▲' : '▼') : ''}
                    </span>
                  </button>
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => {
            const p = s.profiling;
            return (
              <tr
                key={s.key}
                className="source-row"
                data-key={s.key}
                tabIndex={0}
                onClick={() => onOpen(s.key)}
                onKeyDown={(e) => e.key === 'Enter' && onOpen(s.key)}
              >
                <td>
                  <div className="src-line" title={s.key}>
                    <span className="src-name">{s.name}</span>
                    <span className="src-meta">
                      <span className="src-ns">{s.namespace}</span> <span className={`kind-tag kind-${kindClass(s.kind)}`}>{s.kind}</span>
                    </span>
                  </div>
                </td>
                <td>
                  <div className="cpu-cell">
                    <span className={s.cpuCores > 0 ? 'cores' : 'cores muted'}>{formatCores(s.cpuCores)}</span>
                    <Sparkline series={s.cpuSeries} />
                  </div>
                </td>
                <td className="seen-cell">{formatAgo(lastDataOf(s), now)}</td>
                <td>
                  {p.active ? (
                    <span className="buffer-cell">
                      <span className="badge on">Profiling</span>
                      <span className="meter small" title="Buffer used of the slot's cap">
                        <span className="meter-fill" style={{ width: `${cap > 0 ? Math.min(100, (p.bytes / cap) * 100) : 0}%` }} />
                      </span>
                      {formatBytes(p.bytes)}
                      {cap > 0 && <span className="muted">/ {formatBytes(cap)}</span>}
                    </span>
                  ) : (
                    <span className="badge">Off</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {sources.length === 0 && (
        <div className="empty-state">
          <h3>No sources yet</h3>
          <p className="muted">
            A source appears when profiles for it reach this UI's OTLP receiver. Start a sampler (<code>pilotlight node</code>) or point a gateway or an
            OpenTelemetry Collector at this server.
          </p>
        </div>
      )}
      {cut && (
        <p className="muted pad" data-testid="sources-cut">
          Showing the first {count(shown.length)} of {count(matched)} matching sources. Type to narrow the list.
        </p>
      )}
      {sources.length > 0 && shown.length === 0 && !cut && <p className="muted pad">No source matches the filter.</p>}
    </section>
  );
}

/** A count as the list writes it: 26,671. */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** The CSS class suffix of a kind: workloads, pods, containers, processes (any other kind: `other`). */
function kindClass(kind: string): string {
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
    case 'CronJob':
    case 'Service':
      return 'workload';
    case 'Pod':
    case 'Container':
    case 'Process':
      return kind.toLowerCase();
    default:
      return 'other';
  }
}
