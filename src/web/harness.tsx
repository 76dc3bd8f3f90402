import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { FlameGraph } from '../profile/flame.js';
import { FlameGraphView } from './flame/FlameGraphView.js';
import { syntheticFlame } from './flame/testing.js';
import { searchFlame } from '../profile/focus.js';
import { valueFormat } from './units.js';
import './styles.css';

import './debug.js';

/**
 * The flame graph alone, fed by `window.__harness.load(graph)` or `.synthetic(nodes)`: what the
 * benchmark drives, so it measures the renderer without a server or a network in the way.
 */
function Harness() {
  const [graph, setGraph] = useState<FlameGraph | null>(null);
  const [gen, setGen] = useState(0);
  const [zoom, setZoom] = useState<readonly string[]>([]);
  const [search, setSearch] = useState('');
  window.__harness = {
    load: (g) => {
      setGraph(g);
      setZoom([]);
      setGen((n) => n + 1);
    },
    search: (q) => setSearch(q),
    searchFlame,
    make: (nodes, seed = 1) => syntheticFlame(nodes, seed),
    synthetic: (nodes, seed = 1) => {
      const g = syntheticFlame(nodes, seed);
      setGraph(g);
      setGen((n) => n + 1);
      return g.frame.length;
    },
  };
  if (!graph) return <p>waiting for a graph</p>;
  return (
    <div className="harness">
      <FlameGraphView
        key={gen}
        graph={graph}
        values={valueFormat(null, 10_000_000)}
        selectedKey={null}
        onClearSelected={() => undefined}
        zoom={zoom}
        search={search}
        onZoomChange={setZoom}
        onSearchChange={setSearch}
      />
    </div>
  );
}

createRoot(document.getElementById('root')!).render(<Harness />);
