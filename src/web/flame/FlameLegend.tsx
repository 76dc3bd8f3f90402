import { useMemo } from 'react';
import type { FlameGraph } from '../../profile/flame.js';
import { legendEntries } from './colors.js';

/** The frame types of the frames a graph draws (not every frame in its table). */
function kindsDrawn(graph: FlameGraph): Set<string> {
  const kinds = new Set<string>();
  const seen = new Uint8Array(graph.frames.kind.length);
  for (const f of graph.frame) {
    if (f < 0 || seen[f] === 1) continue;
    seen[f] = 1;
    kinds.add(graph.frames.kind[f] ?? '');
  }
  return kinds;
}

/** Stripes of a family's shades: the swatch shows every colour its frames are drawn in. */
function stripes(shades: readonly string[]): string {
  const w = 100 / shades.length;
  return `linear-gradient(90deg, ${shades.map((c, i) => `${c} ${(i * w).toFixed(2)}% ${((i + 1) * w).toFixed(2)}%`).join(', ')})`;
}

/** Which colour is which frame type (kernel, native, JS, Python, …), for the types in the graph. */
export function FlameLegend({ graph }: { graph: FlameGraph }) {
  const entries = useMemo(() => legendEntries(kindsDrawn(graph)), [graph]);
  if (entries.length === 0) return null;
  return (
    <ul className="flame-legend" aria-label="Frame colours by type">
      {entries.map((e) => (
        <li
          key={e.kind}
          data-kind={e.kind}
          data-shades={e.shades.join('|')}
          title={`${e.label}: frames of type ${e.kind}${e.kind === 'native' ? ' (and of no or another type)' : ''}`}
        >
          <span className="legend-swatch" style={{ background: stripes(e.shades) }} aria-hidden="true" />
          {e.label}
        </li>
      ))}
    </ul>
  );
}
