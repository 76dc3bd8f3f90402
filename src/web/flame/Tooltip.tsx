import { createPortal } from 'react-dom';
import type { FlameLayout } from './layout.js';
import { formatPercent } from './text.js';
import type { ValueFormat } from '../units.js';

interface Props {
  layout: FlameLayout;
  node: number;
  clientX: number;
  clientY: number;
  /** How the values read (CPU samples and time, off-CPU time, bytes, …). */
  values: ValueFormat;
  /** Samples that make 100% (the whole profile). */
  percentOf: number;
  /** What the pointer or the keyboard can do here; default: click to zoom. */
  hint?: string;
}

/** Everything known about the frame under the mouse. Profile text is rendered as text only. */
export function FlameTooltip({ layout, node, clientX, clientY, values, percentOf, hint }: Props) {
  const g = layout.graph;
  const f = g.frame[node];
  const name = f < 0 ? 'all' : g.frames.name[f];
  const file = f < 0 ? '' : g.frames.file[f];
  const line = f < 0 ? 0 : g.frames.line[f];
  const binary = f < 0 ? '' : g.frames.binary[f];
  const kind = f < 0 ? '' : g.frames.kind[f];
  const total = g.total[node];
  const self = g.self[node];
  const value = values.full;
  // Keep the box on screen: flip to the left / above the pointer near the edges.
  const left = clientX + 360 > window.innerWidth ? Math.max(4, clientX - 364) : clientX + 14;
  const top = clientY + 170 > window.innerHeight ? Math.max(4, clientY - 170) : clientY + 14;
  // A portal: a transformed ancestor (the sliding drawer) would otherwise re-anchor `position: fixed`.
  return createPortal(
    <div className="flame-tooltip" role="tooltip" style={{ left, top }}>
      <div className="tt-name">{name}</div>
      <table>
        <tbody>
          <tr>
            <th>Total</th>
            <td>{value(total)}</td>
            <td className="tt-pct">{formatPercent(percentOf > 0 ? total / percentOf : 0)}</td>
          </tr>
          <tr>
            <th>Self</th>
            <td>{value(self)}</td>
            <td className="tt-pct">{formatPercent(percentOf > 0 ? self / percentOf : 0)}</td>
          </tr>
          {file && (
            <tr>
              <th>File</th>
              <td colSpan={2}>{line > 0 ? `${file}:${line}` : file}</td>
            </tr>
          )}
          {binary && (
            <tr>
              <th>Binary</th>
              <td colSpan={2}>{binary}</td>
            </tr>
          )}
          {kind && (
            <tr>
              <th>Type</th>
              <td colSpan={2}>{kind}</td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="tt-hint">{hint ?? (f < 0 ? 'Click to reset zoom' : 'Click to zoom')}</div>
    </div>,
    document.body,
  );
}
