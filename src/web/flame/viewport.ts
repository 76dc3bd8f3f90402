import type { FlameLayout } from './layout.js';

/** What part of the flame graph is on screen, in samples horizontally and pixels vertically. */
export interface Viewport {
  /** Left edge of the view in samples (the zoomed node's x). */
  x0: number;
  /** Samples across the view (the zoomed node's total). */
  span: number;
  /** CSS pixels. */
  width: number;
  height: number;
  rowHeight: number;
  /** Vertical scroll in CSS pixels. */
  scrollTop: number;
  /** Root at the bottom (the callers half of a sandwich). */
  inverted: boolean;
}

/** Nodes narrower than this are not drawn: they would be less than one pixel of colour. */
export const MIN_NODE_PX = 0.5;

/** Total height of the graph in CSS pixels. */
export function contentHeight(layout: FlameLayout, rowHeight: number): number {
  return (layout.maxDepth + 1) * rowHeight;
}

export function rowTop(layout: FlameLayout, view: Viewport, depth: number): number {
  const y = view.inverted ? contentHeight(layout, view.rowHeight) - (depth + 1) * view.rowHeight : depth * view.rowHeight;
  return y - view.scrollTop;
}

/** Depth of the row under a y coordinate (CSS px in the canvas), or -1. */
export function depthAt(layout: FlameLayout, view: Viewport, y: number): number {
  const yc = y + view.scrollTop;
  const fromTop = Math.floor(yc / view.rowHeight);
  const depth = view.inverted ? layout.maxDepth - fromTop : fromTop;
  return depth >= 0 && depth <= layout.maxDepth ? depth : -1;
}

/**
 * Collects the nodes to draw into `out` (reused between frames) and returns how many.
 *
 * Culling, in pre-order, with whole subtrees skipped by jumping to `end[node]`:
 *  1. a node outside the view horizontally: its children lie inside it, skip the subtree;
 *  2. a node narrower than MIN_NODE_PX: its children are narrower still, skip the subtree;
 *  3. a row past the far edge of the view vertically: deeper rows are further, skip the subtree;
 *  4. a row before the near edge: not drawn, but its children may be visible, so descend.
 * The work is proportional to the drawn nodes (plus their direct children), not the graph.
 */
export function visibleNodes(layout: FlameLayout, view: Viewport, out: Int32Array): number {
  const { x, end } = layout;
  const { total, depth } = layout.graph;
  const scale = view.width / view.span;
  const rh = view.rowHeight;
  let count = 0;
  let i = 0;
  const n = layout.size;
  while (i < n) {
    const left = (x[i] - view.x0) * scale;
    const w = total[i] * scale;
    if (left >= view.width || left + w <= 0 || w < MIN_NODE_PX) {
      i = end[i];
      continue;
    }
    const top = rowTop(layout, view, depth[i]);
    const beyond = view.inverted ? top + rh <= 0 : top >= view.height;
    if (beyond) {
      i = end[i];
      continue;
    }
    const before = view.inverted ? top >= view.height : top + rh <= 0;
    if (!before) {
      if (count === out.length) return count;
      out[count++] = i;
    }
    i++;
  }
  return count;
}
