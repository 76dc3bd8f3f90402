import type { CallTree } from './calltree.js';
import { childIndex } from './children.js';
import { frameNameOrder } from './name-order.js';

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

function buildFlameGraph(tree: CallTree): FlameGraph {
  const frames = tree.frames.frames;
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
  const size = tree.size;
  const totals = tree.totals('samples');
  const nodeFrame = tree.frame;
  const nodeSelf = tree.selfSamples;
  // Children are ordered by (name, frame id). Ranking the frames once (kept per frame table as
  // it grows: name-order.ts) and bucketing the nodes by rank orders every node's children with
  // two linear passes instead of a sort per node.
  const { start, kids } = childIndex(tree, nodesByRank(nodeFrame.subarray(0, size), frameNameOrder(tree.frames).rank));
  // Output arrays are sized for every node and cut to length at the end: growing them push by
  // push cost more than the walk itself.
  const outFrame = new Array<number>(size);
  const outDepth = new Array<number>(size);
  const outTotal = new Array<number>(size);
  const outSelf = new Array<number>(size);
  const stack = new Int32Array(size);
  const depths = new Int32Array(size);
  let sp = 0;
  let count = 0;
  stack[sp] = 0;
  depths[sp++] = 0;
  while (sp > 0) {
    const node = stack[--sp];
    const depth = depths[sp];
    if (totals[node] <= 0 && node !== 0) continue;
    outFrame[count] = nodeFrame[node];
    outDepth[count] = depth;
    outTotal[count] = totals[node];
    outSelf[count] = nodeSelf[node];
    count++;
    // Push in reverse so the first child (by name) is visited first.
    for (let i = start[node + 1] - 1; i >= start[node]; i--) {
      stack[sp] = kids[i];
      depths[sp++] = depth + 1;
    }
  }
  outFrame.length = count;
  outDepth.length = count;
  outTotal.length = count;
  outSelf.length = count;
  return {
    frames: { name: names, file: files, line: lines, binary: binaries, kind: kinds },
    frame: outFrame,
    depth: outDepth,
    total: outTotal,
    self: outSelf,
  };
}

/** Every node but the root, ordered by its frame's rank (a counting sort). */
function nodesByRank(nodeFrame: ArrayLike<number>, rank: Int32Array): Int32Array {
  const next = new Int32Array(rank.length + 1);
  for (let n = 1; n < nodeFrame.length; n++) next[rank[nodeFrame[n]] + 1]++;
  for (let r = 0; r < rank.length; r++) next[r + 1] += next[r];
  const order = new Int32Array(Math.max(0, nodeFrame.length - 1));
  for (let n = 1; n < nodeFrame.length; n++) order[next[rank[nodeFrame[n]]]++] = n;
  return order;
}
