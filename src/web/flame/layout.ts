import type { FlameGraph } from '../../profile/flame.js';
import { frameKey } from '../../profile/transform.js';

/**
 * Geometry derived once per flame graph, in sample units (the view maps samples to pixels).
 * Everything is a typed array indexed by node id; the graph's pre-order means a node's
 * subtree is the contiguous range [node, end[node]), which lets culling skip a whole
 * subtree with one jump.
 */
export interface FlameLayout {
  readonly graph: FlameGraph;
  readonly size: number;
  /** Left edge of each node, in samples from the root's left edge. */
  readonly x: Float64Array;
  readonly parent: Int32Array;
  /** One past the last node of each node's subtree. */
  readonly end: Int32Array;
  readonly maxDepth: number;
  /** Node ids per depth, left to right: hit testing is a binary search in one row. */
  readonly rows: Int32Array[];
  readonly rootTotal: number;
}

/** Layouts by graph: a graph laid out ahead of its render (useProfile) is not laid out again. */
const layouts = new WeakMap<FlameGraph, FlameLayout>();

export function layoutFlame(graph: FlameGraph): FlameLayout {
  let layout = layouts.get(graph);
  if (!layout) layouts.set(graph, (layout = computeLayout(graph)));
  return layout;
}

function computeLayout(graph: FlameGraph): FlameLayout {
  const { depth, total } = graph;
  const size = depth.length;
  let maxDepth = 0;
  for (let i = 0; i < size; i++) if (depth[i] > maxDepth) maxDepth = depth[i];
  const x = new Float64Array(size);
  const parent = new Int32Array(size).fill(-1);
  const end = new Int32Array(size);
  // cursor[d]: where the next node at depth d starts; last[0..open): the open node at each
  // depth. Typed arrays sized by the depth: a live update lays out every node again, and JS
  // arrays whose length changes per node would make this several times slower on large trees.
  const cursor = new Float64Array(maxDepth + 2);
  const last = new Int32Array(maxDepth + 1);
  let open = 0;
  const rowCounts = new Int32Array(maxDepth + 1);
  for (let i = 0; i < size; i++) {
    const d = depth[i];
    // Every open node at depth >= d ends here.
    for (let k = open - 1; k >= d; k--) end[last[k]] = i;
    open = d;
    last[open++] = i;
    const xi = cursor[d];
    x[i] = xi;
    cursor[d] = xi + total[i];
    cursor[d + 1] = xi;
    if (d > 0) parent[i] = last[d - 1];
    rowCounts[d]++;
  }
  for (let k = 0; k < open; k++) end[last[k]] = size;
  const rows: Int32Array[] = [];
  const fill = new Int32Array(maxDepth + 1);
  for (let d = 0; d <= maxDepth && size > 0; d++) rows.push(new Int32Array(rowCounts[d]));
  for (let i = 0; i < size; i++) rows[depth[i]][fill[depth[i]]++] = i;
  return { graph, size, x, parent, end, maxDepth: size > 0 ? maxDepth : -1, rows, rootTotal: size > 0 ? total[0] : 0 };
}

/** The node at `depth` covering sample offset `xs`, or -1. */
export function nodeAt(layout: FlameLayout, depth: number, xs: number): number {
  const row = layout.rows[depth];
  if (!row || row.length === 0) return -1;
  let lo = 0;
  let hi = row.length - 1;
  // Last node whose left edge is <= xs.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (layout.x[row[mid]] <= xs) lo = mid;
    else hi = mid - 1;
  }
  const node = row[lo];
  return xs >= layout.x[node] && xs < layout.x[node] + layout.graph.total[node] ? node : -1;
}

/** Child node ids of `node`, left to right. */
export function childrenOf(layout: FlameLayout, node: number): number[] {
  const out: number[] = [];
  for (let c = node + 1; c < layout.end[node]; c = layout.end[c]) out.push(c);
  return out;
}

/** Nodes from the root down to `node`, inclusive. */
export function ancestry(layout: FlameLayout, node: number): number[] {
  const out: number[] = [];
  for (let n = node; n >= 0; n = layout.parent[n]) out.push(n);
  return out.reverse();
}

/** A frame's identity as text: survives a new flame graph where frame ids are renumbered (transform.ts frameKey). */
export function frameKeyOf(graph: FlameGraph, frame: number): string {
  return frameKey(graph.frames, frame);
}

/** The frame keys on the path to `node` (root excluded): how zoom survives live updates. */
export function keyPath(layout: FlameLayout, node: number): string[] {
  return ancestry(layout, node)
    .slice(1)
    .map((n) => frameKeyOf(layout.graph, layout.graph.frame[n]));
}

/**
 * Follows a key path in a (new) layout. Returns the deepest node reached and whether the
 * whole path was found, so a zoom whose frame vanished falls back to its nearest ancestor.
 */
export function resolveKeyPath(layout: FlameLayout, path: readonly string[]): { node: number; complete: boolean } {
  if (layout.size === 0) return { node: -1, complete: path.length === 0 };
  let node = 0;
  for (const key of path) {
    let next = -1;
    for (const c of childrenOf(layout, node)) {
      if (frameKeyOf(layout.graph, layout.graph.frame[c]) === key) {
        next = c;
        break;
      }
    }
    if (next < 0) return { node, complete: false };
    node = next;
  }
  return { node, complete: true };
}
