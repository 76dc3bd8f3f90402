import { useMemo } from 'react';
import type { FlameGraph } from '../../profile/flame.js';
import { layoutFlame } from './layout.js';
import { frameColors } from './colors.js';
import { useZoom } from './useZoom.js';
import { useHighlight } from './useHighlight.js';
import { FlameChart } from './FlameChart.js';
import { Breadcrumb } from './Breadcrumb.js';
import { formatCount, formatPercent } from './text.js';
import type { ValueFormat } from '../units.js';

interface Props {
  graph: FlameGraph;
  /** How the values read (CPU samples and time, off-CPU time, bytes, …). */
  values: ValueFormat;
  /** A function picked in the symbols table (frame key), highlighted instead of the search. */
  selectedKey: string | null;
  onClearSelected: () => void;
  /** Zoom (frame keys from the root) and search: owned by the caller (they live in the URL). */
  zoom: readonly string[];
  search: string;
  onZoomChange: (path: readonly string[]) => void;
  onSearchChange: (search: string) => void;
}

/** The flame graph panel: search, match share, zoom breadcrumb, and the chart. */
export function FlameGraphView(props: Props) {
  const { graph, values, selectedKey, onClearSelected } = props;
  const layout = useMemo(() => layoutFlame(graph), [graph]);
  const colors = useMemo(() => frameColors(graph.frames.name, graph.frames.kind), [graph]);
  const zoom = useZoom(layout, props.zoom, props.onZoomChange);
  const search = props.search;
  const hl = useHighlight(layout, search, selectedKey, zoom.node);
  const total = layout.rootTotal;
  const selectedName = hl.selectedFrame >= 0 ? graph.frames.name[hl.selectedFrame] : null;

  return (
    <section className="flame-panel" aria-label="Flame graph">
      <div className="flame-toolbar">
        <input
          type="search"
          className="search"
          placeholder="Search (text or /regex/)"
          title="Highlights matching functions: text, case-insensitive, or a /regular expression/"
          aria-label="Search functions"
          value={search}
          aria-invalid={hl.searchError !== null}
          onChange={(e) => props.onSearchChange(e.target.value)}
        />
        {hl.searchError && (
          <span className="search-error" role="alert" data-testid="search-error">
            {hl.searchError}
          </span>
        )}
        {selectedKey && (
          <span className="chip" data-testid="selected-chip" title={`Highlighting ${selectedName ?? 'a function not in this profile'} (picked in the table)`}>
            <span className="chip-dot" aria-hidden="true" />
            <strong>{selectedName ?? '(not in this profile)'}</strong>
            <button type="button" className="chip-x" aria-label="Clear highlight" onClick={onClearSelected}>
              ×
            </button>
          </span>
        )}
        {hl.summary && (
          <span
            className="match-share"
            data-testid="match-share"
            title={
              values.cpu
                ? `${formatCount(hl.summary.samples)} of ${formatCount(total)} samples have a matching function on their stack (each sample counted once)`
                : `${values.full(hl.summary.samples)} of ${values.full(total)} have a matching function on their stack (each sample counted once)`
            }
          >
            {hl.summary.nodes === 0 ? (
              'No matches'
            ) : (
              <>
                {formatCount(hl.summary.nodes)} {hl.summary.nodes === 1 ? 'frame' : 'frames'} · <strong>{formatPercent(hl.summary.share)}</strong> of total
                {values.amount(hl.summary.samples) !== null && ` (${values.amount(hl.summary.samples)})`}
                {hl.summaryInZoom && ` · ${formatPercent(hl.summaryInZoom.share)} of zoomed`}
              </>
            )}
          </span>
        )}
        <span className="spacer" />
        <button type="button" className="btn" onClick={zoom.reset} disabled={zoom.node === 0}>
          Reset zoom
        </button>
      </div>
      {/* Always there, so zooming never moves the graph under the pointer. */}
      {total > 0 && <Breadcrumb layout={layout} node={zoom.node} onZoom={zoom.zoomTo} />}
      {total > 0 && (
        <FlameChart
          probe="flame"
          layout={layout}
          colors={colors}
          highlight={hl.frames}
          zoomNode={zoom.node}
          onZoom={zoom.zoomTo}
          values={values}
          percentOf={total}
          ariaLabel={`Flame graph: width is share of ${values.what}`}
        />
      )}
    </section>
  );
}
