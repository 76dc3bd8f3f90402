import type { CallTree } from './calltree.js';
import { childIndex } from './children.js';
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
  const self = new Float64Array(nFrames);
  const selfNanos = new Float64Array(nFrames);
  const total = new Float64Array(nFrames);
  const totalNanos = new Float64Array(nFrames);
  const nodeTotal = tree.totals('samples');
  const nodeNanos = tree.totals('nanos');
  const nodeSelfNanos = tree.selfNanos;
  for (let n = 1; n < tree.size; n++) {
    self[tree.frame[n]] += tree.selfSamples[n];
    selfNanos[tree.frame[n]] += nodeSelfNanos[n];
  }
  // Depth-first walk keeping how often each frame is on the current path: a node adds to its
  // frame's total only where no ancestor has the same frame, so recursion is counted once.
  const onPath = new Int32Array(nFrames);
  const { start, kids } = childIndex(tree);
  const nodeFrame = tree.frame;
  // Each node is pushed once on entry and once (as ~node) to leave it: 2 × size bounds the stack.
  const stack = new Int32Array(2 * tree.size);
  let sp = 0;
  for (let i = start[1] - 1; i >= start[0]; i--) stack[sp++] = kids[i];
  while (sp > 0) {
    const entry = stack[--sp];
    if (entry < 0) {
      onPath[nodeFrame[~entry]]--;
      continue;
    }
    const f = nodeFrame[entry];
    if (onPath[f] === 0) {
      total[f] += nodeTotal[entry];
      totalNanos[f] += nodeNanos[entry];
    }
    onPath[f]++;
    stack[sp++] = ~entry;
    for (let i = start[entry + 1] - 1; i >= start[entry]; i--) stack[sp++] = kids[i];
  }
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
