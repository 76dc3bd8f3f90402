import { useMemo, useState } from 'react';
import type { SourceInfo, StoreLimits } from '../../ui/api-types.js';
import { formatAgo, formatBytes } from '../flame/text.js';
import { useNow } from '../hooks/useNow.js';

interface Props {
  sources: SourceInfo[];
  limits: StoreLimits | null;
  onOpen: (key: string) => void;
}

type StateFilter = 'all' | 'profiling' | 'off';

/** Every workload seen, newest data first within each state; profiling ones on top. */
export function SourcesTable({ sources, limits, onOpen }: Props) {
  const [text, setText] = useState('');
  const [state, setState] = useState<StateFilter>('all');
  const now = useNow(1000);
  const shown = useMemo(() => {
    const q = text.trim().toLowerCase();
    return sources
      .filter((s) => (state === 'all' ? true : state === 'profiling' ? s.profiling.active : !s.profiling.active))
      .filter((s) => q === '' || s.key.toLowerCase().includes(q))
      .sort((a, b) => Number(b.profiling.active) - Number(a.profiling.active) || a.key.localeCompare(b.key));
  }, [sources, text, state]);
  const cap = limits?.slotMaxBytes ?? 0;

  return (
    <section className="sources" aria-label="Sources">
      <div className="sources-toolbar">
        <input type="search" className="search" placeholder="Filter by name, namespace or kind" aria-label="Filter sources" value={text} onChange={(e) => setText(e.target.value)} />
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
        <thead>
          <tr>
            <th>Name</th>
            <th>Namespace</th>
            <th>Kind</th>
            <th>Profiling</th>
            <th>Last data</th>
            <th>Buffer</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((s) => {
            const p = s.profiling;
            const last = p.active && p.lastDataAt !== null ? p.lastDataAt : s.lastSeenAt || null;
            return (
              <tr key={s.key} className="source-row" data-key={s.key} tabIndex={0} onClick={() => onOpen(s.key)} onKeyDown={(e) => e.key === 'Enter' && onOpen(s.key)}>
                <td className="src-name">{s.name}</td>
                <td>{s.namespace}</td>
                <td>{s.kind}</td>
                <td>{p.active ? <span className="badge on">Profiling</span> : <span className="badge">Off</span>}</td>
                <td>{formatAgo(last, now)}</td>
                <td>
                  {p.active ? (
                    <span className="buffer-cell">
                      <span className="meter small">
                        <span className="meter-fill" style={{ width: `${cap > 0 ? Math.min(100, (p.bytes / cap) * 100) : 0}%` }} />
                      </span>
                      {formatBytes(p.bytes)}
                      {cap > 0 && <span className="muted">/ {formatBytes(cap)}</span>}
                    </span>
                  ) : (
                    <span className="muted">—</span>
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
