import type { FlameLayout } from './layout.js';
import { ancestry } from './layout.js';

interface Props {
  layout: FlameLayout;
  node: number;
  onZoom: (node: number) => void;
  /** Said beside the root when not zoomed. */
  hint?: string;
}

/** all › main › serve › handle: each step zooms out to it. Long paths keep both ends. */
export function Breadcrumb({ layout, node, onZoom, hint = 'click a frame to zoom in' }: Props) {
  const path = ancestry(layout, node);
  const shown = path.length > 8 ? [...path.slice(0, 2), -1, ...path.slice(-5)] : path;
  return (
    <nav className="breadcrumb" aria-label="Zoom path">
      {shown.map((n, i) => {
        if (n === -1) {
          return (
            <span key="gap" className="crumb-gap">
              …
            </span>
          );
        }
        const f = layout.graph.frame[n];
        const name = f < 0 ? 'all' : layout.graph.frames.name[f];
        const current = n === node;
        return (
          <span key={n} className="crumb">
            {i > 0 && <span className="crumb-sep">›</span>}
            <button type="button" className={current ? 'crumb-btn current' : 'crumb-btn'} onClick={() => onZoom(n)} disabled={current} title={name}>
              {name}
            </button>
          </span>
        );
      })}
      {node === 0 && <span className="crumb-hint">{hint}</span>}
    </nav>
  );
}
