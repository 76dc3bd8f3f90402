import type { WorkloadProfile } from './workload-profile.js';
import { ColumnTree, type CallTree } from './calltree.js';
import { childrenByName, nameRanks, preOrder, type ChildIndex, type PreOrder } from './children.js';
import { frameColumns, type FlameGraph } from './flame.js';
import { foldedLines } from './folded.js';
import { FrameTable } from './frames.js';
import { sumByFrame } from './symbols.js';

/**
 * A diff of two profiles (base → target) on one call tree holding both: every node carries the
 * base's and the target's samples. Exact: built from the two full trees, never from a
 * truncated graph. Colour by change in share (total / samples on each side), so a busier
 * target is not all red. A path only in the base has total 0 (and baseTotal > 0): size
 * frames by the larger of the two shares to keep what vanished visible.
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

/** The diff flame graph as the engine builds it: typed columns (see DiffFlameGraph for each). */
export interface DiffFlame {
  frames: FlameGraph['frames'];
  frame: Int32Array;
  depth: Int32Array;
  total: Float64Array;
  self: Float64Array;
  baseTotal: Float64Array;
  baseSelf: Float64Array;
}

export interface ProfileDiff {
  flame: DiffFlame;
  /** Sorted by the change in self share (largest first, either sign), then total share, then name. */
  symbols: DiffSymbolRow[];
  baseSamples: number;
  samples: number;
  tree: DiffTree;
}

export function diffProfiles(base: WorkloadProfile, target: WorkloadProfile): ProfileDiff {
  const tree = new DiffTree(base.tree.size + target.tree.size);
  tree.add(base.tree, 'base');
  tree.add(target.tree, 'target');
  const baseTotal = tree.subtreeTotals(tree.baseSelf);
  const total = tree.subtreeTotals(tree.self);
  // Nodes a running aggregate took back to zero on both sides are left out.
  const either = new Float64Array(tree.size);
  for (let n = 0; n < tree.size; n++) either[n] = Math.max(total[n], baseTotal[n]);
  // Children by name, and symbol rows by name where the changes tie: one ranking of the names.
  const frames = frameColumns(tree.frames);
  const rank = nameRanks(frames.name);
  const byName = childrenByName(tree, rank);
  const columns = { tree, baseTotal, total };
  return {
    flame: diffFlame(frames, preOrder(byName, 0, either), columns),
    symbols: diffSymbols(byName, either, rank, columns, base.samples, target.samples),
    baseSamples: base.samples,
    samples: target.samples,
    tree,
  };
}

/**
 * Both profiles' paths in one call tree (a ColumnTree, calltree.ts) with a self-samples column
 * per side, its frames their own table. Sized up front for the two trees' nodes: fresh large
 * arrays are slow to come by, and regrowing them cost more than everything else the diff does.
 */
export class DiffTree extends ColumnTree {
  readonly frames = new FrameTable();

  constructor(capacity: number) {
    super(2, -1, capacity + 1);
  }

  /** Base self samples per node. */
  get baseSelf(): Float64Array {
    return this.column(0);
  }

  /** Target self samples per node. */
  get self(): Float64Array {
    return this.column(1);
  }

  /** Adds `src`'s paths, its self samples to `side`'s column. */
  add(src: CallTree, side: 'base' | 'target'): void {
    const col = side === 'base' ? 0 : 1;
    const frameMap = new Int32Array(src.frames.size);
    for (let f = 0; f < src.frames.size; f++) frameMap[f] = this.frames.internShared(src.frames.get(f));
    const nodeMap = new Int32Array(src.size);
    const { parent, frame, selfSamples } = src;
    this.column(col)[0] += selfSamples[0];
    for (let n = 1; n < src.size; n++) {
      const mine = this.child(nodeMap[parent[n]], frameMap[frame[n]]);
      nodeMap[n] = mine;
      this.column(col)[mine] += selfSamples[n];
    }
  }
}

/** The diff tree with both sides' totals per node. */
interface DiffColumns {
  tree: DiffTree;
  baseTotal: Float64Array;
  total: Float64Array;
}

/** The flame graph: the tree's columns per node of `order`. */
function diffFlame(frames: FlameGraph['frames'], { node, depth }: PreOrder, { tree, baseTotal, total }: DiffColumns): DiffFlame {
  const gather = <T extends Int32Array | Float64Array>(col: T, out: T): T => {
    for (let i = 0; i < node.length; i++) out[i] = col[node[i]];
    return out;
  };
  return {
    frames,
    frame: gather(tree.frame, new Int32Array(node.length)),
    depth,
    total: gather(total, new Float64Array(node.length)),
    self: gather(tree.self, new Float64Array(node.length)),
    baseTotal: gather(baseTotal, new Float64Array(node.length)),
    baseSelf: gather(tree.baseSelf, new Float64Array(node.length)),
  };
}

/** The wire form (plain arrays), e.g. for tests; the API writes diffFlameJson instead. */
export function diffFlameToWire(f: DiffFlame): DiffFlameGraph {
  const arr = (a: Int32Array | Float64Array): number[] => {
    const o: number[] = [];
    for (let i = 0; i < a.length; i++) o.push(a[i]);
    return o;
  };
  return {
    frames: f.frames,
    frame: arr(f.frame),
    depth: arr(f.depth),
    total: arr(f.total),
    self: arr(f.self),
    baseTotal: arr(f.baseTotal),
    baseSelf: arr(f.baseSelf),
  };
}

/**
 * The wire form as JSON text, equal to JSON.stringify(diffFlameToWire(f)) (every value is a
 * finite number, which `join` writes as JSON does) without building the plain arrays.
 */
export function diffFlameJson(f: DiffFlame): string {
  const nums = (a: Int32Array | Float64Array): string => `[${a.join(',')}]`;
  return (
    `{"frames":${JSON.stringify(f.frames)},"frame":${nums(f.frame)},"depth":${nums(f.depth)},"total":${nums(f.total)},` +
    `"self":${nums(f.self)},"baseTotal":${nums(f.baseTotal)},"baseSelf":${nums(f.baseSelf)}}`
  );
}

/**
 * Per function, both sides summed as the symbols table sums them (sumByFrame, symbols.ts) over
 * the nodes the flame graph keeps; rows by the change in self share, then total share, then name.
 */
function diffSymbols(
  byName: ChildIndex,
  keep: Float64Array,
  rank: Int32Array,
  { tree, baseTotal, total }: DiffColumns,
  baseSamples: number,
  samples: number,
): DiffSymbolRow[] {
  const nFrames = tree.frames.size;
  const sides = [
    { self: tree.baseSelf, total: baseTotal },
    { self: tree.self, total },
  ];
  const [b, t] = sumByFrame(tree, nFrames, byName, sides, keep);
  const share = (v: number, of: number): number => (of > 0 ? v / of : 0);
  const dSelf = new Float64Array(nFrames);
  const dTotal = new Float64Array(nFrames);
  const ids: number[] = [];
  for (let f = 0; f < nFrames; f++) {
    if (b.total[f] === 0 && t.total[f] === 0 && b.self[f] === 0 && t.self[f] === 0) continue;
    ids.push(f);
    dSelf[f] = Math.abs(share(t.self[f], samples) - share(b.self[f], baseSamples));
    dTotal[f] = Math.abs(share(t.total[f], samples) - share(b.total[f], baseSamples));
  }
  ids.sort((x, y) => dSelf[y] - dSelf[x] || dTotal[y] - dTotal[x] || rank[x] - rank[y]);
  return ids.map((f) => {
    const fr = tree.frames.get(f);
    return { name: fr.name, file: fr.file, binary: fr.binary, kind: fr.kind, baseSelf: b.self[f], baseTotal: b.total[f], self: t.self[f], total: t.total[f] };
  });
}

/** `root;…;leaf base target` per stack with self samples on either side, sorted. */
export function diffFolded(diff: ProfileDiff): string {
  const { tree } = diff;
  const { baseSelf, self } = tree;
  return foldedLines(tree, diff.flame.frames.name, (n) => (baseSelf[n] !== 0 || self[n] !== 0 ? `${baseSelf[n]} ${self[n]}` : undefined));
}

/** The symbols diff as a fixed-width table; Δ columns are changes in share, in percentage points. */
export function formatDiffTable(
  diff: Pick<ProfileDiff, 'symbols' | 'baseSamples' | 'samples'>,
  labels: { base: string; target: string },
  limit = Infinity,
): string {
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
