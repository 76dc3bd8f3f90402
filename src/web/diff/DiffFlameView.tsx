import { useMemo, useState } from 'react';
import { createPortal } from 'react-dom';
import type { DiffResponse } from '../../api/types.js';
import { layoutFlame } from '../flame/layout.js';
import { frameColors, PALETTE, DIFF_BASE, DIFF_STEPS } from '../flame/colors.js';
import { useZoom } from '../flame/useZoom.js';
import { useHighlight } from '../flame/useHighlight.js';
import { FlameChart } from '../flame/FlameChart.js';
import { Breadcrumb } from '../flame/Breadcrumb.js';
import { formatPercent } from '../flame/text.js';
import { valueFormat } from '../units.js';
import { diffLayoutGraph, diffNodeColors, formatDelta, nodeDeltas, nodeSignificance, noiseBand, share } from './diffGraph.js';

interface Props {
  diff: DiffResponse;
  baseLabel: string;
  targetLabel: string;
}

/** The diff flame graph: widths are the mean share of both sides, colour the change in share. */
export function DiffFlameView({ diff, baseLabel, targetLabel }: Props) {
  const B = diff.base.samples;
  const T = diff.target.samples;
  // Sample counts for CPU (as both sides' shares compare them), the type's unit otherwise.
  const values = valueFormat(diff.type, 0);
  const graph = useMemo(() => diffLayoutGraph(diff.flame, B, T), [diff, B, T]);
  const layout = useMemo(() => layoutFlame(graph), [graph]);
  const colors = useMemo(() => frameColors(graph.frames.name, graph.frames.kind), [graph]);
  const deltas = useMemo(() => nodeDeltas(diff.flame, B, T), [diff, B, T]);
  const significant = useMemo(() => nodeSignificance(diff.flame, B, T), [diff, B, T]);
  const nodeColors = useMemo(() => diffNodeColors(deltas, significant), [deltas, significant]);
  // Below the root, is any change beyond noise? And how wide is the band for a frame at half the samples?
  const anySignificant = significant.some((s, i) => i > 0 && s === 1);
  const band = noiseBand(0.5, 0.5, B, T);
  const zoom = useZoom(layout);
  // Search greys what does not match, as in the profile's graph (same syntax: text or /regex/).
  const [search, setSearch] = useState('');
  const hl = useHighlight(layout, search, null, zoom.node);
  const f = diff.flame;

  const tooltip = (node: number, clientX: number, clientY: number) => {
    const fr = f.frame[node];
    const name = fr < 0 ? 'all' : f.frames.name[fr];
    const left = clientX + 380 > window.innerWidth ? Math.max(4, clientX - 384) : clientX + 14;
    const top = clientY + 150 > window.innerHeight ? Math.max(4, clientY - 150) : clientY + 14;
    return createPortal(
      <div className="flame-tooltip" role="tooltip" style={{ left, top }}>
        <div className="tt-name">{name}</div>
        <table>
          <tbody>
            <tr>
              <th>Base</th>
              <td>{values.full(f.baseTotal[node])}</td>
              <td className="tt-pct">{formatPercent(share(f.baseTotal[node], B))}</td>
            </tr>
            <tr>
              <th>Comparison</th>
              <td>{values.full(f.total[node])}</td>
              <td className="tt-pct">{formatPercent(share(f.total[node], T))}</td>
            </tr>
            <tr>
              <th>Change</th>
              <td colSpan={2} className={deltas[node] > 0 ? 'delta up' : deltas[node] < 0 ? 'delta down' : 'delta'}>
                {formatDelta(deltas[node])} of all {values.cpu ? 'samples' : values.what}
                {!significant[node] && ', within sampling noise'}
              </td>
            </tr>
            {fr >= 0 && f.frames.binary[fr] && (
              <tr>
                <th>Binary</th>
                <td colSpan={2}>{f.frames.binary[fr]}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>,
      document.body,
    );
  };

  return (
    <section className="flame-panel diff" aria-label="Diff flame graph">
      <div className="flame-toolbar">
        <input
          type="search"
          className="search"
          placeholder="Search (text or /regex/)"
          aria-label="Search the diff"
          value={search}
          aria-invalid={hl.searchError !== null}
          onChange={(e) => setSearch(e.target.value)}
        />
        {hl.searchError && (
          <span className="search-error" role="alert">
            {hl.searchError}
          </span>
        )}
        <span className="diff-legend" aria-label="Colour legend" title="Colour: change in share of all samples. Width: the mean of both sides' shares.">
          <span className="swatch" style={{ background: PALETTE[DIFF_BASE] }} /> shrank
          <span className="swatch" style={{ background: PALETTE[DIFF_BASE + DIFF_STEPS] }} /> unchanged
          <span className="swatch" style={{ background: PALETTE[DIFF_BASE + 2 * DIFF_STEPS] }} /> grew
        </span>
        <span className="spacer" />
        <button type="button" className="btn" onClick={zoom.reset} disabled={zoom.node === 0}>
          Reset zoom
        </button>
      </div>
      <div className="diff-sides muted" data-testid="diff-summary">
        Base: {baseLabel}, {values.full(B)} · comparison: {targetLabel}, {values.full(T)}
      </div>
      {Number.isFinite(band) && (
        <div className={anySignificant ? 'diff-noise muted' : 'diff-noise warn'} data-testid="diff-noise">
          {anySignificant
            ? `Grey: changes within sampling noise at these counts (up to ±${formatDelta(band).replace(/^[+−]/, '')} for a function on half the samples).`
            : `No change beyond sampling noise: with ${values.full(B)} and ${values.full(T)}, a function's share moves by up to ±${formatDelta(band).replace(/^[+−]/, '')} by chance. Compare longer ranges for a clearer answer.`}
        </div>
      )}
      {layout.rootTotal > 0 && <Breadcrumb layout={layout} node={zoom.node} onZoom={zoom.zoomTo} />}
      {layout.rootTotal > 0 ? (
        <FlameChart
          probe="diff"
          layout={layout}
          colors={colors}
          nodeColors={nodeColors}
          highlight={hl.frames}
          zoomNode={zoom.node}
          onZoom={zoom.zoomTo}
          values={values}
          percentOf={layout.rootTotal}
          tooltip={tooltip}
          ariaLabel="Diff flame graph: width is the mean share of both sides, red grew, blue shrank"
        />
      ) : (
        <p className="muted">Neither side has samples.</p>
      )}
    </section>
  );
}
