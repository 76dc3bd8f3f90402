import type { CallTree } from './calltree.js';

/**
 * Children of every node in two flat arrays (compressed sparse rows): the children of `n` are
 * `kids[start[n] .. start[n + 1])`, in node-id order or, given `order` (every node but the
 * root, once), in that order. One allocation instead of an array per node, which is what the
 * flame graph and symbols walks spent most of their time on.
 */
export interface ChildIndex {
  start: Int32Array;
  kids: Int32Array;
}

export function childIndex(tree: CallTree, order?: Int32Array): ChildIndex {
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
