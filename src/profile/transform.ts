import type { FlameGraph } from './flame.js';
import { parseSearch } from './focus.js';
import { TreeBuilder, writeFlame } from './tree-builder.js';

/**
 * Views of a flame graph that reshape it, as other profilers offer them: hide frames (merge a
 * function into its callers, "only my code"), focus on a function (every sample through it,
 * merged into one tree rooted at it), collapse direct recursion, and order children largest
 * first (left-heavy). Pure functions from a FlameGraph to a FlameGraph in the same pre-order
 * form, so the browser applies them to whatever graph it holds (live updates included) and
 * the results draw, search and zoom like any other graph. Inputs are read-only: a transform
 * that changes nothing returns its input.
 */

/**
 * A frame's identity as text (name, file, binary, kind): survives a new flame graph, where
 * frame ids are renumbered. What the URL names frames by (zoom path, picked function, hidden
 * frames, focus).
 */
export function frameKey(frames: FlameGraph['frames'], frame: number): string {
  if (frame < 0) return '';
  return `${frames.name[frame]}\0${frames.file[frame]}\0${frames.binary[frame]}\0${frames.kind[frame]}`;
}

/** The frame id with this key, or -1. */
export function frameByKey(frames: FlameGraph['frames'], key: string): number {
  const cut = key.indexOf('\0');
  if (cut < 0) return -1;
  const name = key.slice(0, cut);
  for (let f = 0; f < frames.name.length; f++) if (frames.name[f] === name && frameKey(frames, f) === key) return f;
  return -1;
}

/** What to hide: one function (by frame key), or every function whose name matches a search (text or /regex/). */
export type HideRule = { frame: string } | { pattern: string };

/**
 * One flag per frame id: 1 where a rule hides the frame. A pattern is read by the search's
 * parser (focus.ts parseSearch); one that cannot be read hides nothing.
 */
export function hiddenFrames(frames: FlameGraph['frames'], rules: readonly HideRule[]): Uint8Array {
  const out = new Uint8Array(frames.name.length);
  if (rules.length === 0) return out;
  const keys = new Set<string>();
  const tests: ((name: string) => boolean)[] = [];
  for (const r of rules) {
    if ('frame' in r) keys.add(r.frame);
    else {
      const q = parseSearch(r.pattern);
      if (q.ok) tests.push(q.test);
    }
  }
  for (let f = 0; f < out.length; f++) {
    const name = frames.name[f];
    if (tests.some((t) => t(name)) || (keys.size > 0 && keys.has(frameKey(frames, f)))) out[f] = 1;
  }
  return out;
}

/**
 * Merges nodes into their parents: every node whose frame is flagged in `hidden`, and with
 * `collapseRecursion` every node whose frame is its (remaining) parent's, so `f;f;f;g` reads
 * `f;g`. A merged node's self samples go to the parent and its children become the parent's,
 * merged with the parent's own children of the same frame. The root is never merged, so the
 * total is unchanged: samples move up the stack, none are lost.
 */
export function mergeFrames(graph: FlameGraph, hidden: Uint8Array | null, collapseRecursion: boolean): FlameGraph {
  const { frame, depth, total, self } = graph;
  const n = frame.length;
  if (n === 0 || (!collapseRecursion && (hidden === null || !hidden.includes(1)))) return graph;
  const b = new TreeBuilder(frame[0], n);
  b.total[0] = total[0];
  b.self[0] = self[0];
  const base = depth[0];
  // The output node each input depth on the current path maps to.
  const at: number[] = [0];
  for (let i = 1; i < n; i++) {
    const d = depth[i] - base;
    const parent = at[d - 1];
    const f = frame[i];
    if ((hidden !== null && f >= 0 && hidden[f] === 1) || (collapseRecursion && b.frame[parent] === f)) {
      b.self[parent] += self[i];
      at[d] = parent;
    } else {
      // Nodes merged into one output node hold disjoint samples (no node of them lies under
      // another), so their totals add up.
      const c = b.child(parent, f);
      b.total[c] += total[i];
      b.self[c] += self[i];
      at[d] = c;
    }
  }
  return b.toFlame(graph.frames, 0);
}

/**
 * Where a path of frame keys (a zoom: root excluded) leads once mergeFrames has run: hidden
 * frames drop out of it and, with recursion collapsed, a frame repeating the one above it (or
 * the root's, `rootKey`) does too, so a zoom stays on the same frame when frames above it go.
 */
export function keyPathAfterMerge(
  frames: FlameGraph['frames'],
  path: readonly string[],
  hidden: Uint8Array | null,
  collapseRecursion: boolean,
  rootKey = '',
): string[] {
  const out: string[] = [];
  for (const key of path) {
    const f = hidden ? frameByKey(frames, key) : -1;
    if (f >= 0 && hidden![f] === 1) continue;
    if (collapseRecursion && key === (out.length > 0 ? out[out.length - 1] : rootKey)) continue;
    out.push(key);
  }
  return out;
}

/** Hides frames (see mergeFrames). */
export function hideFrames(graph: FlameGraph, hidden: Uint8Array): FlameGraph {
  return mergeFrames(graph, hidden, false);
}

/** Shows direct recursion once (see mergeFrames). */
export function collapseRecursion(graph: FlameGraph): FlameGraph {
  return mergeFrames(graph, null, true);
}

/**
 * The graph rooted at one function: every subtree rooted at it, wherever it occurs, merged into
 * one tree whose root is the function (node 0, no "all" above it). Only the outermost
 * occurrence on a stack starts a subtree, so under recursion a sample counts once and the
 * root's total is the samples whose stack has the function (its Total in the symbols table).
 * A function absent from the graph gives an empty graph.
 */
export function focusFrame(graph: FlameGraph, fn: number): FlameGraph {
  const { frame, depth, total, self } = graph;
  const n = frame.length;
  const b = new TreeBuilder(-1, n + 1);
  // Depth of the open outermost occurrence on the current path, or -1; output node per depth below it.
  let outer = -1;
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = depth[i];
    if (outer >= d) outer = -1;
    let c: number;
    if (outer < 0) {
      if (frame[i] !== fn || fn < 0) continue;
      outer = d;
      c = b.child(0, fn);
    } else {
      c = b.child(at[d - 1], frame[i]);
    }
    b.total[c] += total[i];
    b.self[c] += self[i];
    at[d] = c;
  }
  // Node 1 is the function (the first child made): it becomes the root.
  return b.toFlame(graph.frames, 1);
}

/**
 * The same tree with every node's children ordered by total, largest first (ties by name,
 * then frame id), as speedscope's left-heavy view: the heaviest path runs down the left edge
 * and similar stacks line up however they are named.
 */
export function leftHeavy(graph: FlameGraph): FlameGraph {
  const { frame, depth, total, self } = graph;
  const n = frame.length;
  if (n === 0) return graph;
  // Each node's parent: the last node seen one level up (pre-order).
  const parent = new Int32Array(n);
  let maxDepth = 0;
  for (let i = 0; i < n; i++) if (depth[i] > maxDepth) maxDepth = depth[i];
  const last = new Int32Array(maxDepth - depth[0] + 2);
  parent[0] = -1;
  for (let i = 0; i < n; i++) {
    const d = depth[i] - depth[0];
    if (d > 0) parent[i] = last[d - 1];
    last[d] = i;
  }
  return writeFlame({ size: n, parent, frame, self, total }, graph.frames, 0, 'heavy');
}

/** The reshaping a flame graph view asks for. */
export interface FlameTransform {
  hide: readonly HideRule[];
  /** Frame key of the function to root the graph at, or null. */
  focus: string | null;
  collapseRecursion: boolean;
  leftHeavy: boolean;
}

export const NO_TRANSFORM: FlameTransform = { hide: [], focus: null, collapseRecursion: false, leftHeavy: false };

/**
 * Applies a view's transforms in a fixed order: focus first (so hiding never removes the
 * focused root, and the focus total is every sample through the function), then hide and
 * recursion collapse in one pass, then the left-heavy order. With nothing to do it returns
 * the graph itself.
 */
export function transformFlame(graph: FlameGraph, t: FlameTransform): FlameGraph {
  let g = graph;
  if (t.focus !== null) g = focusFrame(g, frameByKey(g.frames, t.focus));
  if (t.hide.length > 0 || t.collapseRecursion) g = mergeFrames(g, t.hide.length > 0 ? hiddenFrames(g.frames, t.hide) : null, t.collapseRecursion);
  if (t.leftHeavy) g = leftHeavy(g);
  return g;
}
