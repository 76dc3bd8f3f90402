import { ColumnTree } from './calltree.js';
import { childrenByName, nameRanks, preOrder, type PreOrder } from './children.js';
import type { FlameGraph } from './flame.js';

/** How a written-out tree orders each node's children. */
export type ChildOrder = 'name' | 'heavy';

/** A tree as flat arrays indexed by node id; node 0 is the root (its parent -1). */
export interface FlatTree {
  size: number;
  parent: ArrayLike<number>;
  frame: ArrayLike<number>;
  self: ArrayLike<number>;
  total: ArrayLike<number>;
}

/**
 * Writes the subtree of `start` out as a FlameGraph in pre-order (`start` at depth 0). Children
 * by name (ties by frame id), the order the server sends; or `heavy`: largest total first
 * (ties by name), speedscope's left-heavy order. Linear apart from the ordering: children
 * are bucketed by parent in flat arrays (no array per node), by name with one counting sort
 * over the frames' name ranks (children.ts).
 */
export function writeFlame(tree: FlatTree, frames: FlameGraph['frames'], start: number, order: ChildOrder): FlameGraph {
  const { size, frame, total } = tree;
  if (start >= size) return { frames, frame: [], depth: [], total: [], self: [] };
  const rank = nameRanks(frames.name);
  const index = childrenByName(tree, rank);
  if (order === 'heavy') {
    const { start: first, kids } = index;
    const heavier = (a: number, b: number): number => total[b] - total[a] || rank[frame[a]] - rank[frame[b]];
    for (let n = 0; n < size; n++) if (first[n + 1] - first[n] > 1) kids.subarray(first[n], first[n + 1]).sort(heavier);
  }
  return flameOf(frames, preOrder(index, start), tree);
}

/** A FlameGraph of the nodes `order` lists, their columns read from the tree's. */
export function flameOf(frames: FlameGraph['frames'], { node, depth }: PreOrder, tree: Omit<FlatTree, 'size' | 'parent'>): FlameGraph {
  const { frame, self, total } = tree;
  const count = node.length;
  const outFrame = new Array<number>(count);
  const outDepth = new Array<number>(count);
  const outTotal = new Array<number>(count);
  const outSelf = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const n = node[i];
    outFrame[i] = frame[n];
    outDepth[i] = depth[i];
    outTotal[i] = total[n];
    outSelf[i] = self[n];
  }
  return { frames, frame: outFrame, depth: outDepth, total: outTotal, self: outSelf };
}

/**
 * A call tree built node by node (a child per (parent, frame), created on first use), then
 * written out as a FlameGraph. What the sandwich and the flame graph transforms (transform.ts)
 * build their trees with: a ColumnTree (calltree.ts) whose two value columns are `self` and
 * `total`. Node 0 is a root whose frame the caller picks (-1 for an "all" node).
 */
export class TreeBuilder extends ColumnTree implements FlatTree {
  constructor(rootFrame = -1, capacity = 1024) {
    super(2, rootFrame, capacity);
  }

  /** Per node, samples as the leaf (replaced as nodes are added: read it after `child`). */
  get self(): Float64Array {
    return this.column(0);
  }

  /** Per node, samples with descendants, as the caller adds them up. */
  get total(): Float64Array {
    return this.column(1);
  }

  /** The subtree of `start` as a FlameGraph (see writeFlame). */
  toFlame(frames: FlameGraph['frames'], start: number, order: ChildOrder = 'name'): FlameGraph {
    return writeFlame(this, frames, start, order);
  }
}
