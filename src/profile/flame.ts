import type { CallTree } from './calltree.js';
import { childrenByName, preOrder } from './children.js';
import type { FrameTable } from './frames.js';
import { frameNameOrder } from './name-order.js';
import { flameOf } from './tree-builder.js';

/**
 * The flame graph in a compact form for the browser: parallel flat arrays, nodes in depth-first
 * pre-order with children sorted by name (so a frame keeps its place as live data arrives).
 * Node 0 is the root ("all"). A node's x offset is its parent's plus the totals of the
 * siblings before it, which the renderer derives in one pass; there is no node cap.
 */
export interface FlameGraph {
  frames: {
    name: string[];
    file: string[];
    line: number[];
    binary: string[];
    kind: string[];
  };
  /** Per node: frame id (-1 for the root), depth (root 0), total and self samples. */
  frame: number[];
  depth: number[];
  total: number[];
  self: number[];
}

/** The last graph built per tree, with the tree version it was built from. */
const cache = new WeakMap<CallTree, { version: number; graph: FlameGraph }>();

/**
 * The flame graph of a tree. The graph is cached per tree until the tree changes, so the
 * same live profile asked for twice (two tabs, a poll and an SSE refresh) is built once; the
 * result is shared and must be treated as read-only.
 */
export function flameGraph(tree: CallTree): FlameGraph {
  const hit = cache.get(tree);
  if (hit && hit.version === tree.version) return hit.graph;
  const graph = buildFlameGraph(tree);
  cache.set(tree, { version: tree.version, graph });
  return graph;
}

/** A frame table's frames as the flame graph's columns. */
export function frameColumns(table: FrameTable): FlameGraph['frames'] {
  const frames = table.frames;
  const nFrames = frames.length;
  const names = new Array<string>(nFrames);
  const files = new Array<string>(nFrames);
  const lines = new Array<number>(nFrames);
  const binaries = new Array<string>(nFrames);
  const kinds = new Array<string>(nFrames);
  for (let f = 0; f < nFrames; f++) {
    const fr = frames[f];
    names[f] = fr.name;
    files[f] = fr.file;
    lines[f] = fr.line;
    binaries[f] = fr.binary;
    kinds[f] = fr.kind;
  }
  return { name: names, file: files, line: lines, binary: binaries, kind: kinds };
}

function buildFlameGraph(tree: CallTree): FlameGraph {
  const totals = tree.totals('samples');
  // Children are ordered by (name, frame id), through a ranking of the frames kept per frame
  // table as it grows (name-order.ts) rather than a sort per node; paths at zero are left out.
  const order = preOrder(childrenByName(tree, frameNameOrder(tree.frames).rank), 0, totals);
  return flameOf(frameColumns(tree.frames), order, { frame: tree.frame, total: totals, self: tree.selfSamples });
}
