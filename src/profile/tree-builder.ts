import type { FlameGraph } from './flame.js';

/** How a written-out tree orders each node's children. */
export type ChildOrder = 'name' | 'heavy';

/** Each frame's position when frames are sorted by name, ties by id: per frame table, computed once. */
const rankCache = new WeakMap<readonly string[], Int32Array>();

function nameRanks(names: readonly string[]): Int32Array {
  let rank = rankCache.get(names);
  if (rank) return rank;
  const order = Array.from(names.keys());
  order.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b));
  rank = new Int32Array(names.length);
  for (let i = 0; i < order.length; i++) rank[order[i]] = i;
  rankCache.set(names, rank);
  return rank;
}

/** A tree as flat arrays indexed by node id; node 0 is the root (its parent -1). */
export interface FlatTree {
  size: number;
  parent: ArrayLike<number>;
  frame: ArrayLike<number>;
  self: ArrayLike<number>;
  total: ArrayLike<number>;
}

/**
 * Writes the subtree of `start` out as a FlameGraph in pre-order (`start` at depth 0). Children
 * by name (ties by frame id), the order the server sends; or `heavy`: largest total first
 * (ties by name), speedscope's left-heavy order. Linear apart from the ordering: children
 * are bucketed by parent in flat arrays (no array per node), by name with one counting sort
 * over the frames' name ranks.
 */
export function writeFlame(tree: FlatTree, frames: FlameGraph['frames'], start: number, order: ChildOrder): FlameGraph {
  const { size, parent, frame, self, total } = tree;
  if (start >= size) return { frames, frame: [], depth: [], total: [], self: [] };
  const rank = nameRanks(frames.name);
  // Every node but the root, by its frame's name rank (a counting sort; the root's frame may be -1).
  const byRank = new Int32Array(Math.max(0, size - 1));
  {
    const next = new Int32Array(rank.length + 1);
    for (let n = 1; n < size; n++) next[rank[frame[n]] + 1]++;
    for (let r = 0; r < rank.length; r++) next[r + 1] += next[r];
    for (let n = 1; n < size; n++) byRank[next[rank[frame[n]]]++] = n;
  }
  // Children of n: kids[first[n] .. first[n + 1]), in name order.
  const first = new Int32Array(size + 1);
  for (let n = 1; n < size; n++) first[parent[n] + 1]++;
  for (let n = 0; n < size; n++) first[n + 1] += first[n];
  const fill = first.slice(0, size);
  const kids = new Int32Array(Math.max(0, size - 1));
  for (let i = 0; i < byRank.length; i++) kids[fill[parent[byRank[i]]]++] = byRank[i];
  if (order === 'heavy') {
    const heavier = (a: number, b: number): number => total[b] - total[a] || rank[frame[a]] - rank[frame[b]];
    for (let n = 0; n < size; n++) if (first[n + 1] - first[n] > 1) kids.subarray(first[n], first[n + 1]).sort(heavier);
  }
  const outFrame = new Array<number>(size);
  const outDepth = new Array<number>(size);
  const outTotal = new Array<number>(size);
  const outSelf = new Array<number>(size);
  const stack = new Int32Array(size);
  const depths = new Int32Array(size);
  let sp = 0;
  let count = 0;
  stack[sp] = start;
  depths[sp++] = 0;
  while (sp > 0) {
    const n = stack[--sp];
    const d = depths[sp];
    outFrame[count] = frame[n];
    outDepth[count] = d;
    outTotal[count] = total[n];
    outSelf[count] = self[n];
    count++;
    // Pushed in reverse, so the first child is written first.
    for (let i = first[n + 1] - 1; i >= first[n]; i--) {
      stack[sp] = kids[i];
      depths[sp++] = d + 1;
    }
  }
  outFrame.length = count;
  outDepth.length = count;
  outTotal.length = count;
  outSelf.length = count;
  return { frames, frame: outFrame, depth: outDepth, total: outTotal, self: outSelf };
}

/**
 * A call tree built node by node (a child per (parent, frame), created on first use), then
 * written out as a FlameGraph. What the sandwich and the flame graph transforms (transform.ts)
 * build their trees with. Node 0 is a root whose frame the caller picks (-1 for an "all" node).
 * Flat typed arrays and an open-addressing table of (parent, frame) pairs: building a tree of
 * 500k nodes allocates a few arrays, not an object per node.
 */
export class TreeBuilder implements FlatTree {
  size = 1;
  parent: Int32Array;
  frame: Int32Array;
  self: Float64Array;
  total: Float64Array;
  // (parent, frame) -> child id; 0 marks an empty slot (node 0 is never a child).
  private keyParent: Int32Array;
  private keyFrame: Int32Array;
  private value: Int32Array;
  private mask: number;

  constructor(rootFrame = -1, capacity = 1024) {
    const cap = Math.max(16, capacity);
    this.parent = new Int32Array(cap);
    this.frame = new Int32Array(cap);
    this.self = new Float64Array(cap);
    this.total = new Float64Array(cap);
    this.parent[0] = -1;
    this.frame[0] = rootFrame;
    let slots = 32;
    while (slots < cap * 2) slots *= 2;
    this.keyParent = new Int32Array(slots);
    this.keyFrame = new Int32Array(slots);
    this.value = new Int32Array(slots);
    this.mask = slots - 1;
  }

  private slot(parent: number, frame: number): number {
    let h = (Math.imul(parent, 0x9e3779b1) ^ Math.imul(frame + 1, 0x85ebca77)) >>> 0;
    h = (h ^ (h >>> 15)) & this.mask;
    while (this.value[h] !== 0 && (this.keyParent[h] !== parent || this.keyFrame[h] !== frame)) h = (h + 1) & this.mask;
    return h;
  }

  private grow(): void {
    const cap = this.frame.length * 2;
    const widen = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.parent = widen(this.parent, (n) => new Int32Array(n));
    this.frame = widen(this.frame, (n) => new Int32Array(n));
    this.self = widen(this.self, (n) => new Float64Array(n));
    this.total = widen(this.total, (n) => new Float64Array(n));
    const slots = (this.mask + 1) * 2;
    this.keyParent = new Int32Array(slots);
    this.keyFrame = new Int32Array(slots);
    this.value = new Int32Array(slots);
    this.mask = slots - 1;
    for (let n = 1; n < this.size; n++) {
      const s = this.slot(this.parent[n], this.frame[n]);
      this.keyParent[s] = this.parent[n];
      this.keyFrame[s] = this.frame[n];
      this.value[s] = n;
    }
  }

  /** The child of `parent` for `frame` (>= 0), made (with zero samples) when there is none yet. */
  child(parent: number, frame: number): number {
    const s = this.slot(parent, frame);
    if (this.value[s] !== 0) return this.value[s];
    if (this.size === this.frame.length) {
      this.grow();
      return this.child(parent, frame);
    }
    const id = this.size++;
    this.parent[id] = parent;
    this.frame[id] = frame;
    this.keyParent[s] = parent;
    this.keyFrame[s] = frame;
    this.value[s] = id;
    return id;
  }

  /** The subtree of `start` as a FlameGraph (see writeFlame). */
  toFlame(frames: FlameGraph['frames'], start: number, order: ChildOrder = 'name'): FlameGraph {
    return writeFlame(this, frames, start, order);
  }
}
