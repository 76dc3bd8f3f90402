import type { FlameGraph } from './flame.js';
import { TreeBuilder } from './tree-builder.js';

/**
 * The sandwich view of one function, computed from a flame graph alone (so the browser can
 * build it for any function without asking the server):
 *
 * - callees: every subtree rooted at the function, merged into one tree rooted at it;
 * - callers: every path from the function up to the root, merged into one tree rooted at
 *   the function whose children are its callers (drawn upside down, above the function).
 *
 * Only the outermost occurrence on each stack is taken, so under recursion each sample is
 * counted once and both roots equal the function's Total in the symbols table. Unlike a
 * profile's flame graph, node 0 of each half is the function itself (not an "all" node), and
 * a function absent from the graph gives two empty graphs.
 */
export interface Sandwich {
  callers: FlameGraph;
  callees: FlameGraph;
  /** Samples whose stack contains the function (= the roots' totals). */
  total: number;
  /** Samples whose leaf is the function. */
  self: number;
}

export function sandwich(graph: FlameGraph, fn: number): Sandwich {
  const { frame, depth, total, self } = graph;
  const n = frame.length;
  const callers = new TreeBuilder();
  const callees = new TreeBuilder();
  // The path from the root to the current node, as node ids by depth.
  const path: number[] = [];
  let fnTotal = 0;
  let fnSelf = 0;
  // Depth of the outermost open occurrence of fn on the current path, or -1.
  let outer = -1;
  // Callee tree node per depth below the outermost occurrence.
  const calleeAt: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = depth[i];
    path.length = d;
    path.push(i);
    if (outer >= d) outer = -1;
    if (frame[i] === fn) fnSelf += self[i];
    if (outer < 0 && frame[i] === fn) {
      outer = d;
      fnTotal += total[i];
      // Callers: the function's node, then its callers outward to the root's child.
      let c = callers.child(0, fn);
      callers.total[c] += total[i];
      for (let k = d - 1; k >= 1; k--) {
        c = callers.child(c, frame[path[k]]);
        callers.total[c] += total[i];
      }
      callers.self[c] += total[i];
      calleeAt.length = 0;
      const root = callees.child(0, fn);
      callees.total[root] += total[i];
      callees.self[root] += self[i];
      calleeAt[d] = root;
    } else if (outer >= 0) {
      const c = callees.child(calleeAt[d - 1], frame[i]);
      callees.total[c] += total[i];
      callees.self[c] += self[i];
      calleeAt[d] = c;
    }
  }
  // Node 1 of each builder is the function (the first child made); it becomes the root.
  return { callers: callers.toFlame(graph.frames, 1), callees: callees.toFlame(graph.frames, 1), total: fnTotal, self: fnSelf };
}

/**
 * Folded stacks (`a;b;c count`, sorted) of a flame graph's self samples: the test language for
 * anything that produces a FlameGraph. A root without a frame ("all") is left out of the paths.
 */
export function flameFolded(graph: FlameGraph): string {
  const names = graph.frames.name;
  const path: string[] = [];
  const lines: string[] = [];
  const skip = graph.frame[0] === -1 ? 1 : 0;
  for (let i = 0; i < graph.frame.length; i++) {
    const d = graph.depth[i] - skip;
    path.length = Math.max(0, d);
    if (d < 0) continue;
    path.push(names[graph.frame[i]]);
    if (graph.self[i] > 0) lines.push(`${path.join(';')} ${graph.self[i]}`);
  }
  lines.sort();
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** The frame id with this name (the first, when several binaries share a name), or -1. */
export function frameByName(graph: FlameGraph, name: string): number {
  return graph.frames.name.indexOf(name);
}
