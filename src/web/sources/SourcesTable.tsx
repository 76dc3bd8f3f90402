import { useEffect, useMemo, useRef, useState } from 'react';
import type { SourceInfo, StoreLimits } from '../../ui/api-types.js';
import { formatAgo, formatBytes } from '../flame/text.js';
import { useNow } from '../hooks/useNow.js';
import { Sparkline } from './Sparkline.js';
import { DEFAULT_SOURCE_SORT, filterSources, formatCores, lastDataOf, nextSort, sortSources, type SourceSort, type SourceSortKey } from './sort.js';

interface Props {
  sources: SourceInfo[];
  limits: StoreLimits | null;
  onOpen: (key: string) => void;
  /** Put the keyboard in the filter box when the list first shows (not under an open drawer). */
  focusFilter?: boolean;
}

type StateFilter = 'all' | 'profiling' | 'off';

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
export function SourcesTable({ sources, limits, onOpen, focusFilter = true }: Props) {
  const [text, setText] = useState('');
  const [state, setState] = useState<StateFilter>('all');
  const [sort, setSort] = useState<SourceSort>(DEFAULT_SOURCE_SORT);
  const filterRef = useRef<HTMLInputElement>(null);
  const now = useNow(1000);
  const shown = useMemo(() => {
    const inState = sources.filter((s) => (state === 'all' ? true : state === 'profiling' ? s.profiling.active : !s.profiling.active));
    return sortSources(filterSources(inState, text), sort);
  }, [sources, text, state, sort]);
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
          {shown.length} of {sources.length} sources
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
              <tr key={s.key} className="source-row" data-key={s.key} tabIndex={0} onClick={() => onOpen(s.key)} onKeyDown={(e) => e.key === 'Enter' && onOpen(s.key)}>
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
            A source appears when profiles for it reach this UI's OTLP receiver. Start a sampler (<code>pilotlight node</code>) or point a gateway or an OpenTelemetry
            Collector at this server.
          </p>
        </div>
      )}
      {sources.length > 0 && shown.length === 0 && <p className="muted pad">No source matches the filter.</p>}
    </section>
  );
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
