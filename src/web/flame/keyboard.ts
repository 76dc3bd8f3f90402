import { childrenOf, type FlameLayout } from './layout.js';

/** A keyboard step between frames: to the caller, into a callee, or to the previous / next sibling. */
export type FrameMove = 'parent' | 'child' | 'prev' | 'next';

/** Whether `a` is a strict ancestor of `b` (pre-order: b lies inside a's subtree). */
export function isAncestor(layout: FlameLayout, a: number, b: number): boolean {
  return a < b && layout.end[a] > b;
}

/**
 * Where a keyboard step from `node` lands, zoomed to `zoomNode`. Only drawn frames are reached:
 * the zoomed subtree and the zoomed frame's ancestors (the full-width rows above it).
 * - parent: the caller; the root stays.
 * - child: the largest callee (the first of equals); from an ancestor of the zoomed frame, the
 *   one callee on the way to it.
 * - prev / next: the sibling to the left / right, in drawing order; none beside the zoomed
 *   frame and its ancestors, whose siblings are off screen.
 * A step with nowhere to go returns `node`.
 */
export function moveFrame(layout: FlameLayout, node: number, move: FrameMove, zoomNode: number): number {
  if (node < 0 || node >= layout.size) return node;
  const depth = layout.graph.depth;
  switch (move) {
    case 'parent':
      return node > 0 ? layout.parent[node] : node;
    case 'child': {
      if (isAncestor(layout, node, zoomNode)) {
        let c = zoomNode;
        while (layout.parent[c] !== node) c = layout.parent[c];
        return c;
      }
      let best = -1;
      for (const c of childrenOf(layout, node)) if (best < 0 || layout.graph.total[c] > layout.graph.total[best]) best = c;
      return best < 0 ? node : best;
    }
    case 'prev':
    case 'next': {
      if (depth[node] <= depth[zoomNode] || node === 0) return node;
      const sibs = childrenOf(layout, layout.parent[node]);
      const i = sibs.indexOf(node) + (move === 'next' ? 1 : -1);
      return i >= 0 && i < sibs.length ? sibs[i] : node;
    }
  }
}
