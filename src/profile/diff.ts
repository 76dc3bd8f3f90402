import type { WorkloadProfile } from './aggregate.js';
import { CallTree } from './calltree.js';
import { childIndex } from './children.js';
import type { FlameGraph } from './flame.js';

/**
 * A diff of two profiles (base → target) on one call tree holding both: every node carries the
 * base's and the target's samples. Exact: built from the two full trees, never from a
 * truncated graph. Colour by change in share (total / samples on each side), so a busier
 * target is not all red.
 */
export interface DiffFlameGraph {
  frames: FlameGraph['frames'];
  /** Per node, pre-order with children by name as in FlameGraph; node 0 is the root ("all"). */
  frame: number[];
  depth: number[];
  /** Target samples (total = with descendants, self = as the leaf). */
  total: number[];
  self: number[];
  /** Base samples. */
  baseTotal: number[];
  baseSelf: number[];
}

export interface DiffSymbolRow {
  name: string;
  file: string;
  binary: string;
  kind: string;
  baseSelf: number;
  /** Samples whose stack contains the function at least once (recursion counted once). */
  baseTotal: number;
  self: number;
  total: number;
}

export interface ProfileDiff {
  flame: DiffFlameGraph;
  /** Sorted by the change in self share (largest first, either sign), then total share, then name. */
  symbols: DiffSymbolRow[];
  baseSamples: number;
  samples: number;
  /** Combined call tree and per-node self samples of each side (for folded output). */
  tree: CallTree;
  nodeBaseSelf: Float64Array;
  nodeSelf: Float64Array;
}

export function diffProfiles(base: WorkloadProfile, target: WorkloadProfile): ProfileDiff {
  const tree = new CallTree();
  const baseSelf = addInto(tree, base.tree);
  const self = addInto(tree, target.tree);
  const size = tree.size;
  const nodeBaseSelf = grow(baseSelf, size);
  const nodeSelf = grow(self, size);
  const flame = diffFlame(tree, nodeBaseSelf, nodeSelf);
  return {
    flame,
    symbols: diffSymbols(flame, base.samples, target.samples),
    baseSamples: base.samples,
    samples: target.samples,
    tree,
    nodeBaseSelf,
    nodeSelf,
  };
}

/** Adds `src`'s self samples into `dst`'s shape; returns per-node self samples of `src`. */
function addInto(dst: CallTree, src: CallTree): Float64Array {
  const frameMap = new Int32Array(src.frames.size);
  for (let f = 0; f < src.frames.size; f++) {
    const frame = src.frames.get(f);
    frameMap[f] = dst.frames.internByKey(src.frames.keyOf(f), () => frame);
  }
  const nodeMap = new Int32Array(src.size);
  const pairs: number[] = [];
  for (let n = 1; n < src.size; n++) {
    const mine = dst.child(nodeMap[src.parent[n]], frameMap[src.frame[n]]);
    nodeMap[n] = mine;
    if (src.selfSamples[n] !== 0) pairs.push(mine, src.selfSamples[n]);
  }
  const out = new Float64Array(dst.size);
  out[0] = src.selfSamples[0];
  for (let i = 0; i < pairs.length; i += 2) out[pairs[i]] += pairs[i + 1];
  return out;
}

function grow(a: Float64Array, size: number): Float64Array {
  if (a.length === size) return a;
  const out = new Float64Array(size);
  out.set(a);
  return out;
}

function totalsOf(tree: CallTree, self: Float64Array): Float64Array {
  const total = Float64Array.from(self);
  for (let n = tree.size - 1; n > 0; n--) total[tree.parent[n]] += total[n];
  return total;
}

function diffFlame(tree: CallTree, baseSelf: Float64Array, self: Float64Array): DiffFlameGraph {
  const frames = tree.frames.frames;
  const out: DiffFlameGraph = {
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
    baseTotal: [],
    baseSelf: [],
  };
  const baseTotal = totalsOf(tree, baseSelf);
  const total = totalsOf(tree, self);
  const nodeFrame = tree.frame;
  const { start, kids } = childIndex(tree, nodesByRank(nodeFrame, nameRanks(out.frames.name)));
  const stack: number[] = [0];
  const depths: number[] = [0];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const depth = depths.pop()!;
    // Nodes a running aggregate took back to zero on both sides are left out.
    if (node !== 0 && total[node] <= 0 && baseTotal[node] <= 0) continue;
    out.frame.push(nodeFrame[node]);
    out.depth.push(depth);
    out.total.push(total[node]);
    out.self.push(self[node]);
    out.baseTotal.push(baseTotal[node]);
    out.baseSelf.push(baseSelf[node]);
    for (let i = start[node + 1] - 1; i >= start[node]; i--) {
      stack.push(kids[i]);
      depths.push(depth + 1);
    }
  }
  return out;
}

/** Per function: self sums every node; total takes only the outermost node on each path. */
function diffSymbols(flame: DiffFlameGraph, baseSamples: number, samples: number): DiffSymbolRow[] {
  const nFrames = flame.frames.name.length;
  const bSelf = new Float64Array(nFrames);
  const bTotal = new Float64Array(nFrames);
  const tSelf = new Float64Array(nFrames);
  const tTotal = new Float64Array(nFrames);
  const onPath = new Int32Array(nFrames);
  const path: number[] = [];
  const { frame, depth } = flame;
  for (let i = 0; i < frame.length; i++) {
    const d = depth[i];
    while (path.length > d) {
      const f = path.pop()!;
      if (f >= 0) onPath[f]--;
    }
    const f = frame[i];
    path.push(f);
    if (f < 0) continue;
    bSelf[f] += flame.baseSelf[i];
    tSelf[f] += flame.self[i];
    if (onPath[f] === 0) {
      bTotal[f] += flame.baseTotal[i];
      tTotal[f] += flame.total[i];
    }
    onPath[f]++;
  }
  const rows: DiffSymbolRow[] = [];
  for (let f = 0; f < nFrames; f++) {
    if (bTotal[f] === 0 && tTotal[f] === 0 && bSelf[f] === 0 && tSelf[f] === 0) continue;
    rows.push({
      name: flame.frames.name[f],
      file: flame.frames.file[f],
      binary: flame.frames.binary[f],
      kind: flame.frames.kind[f],
      baseSelf: bSelf[f],
      baseTotal: bTotal[f],
      self: tSelf[f],
      total: tTotal[f],
    });
  }
  const share = (v: number, of: number): number => (of > 0 ? v / of : 0);
  const dSelf = (r: DiffSymbolRow): number => Math.abs(share(r.self, samples) - share(r.baseSelf, baseSamples));
  const dTotal = (r: DiffSymbolRow): number => Math.abs(share(r.total, samples) - share(r.baseTotal, baseSamples));
  rows.sort((a, b) => dSelf(b) - dSelf(a) || dTotal(b) - dTotal(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return rows;
}

/** `root;…;leaf base target` per stack with self samples on either side, sorted. */
export function diffFolded(diff: ProfileDiff): string {
  const { tree, nodeBaseSelf, nodeSelf } = diff;
  const names = tree.frames.frames.map((f) => f.name);
  const paths: string[] = new Array(tree.size);
  paths[0] = '';
  const lines: string[] = [];
  for (let n = 1; n < tree.size; n++) {
    const p = paths[tree.parent[n]];
    paths[n] = p === '' ? names[tree.frame[n]] : `${p};${names[tree.frame[n]]}`;
    if (nodeBaseSelf[n] !== 0 || nodeSelf[n] !== 0) lines.push(`${paths[n]} ${nodeBaseSelf[n]} ${nodeSelf[n]}`);
  }
  lines.sort();
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** The symbols diff as a fixed-width table; Δ columns are changes in share, in percentage points. */
export function formatDiffTable(diff: Pick<ProfileDiff, 'symbols' | 'baseSamples' | 'samples'>, labels: { base: string; target: string }, limit = Infinity): string {
  const pct = (v: number, of: number): number => (of > 0 ? (100 * v) / of : 0);
  const delta = (t: number, b: number): string => {
    const d = pct(t, diff.samples) - pct(b, diff.baseSamples);
    return `${d > 0 ? '+' : d < 0 ? '' : ' '}${d.toFixed(2)}`;
  };
  const head = ['BASE SELF', 'SELF', 'ΔSELF pp', 'BASE TOTAL', 'TOTAL', 'ΔTOTAL pp'];
  const lines = [`${head.map((h) => h.padStart(10)).join(' ')}  SYMBOL`];
  for (const r of diff.symbols.slice(0, limit)) {
    const cells = [String(r.baseSelf), String(r.self), delta(r.self, r.baseSelf), String(r.baseTotal), String(r.total), delta(r.total, r.baseTotal)];
    lines.push(`${cells.map((c) => c.padStart(10)).join(' ')}  ${r.name}`);
  }
  lines.push(`base: ${diff.baseSamples} samples in ${labels.base}; target: ${diff.samples} samples in ${labels.target}`);
  lines.push('Δ = change in share of all samples, in percentage points (target share − base share)');
  return lines.join('\n') + '\n';
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
