import type { CallTree } from './calltree.js';
import { childIndex, type ChildIndex } from './children.js';
import { frameNameOrder } from './name-order.js';

export interface SymbolRow {
  name: string;
  file: string;
  binary: string;
  kind: string;
  /** Samples whose leaf is this function. */
  self: number;
  /** Samples whose stack contains this function at least once (recursion counted once). */
  total: number;
  selfNanos: number;
  totalNanos: number;
}

/** The last table built per tree, with the tree version it was built from. */
const cache = new WeakMap<CallTree, { version: number; rows: SymbolRow[] }>();

/**
 * One row per function, sorted by self (then total, then name), descending. Cached per tree
 * until the tree changes (see flameGraph); the rows are shared and must be treated as read-only.
 */
export function symbolsTable(tree: CallTree): SymbolRow[] {
  const hit = cache.get(tree);
  if (hit && hit.version === tree.version) return hit.rows;
  const rows = buildSymbolsTable(tree);
  cache.set(tree, { version: tree.version, rows });
  return rows;
}

function buildSymbolsTable(tree: CallTree): SymbolRow[] {
  const nFrames = tree.frames.size;
  const [samples, nanos] = sumByFrame(tree, nFrames, childIndex(tree), [
    { self: tree.selfSamples, total: tree.totals('samples') },
    { self: tree.selfNanos, total: tree.totals('nanos') },
  ]);
  const { self, total } = samples;
  const { self: selfNanos, total: totalNanos } = nanos;
  // Rows by self, then total, then name (ties: frame id), compared as numbers: the names'
  // order is kept per frame table (name-order.ts) rather than comparing strings per row.
  const ids: number[] = [];
  for (let f = 0; f < nFrames; f++) if (total[f] !== 0 || self[f] !== 0) ids.push(f);
  const rank = frameNameOrder(tree.frames).rank;
  ids.sort((a, b) => self[b] - self[a] || total[b] - total[a] || rank[a] - rank[b]);
  const rows = new Array<SymbolRow>(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const f = ids[i];
    const fr = tree.frames.get(f);
    rows[i] = {
      name: fr.name,
      file: fr.file,
      binary: fr.binary,
      kind: fr.kind,
      self: self[f],
      total: total[f],
      selfNanos: selfNanos[f],
      totalNanos: totalNanos[f],
    };
  }
  rowFrames.set(rows, Int32Array.from(ids));
  return rows;
}

/** The frame id of each row of a table symbolsTable built (its frame in the tree's frame table). */
const rowFrames = new WeakMap<readonly SymbolRow[], Int32Array>();

/** Per row of `rows` (as symbolsTable returned them), the id of its frame; undefined for rows from elsewhere. */
export function symbolRowFrames(rows: readonly SymbolRow[]): Int32Array | undefined {
  return rowFrames.get(rows);
}

/** A value of a tree's nodes, as the leaf and with descendants (see sumByFrame). */
export interface NodeValues {
  self: ArrayLike<number>;
  total: ArrayLike<number>;
}

/** One value summed per frame id (see sumByFrame). */
export interface FrameSums {
  /** Per frame: the sum over every node of the frame. */
  self: Float64Array;
  /** Per frame: the sum over the outermost node of the frame on each path, so recursion is counted once. */
  total: Float64Array;
}

/**
 * Per frame, for each of `values`, what a symbols row shows: self summed over every node of
 * the frame; total only where no ancestor has the same frame, so a sample whose stack holds
 * the function twice (recursion) counts once. Nodes are visited depth first, children in the
 * index's order (childIndex or childrenByName, children.ts), the root (node 0) left out; with
 * `keep`, a node whose keep value is not above 0 is left out with everything under it, as
 * preOrder leaves it out of a flame graph.
 */
export function sumByFrame(
  tree: { frame: ArrayLike<number> },
  nFrames: number,
  { start, kids }: ChildIndex,
  values: readonly NodeValues[],
  keep?: ArrayLike<number>,
): FrameSums[] {
  const sums = values.map(() => ({ self: new Float64Array(nFrames), total: new Float64Array(nFrames) }));
  // How often each frame is on the path from the root to the current node.
  const onPath = new Int32Array(nFrames);
  const frameOf = tree.frame;
  // Each node is pushed once on entry and once (as ~node) to leave it: 2 × size bounds the stack.
  const stack = new Int32Array(2 * (start.length - 1));
  let sp = 0;
  for (let i = start[1] - 1; i >= start[0]; i--) stack[sp++] = kids[i];
  while (sp > 0) {
    const n = stack[--sp];
    if (n < 0) {
      onPath[frameOf[~n]]--;
      continue;
    }
    if (keep && keep[n] <= 0) continue;
    const f = frameOf[n];
    const outermost = onPath[f] === 0;
    for (let v = 0; v < values.length; v++) {
      sums[v].self[f] += values[v].self[n];
      if (outermost) sums[v].total[f] += values[v].total[n];
    }
    onPath[f]++;
    stack[sp++] = ~n;
    for (let i = start[n + 1] - 1; i >= start[n]; i--) stack[sp++] = kids[i];
  }
  return sums;
}
