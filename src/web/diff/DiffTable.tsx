import { useMemo, useRef, useState } from 'react';
import type { DiffResponse } from '../../api/types.js';
import { useVirtualRows } from '../table/useVirtualRows.js';
import { formatCount, formatPercent } from '../flame/text.js';
import { kindSwatch } from '../flame/colors.js';
import { diffRows, formatDelta, isSignificant, sortDiffRows, type DiffSortKey } from './diffGraph.js';
import { searchFilter } from '../../profile/focus.js';
import { valueFormat } from '../units.js';
import { SymbolName } from '../table/SymbolName.js';

const ROW_HEIGHT = 26;

/** Symbol | Base | Comparison | Change (total shares), sortable; by default largest change first. */
export function DiffTable({ diff }: { diff: DiffResponse }) {
  const [sort, setSort] = useState<{ key: DiffSortKey; dir: 'asc' | 'desc' }>({ key: 'delta', dir: 'desc' });
  const [filter, setFilter] = useState('');
  const rows = useMemo(() => diffRows(diff.symbols, diff.base.samples, diff.target.samples), [diff]);
  const values = valueFormat(diff.type, 0);
  const shown = useMemo(() => {
    const pred = searchFilter(filter);
    return sortDiffRows(pred ? rows.filter((r) => pred(r.name) || pred(r.file) || pred(r.binary)) : rows, sort.key, sort.dir);
  }, [rows, filter, sort]);
  const bodyRef = useRef<HTMLDivElement>(null);
  const v = useVirtualRows(shown.length, ROW_HEIGHT, bodyRef);

  const header = (key: DiffSortKey, label: string) => {
    const active = sort.key === key;
    return (
      <button
        type="button"
        className={`th th-${key}${active ? ' sorted' : ''}`}
        aria-sort={active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}
        onClick={() => setSort({ key, dir: active && sort.dir === 'desc' ? 'asc' : key === 'name' && !active ? 'asc' : 'desc' })}
      >
        {label}
        <span className="sort-arrow">{active ? (sort.dir === 'asc' ? '▲' : '▼') : ''}</span>
      </button>
    );
  };

  return (
    <section className="symbols diff-table" aria-label="Diff table" title="Total share of each side's samples; change in percentage points">
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
        {header('base', 'Base')}
        {header('target', 'Comparison')}
        {header('delta', 'Change')}
      </div>
      <div className="symbols-body" ref={bodyRef} onScroll={v.onScroll} role="table" aria-rowcount={shown.length}>
        <div style={{ height: v.padTop }} />
        {shown.slice(v.first, v.last).map((r, i) => (
          <div
            key={`${r.name}\0${r.file}\0${r.binary}\0${r.kind}`}
            role="row"
            aria-rowindex={v.first + i + 1}
            className="symbols-row"
            style={{ height: ROW_HEIGHT }}
            title={[r.name, r.file, r.binary].filter(Boolean).join('\n')}
          >
            <span className="sym-name">
              <span className="kind-dot" style={{ background: kindSwatch(r.kind) }} />
              <SymbolName name={r.name} />
              {r.binary && <span className="sym-binary">{r.binary}</span>}
            </span>
            <span className="diff-cell base" title={`${values.full(r.baseTotal)} (self ${values.full(r.baseSelf)})`}>
              {formatPercent(r.baseShare)}
            </span>
            <span className="diff-cell target" title={`${values.full(r.total)} (self ${values.full(r.self)})`}>
              {formatPercent(r.share)}
            </span>
            <span
              className={
                !isSignificant(r) ? 'diff-cell delta noise' : r.delta > 0 ? 'diff-cell delta up' : r.delta < 0 ? 'diff-cell delta down' : 'diff-cell delta'
              }
              title={
                isSignificant(r)
                  ? undefined
                  : `Within sampling noise: at these sample counts a share moves by ±${formatDelta(r.noise).replace(/^[+−]/, '')} by chance`
              }
            >
              {formatDelta(r.delta)}
            </span>
          </div>
        ))}
        <div style={{ height: v.padBottom }} />
      </div>
    </section>
  );
}
