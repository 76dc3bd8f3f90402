import { useMemo, useRef, useState } from 'react';
import type { SymbolRow } from '../../profile/symbols.js';
import { rowKey, type SortDir, type SortKey } from './sort.js';
import { useSortedRows } from './useSortedRows.js';
import { useVirtualRows } from './useVirtualRows.js';
import { formatCount, formatNanos, formatPercent } from '../flame/text.js';
import { kindSwatch } from '../flame/colors.js';
import { parseSearch } from '../../profile/focus.js';
import type { ValueFormat } from '../units.js';
import { SymbolName } from './SymbolName.js';

const ROW_HEIGHT = 26;

interface Props {
  rows: readonly SymbolRow[];
  /** Samples in the profile: what 100% is. */
  totalSamples: number;
  /** How the values read (CPU samples and time, off-CPU time, bytes, …). */
  values: ValueFormat;
  selectedKey: string | null;
  onSelect: (key: string | null) => void;
  /** Enter on a row: open that function (its sandwich). */
  onOpen?: (key: string) => void;
  initialSort?: { key: SortKey; dir: SortDir };
  onSortChange?: (sort: { key: SortKey; dir: SortDir }) => void;
  compact?: boolean;
  /** The flame graph's search: matching rows are marked (text, or /regex/ as in focus.ts). */
  search?: string;
}

/** Symbol | Self | Total as CPU time (or the type's values) and share, sortable, filterable, and virtualized. */
export function SymbolsTable({ rows, totalSamples, values, selectedKey, onSelect, onOpen, initialSort, onSortChange, compact = false, search = '' }: Props) {
  const [sort, setSort] = useState(initialSort ?? { key: 'self' as SortKey, dir: 'desc' as SortDir });
  const [filter, setFilter] = useState('');
  const shown = useSortedRows(rows, filter, sort);
  const marks = useMemo(() => {
    const q = search.trim() === '' ? null : parseSearch(search);
    return q && q.ok ? q.test : null;
  }, [search]);
  const bodyRef = useRef<HTMLDivElement>(null);
  const v = useVirtualRows(shown.length, ROW_HEIGHT, bodyRef);

  const header = (key: SortKey, label: string) => {
    const active = sort.key === key;
    const next = { key, dir: active && sort.dir === 'desc' ? 'asc' : key === 'name' && !active ? 'asc' : 'desc' } as const;
    return (
      <button
        type="button"
        className={`th th-${key}${active ? ' sorted' : ''}`}
        aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
        onClick={() => {
          setSort(next);
          onSortChange?.(next);
        }}
      >
        {label}
        <span className="sort-arrow">{active ? (sort.dir === 'asc' ? '▲' : '▼') : ''}</span>
      </button>
    );
  };

  const cell = (samples: number, nanos: number) => {
    const share = totalSamples > 0 ? samples / totalSamples : 0;
    return (
      <span className={samples === 0 ? 'value-cell zero' : 'value-cell'}>
        <span className="value-bar" style={{ width: `calc((100% - 20px) * ${Math.min(1, share).toFixed(4)})` }} />
        <span className="value-time">{!values.cpu ? values.full(samples) : nanos > 0 ? formatNanos(nanos) : formatCount(samples)}</span>
        <span className="value-pct">{formatPercent(share)}</span>
      </span>
    );
  };

  return (
    <section className={compact ? 'symbols compact' : 'symbols'} aria-label="Symbols table">
      <div className="symbols-toolbar">
        <input
          type="search"
          className="search"
          placeholder="Filter symbols"
          aria-label="Filter symbols"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <span className="muted">
          {formatCount(shown.length)} of {formatCount(rows.length)} functions
        </span>
      </div>
      <div className="symbols-head" role="row">
        {header('name', 'Symbol')}
        {header('self', 'Self')}
        {header('total', 'Total')}
      </div>
      <div className="symbols-body" ref={bodyRef} onScroll={v.onScroll} role="table" aria-rowcount={shown.length}>
        <div style={{ height: v.padTop }} />
        {shown.slice(v.first, v.last).map((r, i) => {
          const key = rowKey(r);
          const selected = key === selectedKey;
          const match = marks !== null && marks(r.name);
          return (
            <div
              key={key}
              role="row"
              aria-rowindex={v.first + i + 1}
              aria-selected={selected}
              className={`symbols-row${selected ? ' selected' : ''}${match ? ' match' : ''}`}
              style={{ height: ROW_HEIGHT }}
              tabIndex={0}
              onClick={() => onSelect(selected ? null : key)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  if (onOpen) onOpen(key);
                  else onSelect(key);
                } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
                  e.preventDefault();
                  const next = (e.key === 'ArrowDown' ? e.currentTarget.nextElementSibling : e.currentTarget.previousElementSibling) as HTMLElement | null;
                  if (next?.getAttribute('role') === 'row') next.focus();
                }
              }}
              title={[r.name, r.file, r.binary].filter(Boolean).join('\n')}
            >
              <span className="sym-name">
                <span className="kind-dot" style={{ background: kindSwatch(r.kind) }} />
                <SymbolName name={r.name} />
                {r.binary && <span className="sym-binary">{r.binary}</span>}
              </span>
              {cell(r.self, r.selfNanos)}
              {cell(r.total, r.totalNanos)}
            </div>
          );
        })}
        <div style={{ height: v.padBottom }} />
      </div>
    </section>
  );
}
