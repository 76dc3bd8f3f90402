/** A tree as its parent links: node 0 is the root (parent -1), every other node's parent has a smaller id. */
export interface ParentLinks {
  size: number;
  parent: ArrayLike<number>;
}

/**
 * Children of every node in two flat arrays (compressed sparse rows): the children of `n` are
 * `kids[start[n] .. start[n + 1])`, in node-id order or, given `order` (every node but the
 * root, once), in that order. One allocation instead of an array per node, which is what the
 * flame graph and symbols walks would spend most of their time on.
 */
export interface ChildIndex {
  start: Int32Array;
  kids: Int32Array;
}

export function childIndex(tree: ParentLinks, order?: Int32Array): ChildIndex {
  const size = tree.size;
  const parent = tree.parent;
  const start = new Int32Array(size + 1);
  for (let n = 1; n < size; n++) start[parent[n] + 1]++;
  for (let n = 0; n < size; n++) start[n + 1] += start[n];
  const fill = start.slice(0, size);
  const kids = new Int32Array(Math.max(0, size - 1));
  if (order) {
    for (let i = 0; i < order.length; i++) kids[fill[parent[order[i]]]++] = order[i];
  } else {
    for (let n = 1; n < size; n++) kids[fill[parent[n]]++] = n;
  }
  return { start, kids };
}

/** Each frame's position when frames are sorted by name, ties by id: per names array, computed once. */
const rankCache = new WeakMap<readonly string[], Int32Array>();

/** Per frame id, its place among `names` sorted (ties by id), as childrenByName takes it. */
export function nameRanks(names: readonly string[]): Int32Array {
  let rank = rankCache.get(names);
  if (rank) return rank;
  const order = Array.from(names.keys());
  order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b));
  rank = new Int32Array(names.length);
  for (let i = 0; i < order.length; i++) rank[order[i]] = i;
  rankCache.set(names, rank);
  return rank;
}

/**
 * The child index with each node's children ordered by their frames' `rank` (a frame's place
 * in name order, ties by id): every node but the root bucketed by rank in one counting sort,
 * then by parent, instead of a sort per node. The root's frame may be -1.
 */
export function childrenByName(tree: ParentLinks & { frame: ArrayLike<number> }, rank: Int32Array): ChildIndex {
  const { size, frame } = tree;
  const next = new Int32Array(rank.length + 1);
  for (let n = 1; n < size; n++) next[rank[frame[n]] + 1]++;
  for (let r = 0; r < rank.length; r++) next[r + 1] += next[r];
  const order = new Int32Array(Math.max(0, size - 1));
  for (let n = 1; n < size; n++) order[next[rank[frame[n]]]++] = n;
  return childIndex(tree, order);
}

/** Nodes in depth-first pre-order (children in the index's order), each with its depth. */
export interface PreOrder {
  node: Int32Array;
  depth: Int32Array;
}

/**
 * The subtree of `start` in pre-order, `start` at depth 0. With `keep`, a node other than
 * `start` whose keep value is not above 0 (a path a running aggregate took back to zero) is
 * left out with everything under it. The columns of a flame graph are then read per node.
 */
export function preOrder({ start: first, kids }: ChildIndex, start: number, keep?: ArrayLike<number>): PreOrder {
  const size = first.length - 1;
  const node = new Int32Array(size);
  const depth = new Int32Array(size);
  const stack = new Int32Array(size);
  const depths = new Int32Array(size);
  let sp = 0;
  let count = 0;
  stack[sp] = start;
  depths[sp++] = 0;
  while (sp > 0) {
    const n = stack[--sp];
    const d = depths[sp];
    if (keep && n !== start && keep[n] <= 0) continue;
    node[count] = n;
    depth[count++] = d;
    // Pushed in reverse, so the first child is written first.
    for (let i = first[n + 1] - 1; i >= first[n]; i--) {
      stack[sp] = kids[i];
      depths[sp++] = d + 1;
    }
  }
  return { node: node.subarray(0, count), depth: depth.subarray(0, count) };
}
