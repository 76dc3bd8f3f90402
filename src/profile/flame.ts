import type { CallTree } from './calltree.js';
import { childIndex } from './children.js';

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

export function flameGraph(tree: CallTree): FlameGraph {
  const frames = tree.frames.frames;
  const out: FlameGraph = {
    frames: {
      name: frames.map((f) => f.name),
      file: frames.map((f) => f.file),
      line: frames.map((f) => f.line),
      binary: frames.map((f) => f.binary),
      kind: frames.map((f) => f.kind),
    },
    frame: [],
    depth: [],
    total: [],
    self: [],
  };
  const totals = tree.totals('samples');
  const nodeFrame = tree.frame;
  // Children are ordered by (name, frame id). Ranking the frames once and bucketing the nodes
  // by rank orders every node's children with two linear passes instead of a sort per node.
  const { start, kids } = childIndex(tree, nodesByRank(nodeFrame, nameRanks(frames.map((f) => f.name))));
  const stack: number[] = [0];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const depth = depths.pop()!;
    if (totals[node] <= 0 && node !== 0) continue;
    out.frame.push(nodeFrame[node]);
    out.depth.push(depth);
    out.total.push(totals[node]);
    out.self.push(tree.selfSamples[node]);
    const lo = start[node];
    const hi = start[node + 1];
    // Push in reverse so the first child (by name) is visited first.
    for (let i = hi - 1; i >= lo; i--) {
      stack.push(kids[i]);
      depths.push(depth + 1);
    }
  }
  return out;
}

/** Each frame's position when frames are sorted by name, ties by id. */
function nameRanks(names: string[]): Int32Array {
  const order = Array.from(names.keys());
  order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b));
  const rank = new Int32Array(names.length);
  for (let i = 0; i < order.length; i++) rank[order[i]] = i;
  return rank;
}

/** Every node but the root, ordered by its frame's rank (a counting sort). */
function nodesByRank(nodeFrame: readonly number[], rank: Int32Array): Int32Array {
  const next = new Int32Array(rank.length + 1);
  for (let n = 1; n < nodeFrame.length; n++) next[rank[nodeFrame[n]] + 1]++;
  for (let r = 0; r < rank.length; r++) next[r + 1] += next[r];
  const order = new Int32Array(Math.max(0, nodeFrame.length - 1));
  for (let n = 1; n < nodeFrame.length; n++) order[next[rank[nodeFrame[n]]]++] = n;
  return order;
}
