import type { CallTree } from './calltree.js';

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
  const children = tree.childLists();
  const byName = (a: number, b: number): number => {
    const na = frames[tree.frame[a]].name;
    const nb = frames[tree.frame[b]].name;
    return na < nb ? -1 : na > nb ? 1 : tree.frame[a] - tree.frame[b];
  };
  const stack: number[] = [0];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const depth = depths.pop()!;
    if (totals[node] <= 0 && node !== 0) continue;
    out.frame.push(tree.frame[node]);
    out.depth.push(depth);
    out.total.push(totals[node]);
    out.self.push(tree.selfSamples[node]);
    const kids = children[node];
    if (kids.length > 1) kids.sort(byName);
    // Push in reverse so the first child (by name) is visited first.
    for (let i = kids.length - 1; i >= 0; i--) {
      stack.push(kids[i]);
      depths.push(depth + 1);
    }
  }
  return out;
}
