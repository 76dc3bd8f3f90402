import { useMemo } from 'react';
import type { FlameGraph } from '../../profile/flame.js';
import { sandwich } from '../../profile/sandwich.js';
import { layoutFlame, type FlameLayout } from '../flame/layout.js';
import { frameColors } from '../flame/colors.js';
import { FlameChart } from '../flame/FlameChart.js';
import { useZoom } from '../flame/useZoom.js';
import { frameIdByKey } from '../flame/useHighlight.js';
import { formatPercent } from '../flame/text.js';
import type { ValueFormat } from '../units.js';

interface Props {
  graph: FlameGraph;
  selectedKey: string | null;
  values: ValueFormat;
}

function Half({
  probe,
  layout,
  colors,
  title,
  inverted,
  values,
  percentOf,
}: {
  probe: string;
  layout: FlameLayout;
  colors: Uint16Array;
  title: string;
  inverted: boolean;
  values: ValueFormat;
  percentOf: number;
}) {
  const zoom = useZoom(layout);
  return (
    <div className={`sandwich-half ${inverted ? 'callers' : 'callees'}`}>
      <div className="sandwich-title">
        {title}
        {zoom.node > 0 && (
          <button type="button" className="btn small" onClick={zoom.reset}>
            Reset zoom
          </button>
        )}
      </div>
      <FlameChart
        probe={probe}
        layout={layout}
        colors={colors}
        highlight={null}
        zoomNode={zoom.node}
        onZoom={zoom.zoomTo}
        values={values}
        percentOf={percentOf}
        inverted={inverted}
        ariaLabel={title}
      />
    </div>
  );
}

/**
 * The sandwich of one function: who calls it (above, growing upwards from it) and what it
 * calls (below). Both halves are flame graphs computed in the browser from the profile's.
 */
export function SandwichView({ graph, selectedKey, values }: Props) {
  const fn = useMemo(() => frameIdByKey(graph, selectedKey), [graph, selectedKey]);
  const s = useMemo(() => (fn >= 0 ? sandwich(graph, fn) : null), [graph, fn]);
  const callers = useMemo(() => (s ? layoutFlame(s.callers) : null), [s]);
  const callees = useMemo(() => (s ? layoutFlame(s.callees) : null), [s]);
  const colors = useMemo(() => frameColors(graph.frames.name, graph.frames.kind), [graph]);
  if (!s || !callers || !callees) {
    return (
      <div className="sandwich-empty muted" data-testid="sandwich-empty">
        {selectedKey ? 'That function is not in the current profile.' : 'Pick a function in the table to see its callers and callees.'}
      </div>
    );
  }
  const name = graph.frames.name[fn];
  const all = graph.total[0] ?? 0;
  const share = all > 0 ? s.total / all : 0;
  return (
    <section className="sandwich" aria-label={`Sandwich view of ${name}`}>
      <div className="sandwich-head">
        <strong className="sandwich-fn">{name}</strong>
        <span className="muted">
          total {formatPercent(share)}
          {values.amount(s.total) !== null && ` (${values.amount(s.total)})`} · self {formatPercent(all > 0 ? s.self / all : 0)}
        </span>
      </div>
      <Half probe="callers" layout={callers} colors={colors} title="Callers" inverted values={values} percentOf={all} />
      <Half probe="callees" layout={callees} colors={colors} title="Callees" inverted={false} values={values} percentOf={all} />
    </section>
  );
}
