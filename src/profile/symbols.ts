import type { CallTree } from './calltree.js';
import { childIndex } from './children.js';

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
  const rows: SymbolRow[] = [];
  for (let f = 0; f < nFrames; f++) {
    if (total[f] === 0 && self[f] === 0) continue;
    const fr = tree.frames.get(f);
    rows.push({
      name: fr.name,
      file: fr.file,
      binary: fr.binary,
      kind: fr.kind,
      self: self[f],
      total: total[f],
      selfNanos: selfNanos[f],
      totalNanos: totalNanos[f],
    });
  }
  rows.sort((a, b) => b.self - a.self || b.total - a.total || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return rows;
}
