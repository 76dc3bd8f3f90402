import type { WorkloadProfile } from './workload-profile.js';
import type { CallTree } from './calltree.js';
import type { FlameGraph } from './flame.js';
import { FrameTable } from './frames.js';

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

/** The combined call tree: node 0 is the root, parents have smaller ids than their children. */
export interface DiffTree {
  size: number;
  parent: Int32Array;
  frame: Int32Array;
  baseSelf: Float64Array;
  self: Float64Array;
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
  const frames = new FrameTable();
  const builder = new DiffTreeBuilder(base.tree.size + target.tree.size);
  builder.add(frames, base.tree, builder.baseSelf);
  builder.add(frames, target.tree, builder.self);
  const tree = builder.done();
  const flame = diffFlame(tree, frames);
  return { flame, symbols: diffSymbols(flame, base.samples, target.samples), baseSamples: base.samples, samples: target.samples, tree };
}

/**
 * Both trees' paths in one prefix tree of typed columns, sized up front (at most the two
 * trees' nodes). Growing plain arrays node by node cost more than everything else the diff
 * does: fresh large arrays are slow to come by (each regrowth is a new allocation to fault in).
 */
class DiffTreeBuilder {
  readonly parent: Int32Array;
  readonly frame: Int32Array;
  readonly baseSelf: Float64Array;
  readonly self: Float64Array;
  private readonly slots: Int32Array;
  private readonly mask: number;
  size = 1;

  constructor(capacity: number) {
    this.parent = new Int32Array(capacity + 1);
    this.frame = new Int32Array(capacity + 1);
    this.baseSelf = new Float64Array(capacity + 1);
    this.self = new Float64Array(capacity + 1);
    this.parent[0] = -1;
    this.frame[0] = -1;
    let size = 1024;
    while (size < capacity * 2) size *= 2;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  private child(parent: number, frame: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let i = hashPair(parent, frame) & mask;
    for (let s = slots[i]; s !== 0; s = slots[i]) {
      const n = s - 1;
      if (this.parent[n] === parent && this.frame[n] === frame) return n;
      i = (i + 1) & mask;
    }
    const id = this.size++;
    this.parent[id] = parent;
    this.frame[id] = frame;
    slots[i] = id + 1;
    return id;
  }

  /** Adds `src`'s paths; its self samples go to `into` (baseSelf or self). */
  add(frames: FrameTable, src: CallTree, into: Float64Array): void {
    const frameMap = new Int32Array(src.frames.size);
    for (let f = 0; f < src.frames.size; f++) {
      frameMap[f] = frames.internShared(src.frames.get(f));
    }
    const nodeMap = new Int32Array(src.size);
    const parent = src.parent;
    const frame = src.frame;
    const self = src.selfSamples;
    into[0] += self[0];
    for (let n = 1; n < src.size; n++) {
      const mine = this.child(nodeMap[parent[n]], frameMap[frame[n]]);
      nodeMap[n] = mine;
      into[mine] += self[n];
    }
  }

  done(): DiffTree {
    return { size: this.size, parent: this.parent, frame: this.frame, baseSelf: this.baseSelf, self: this.self };
  }
}

/** Mixes a (parent, frame) pair into 32 bits; both are small non-negative integers. */
function hashPair(parent: number, frame: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(frame + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
}

function totalsOf(tree: DiffTree, self: Float64Array): Float64Array {
  const total = self.slice(0, tree.size);
  for (let n = tree.size - 1; n > 0; n--) total[tree.parent[n]] += total[n];
  return total;
}

function diffFlame(tree: DiffTree, table: FrameTable): DiffFlame {
  const frames = table.frames;
  const names = frames.map((f) => f.name);
  const size = tree.size;
  const baseTotal = totalsOf(tree, tree.baseSelf);
  const total = totalsOf(tree, tree.self);
  const nodeFrame = tree.frame;
  // Children in compressed rows, ordered by (name, frame id) through one ranking of the frames.
  const rank = nameRanks(names);
  const byRank = new Int32Array(rank.length + 1);
  for (let n = 1; n < size; n++) byRank[rank[nodeFrame[n]] + 1]++;
  for (let r = 0; r < rank.length; r++) byRank[r + 1] += byRank[r];
  const order = new Int32Array(Math.max(0, size - 1));
  for (let n = 1; n < size; n++) order[byRank[rank[nodeFrame[n]]]++] = n;
  const start = new Int32Array(size + 1);
  for (let n = 1; n < size; n++) start[tree.parent[n] + 1]++;
  for (let n = 0; n < size; n++) start[n + 1] += start[n];
  const fill = start.slice(0, size);
  const kids = new Int32Array(Math.max(0, size - 1));
  for (let i = 0; i < order.length; i++) kids[fill[tree.parent[order[i]]]++] = order[i];

  const out: DiffFlame = {
    frames: {
      name: names,
      file: frames.map((f) => f.file),
      line: frames.map((f) => f.line),
      binary: frames.map((f) => f.binary),
      kind: frames.map((f) => f.kind),
    },
    frame: new Int32Array(size),
    depth: new Int32Array(size),
    total: new Float64Array(size),
    self: new Float64Array(size),
    baseTotal: new Float64Array(size),
    baseSelf: new Float64Array(size),
  };
  const stack = new Int32Array(size + 1);
  const depths = new Int32Array(size + 1);
  let sp = 1;
  let n = 0;
  while (sp > 0) {
    const node = stack[--sp];
    const depth = depths[sp];
    // Nodes a running aggregate took back to zero on both sides are left out.
    if (node !== 0 && total[node] <= 0 && baseTotal[node] <= 0) continue;
    out.frame[n] = nodeFrame[node];
    out.depth[n] = depth;
    out.total[n] = total[node];
    out.self[n] = tree.self[node];
    out.baseTotal[n] = baseTotal[node];
    out.baseSelf[n] = tree.baseSelf[node];
    n++;
    for (let i = start[node + 1] - 1; i >= start[node]; i--) {
      stack[sp] = kids[i];
      depths[sp++] = depth + 1;
    }
  }
  out.frame = out.frame.subarray(0, n);
  out.depth = out.depth.subarray(0, n);
  out.total = out.total.subarray(0, n);
  out.self = out.self.subarray(0, n);
  out.baseTotal = out.baseTotal.subarray(0, n);
  out.baseSelf = out.baseSelf.subarray(0, n);
  return out;
}

/** The wire form (plain arrays), e.g. for tests; the API writes diffFlameJson instead. */
export function diffFlameToWire(f: DiffFlame): DiffFlameGraph {
  const arr = (a: Int32Array | Float64Array): number[] => {
    const o: number[] = [];
    for (let i = 0; i < a.length; i++) o.push(a[i]);
    return o;
  };
  return { frames: f.frames, frame: arr(f.frame), depth: arr(f.depth), total: arr(f.total), self: arr(f.self), baseTotal: arr(f.baseTotal), baseSelf: arr(f.baseSelf) };
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

/** Per function: self sums every node; total takes only the outermost node on each path. */
function diffSymbols(flame: DiffFlame, baseSamples: number, samples: number): DiffSymbolRow[] {
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
  const { tree } = diff;
  const names = diff.flame.frames.name;
  const paths: string[] = new Array(tree.size);
  paths[0] = '';
  const lines: string[] = [];
  for (let n = 1; n < tree.size; n++) {
    const p = paths[tree.parent[n]];
    paths[n] = p === '' ? names[tree.frame[n]] : `${p};${names[tree.frame[n]]}`;
    if (tree.baseSelf[n] !== 0 || tree.self[n] !== 0) lines.push(`${paths[n]} ${tree.baseSelf[n]} ${tree.self[n]}`);
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
