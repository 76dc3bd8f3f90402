import { FrameTable } from './frames.js';

/**
 * Paths of frames as a prefix tree in flat typed columns: node 0 is the root, every other node
 * is one frame under its parent, made on first use (`child`). Parents always have smaller ids
 * than their children, so one forward pass sees parents before children and one backward
 * pass sums totals. Each node carries a value in every one of the tree's value columns (a
 * profile's self samples; a diff's self samples of either side), zero for a new node.
 *
 * Columns are typed arrays with room to grow (only the first `size` entries are nodes; a
 * column is replaced when it grows, so read it again after adding nodes): a full 8 MiB slot's
 * tree has ~35k nodes, and number[] columns would cost more and sit in the JS heap as large
 * objects.
 */
export class ColumnTree {
  private parents: Int32Array;
  private frameIds: Int32Array;
  private cols: Float64Array[];
  private nodes = 1;
  /**
   * (parent, frame) → child, as an open-addressing table of node id + 1 (0 = empty) whose keys
   * are the nodes' own parent and frame. A Map keyed by parent·2^26 + frame cost a heap number
   * per lookup key and spent most of aggregation in the garbage collector.
   */
  private slots: Int32Array;
  private mask: number;
  protected changes = 0;

  /** `columns` value columns; room for `capacity` nodes before the columns grow. */
  constructor(columns: number, rootFrame = -1, capacity = 8) {
    const cap = Math.max(8, capacity);
    this.parents = new Int32Array(cap);
    this.frameIds = new Int32Array(cap);
    this.parents[0] = -1;
    this.frameIds[0] = rootFrame;
    this.cols = Array.from({ length: columns }, () => new Float64Array(cap));
    let slots = 1024;
    while (slots < cap * 2) slots *= 2;
    this.slots = new Int32Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.nodes;
  }

  /** Parent of each node (-1 for the root); entries at and past `size` are unused. */
  get parent(): Int32Array {
    return this.parents;
  }

  /** Frame id of each node (the root's as constructed, -1 by default); entries at and past `size` are unused. */
  get frame(): Int32Array {
    return this.frameIds;
  }

  /** Value column `i` per node; entries at and past `size` are unused. */
  column(i: number): Float64Array {
    return this.cols[i];
  }

  /** Adds a value column holding `values` (copied; zeros past them), and returns its index. */
  protected addColumn(values?: Float64Array): number {
    const col = new Float64Array(this.parents.length);
    if (values) col.set(values.subarray(0, col.length));
    return this.cols.push(col) - 1;
  }

  /**
   * Grows with every change (a node added, and whatever a subclass counts), so results derived
   * from the tree (flame graph, symbols table) can be cached until it changes.
   */
  get version(): number {
    return this.changes;
  }

  /** The child of `parent` for `frame`, created (with zero values) if missing. */
  child(parent: number, frame: number): number {
    const parents = this.parents;
    const frames = this.frameIds;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashPair(parent, frame) & mask;
    for (let s = slots[i]; s !== 0; s = slots[i]) {
      const n = s - 1;
      if (parents[n] === parent && frames[n] === frame) return n;
      i = (i + 1) & mask;
    }
    const id = this.nodes++;
    if (id === parents.length) this.growColumns();
    this.parents[id] = parent;
    this.frameIds[id] = frame;
    slots[i] = id + 1;
    this.changes++;
    // Keep the table at most half full so probe runs stay short.
    if (id * 2 > mask) this.grow();
    return id;
  }

  /** Room for half as many nodes again (a doubling would leave more unused on average). */
  private growColumns(): void {
    const size = this.parents.length + (this.parents.length >> 1);
    const grown = <T extends Int32Array | Float64Array>(col: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(col);
      return next;
    };
    this.parents = grown(this.parents, (n) => new Int32Array(n));
    this.frameIds = grown(this.frameIds, (n) => new Int32Array(n));
    this.cols = this.cols.map((c) => grown(c, (n) => new Float64Array(n)));
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let n = 1; n < this.nodes; n++) {
      let i = hashPair(this.parents[n], this.frameIds[n]) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = n + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  /** The node for a stack given root first as frame ids. */
  path(rootFirst: ArrayLike<number>): number {
    let node = 0;
    for (let i = 0; i < rootFirst.length; i++) node = this.child(node, rootFirst[i]);
    return node;
  }

  /** Per node, the sum of `self` (a value column, or one like it) over the node and all its descendants. */
  subtreeTotals(self: Float64Array): Float64Array {
    const total = self.slice(0, this.nodes);
    for (let n = this.nodes - 1; n > 0; n--) total[this.parents[n]] += total[n];
    return total;
  }

  /** Frame ids from the root down to `node` (excluding the root). */
  stackOf(node: number): number[] {
    const out: number[] = [];
    for (let n = node; n > 0; n = this.parent[n]) out.push(this.frame[n]);
    return out.reverse();
  }

  /** Children lists, built on demand (the tree itself keeps only parent links). */
  childLists(): number[][] {
    const lists: number[][] = Array.from({ length: this.size }, () => []);
    for (let n = 1; n < this.size; n++) lists[this.parent[n]].push(n);
    return lists;
  }
}

/**
 * Stacks interned as paths in a prefix tree (a ColumnTree with one value column, the self
 * samples): a stack is a node id, and aggregation is adding to that node's self count.
 */
export class CallTree extends ColumnTree {
  readonly frames: FrameTable;
  /**
   * Self nanoseconds: no column while every add so far had nanos = samples × one whole
   * `nanosPerSample` (a CPU profile at one period: the usual case), so the column is derived
   * from the samples when asked for; made the first time an add breaks that rule. A full
   * slot's tree has ~35k nodes, and this column would be a large share of its memory.
   */
  private nanoCol = -1;
  private nanosPerSample = NaN;

  constructor(frames = new FrameTable()) {
    super(1);
    this.frames = frames;
  }

  get selfSamples(): Float64Array {
    return this.column(0);
  }

  /** Self nanoseconds of each node; derived from the samples (a new array) unless the tree keeps its own. Read it once per pass. */
  get selfNanos(): Float64Array {
    if (this.nanoCol >= 0) return this.column(this.nanoCol);
    const samples = this.selfSamples;
    const out = new Float64Array(samples.length);
    const k = Number.isNaN(this.nanosPerSample) ? 0 : this.nanosPerSample;
    for (let n = 0; n < this.size; n++) out[n] = samples[n] * k;
    return out;
  }

  add(node: number, samples: number, nanos: number): void {
    this.changes++;
    if (this.nanoCol < 0 && !this.derives(samples, nanos)) this.nanoCol = this.addColumn(this.selfNanos);
    this.selfSamples[node] += samples;
    if (this.nanoCol >= 0) this.column(this.nanoCol)[node] += nanos;
  }

  /**
   * Whether nanos still follow from samples after this add. Whole samples and a whole rate
   * keep every derived value an exact integer (below 2^53), so deriving is exact.
   */
  private derives(samples: number, nanos: number): boolean {
    if (!Number.isInteger(samples)) return false;
    if (Number.isNaN(this.nanosPerSample)) {
      if (samples === 0) return nanos === 0;
      const k = nanos / samples;
      if (!Number.isInteger(k) || k < 0) return false;
      this.nanosPerSample = k;
      return true;
    }
    return nanos === samples * this.nanosPerSample;
  }

  /**
   * Adds every node of `other` into this tree (frames matched by identity). With `sign` -1 it
   * takes `other` back out, which is how a store drops an old chunk from a running total.
   */
  merge(other: CallTree, sign: 1 | -1 = 1): void {
    const frameMap = new Int32Array(other.frames.size);
    for (let f = 0; f < other.frames.size; f++) {
      frameMap[f] = this.frames.intern(other.frames.get(f));
    }
    const nodeMap = new Int32Array(other.size);
    nodeMap[0] = 0;
    const samples = other.selfSamples;
    const nanos = other.selfNanos;
    for (let n = 1; n < other.size; n++) {
      const mine = this.child(nodeMap[other.parent[n]], frameMap[other.frame[n]]);
      nodeMap[n] = mine;
      if (samples[n] !== 0 || nanos[n] !== 0) this.add(mine, sign * samples[n], sign * nanos[n]);
    }
    this.add(0, sign * samples[0], sign * nanos[0]);
  }

  /** Total samples (or nanos) per node: self plus all descendants. */
  totals(which: 'samples' | 'nanos' = 'samples'): Float64Array {
    return this.subtreeTotals(which === 'samples' ? this.selfSamples : this.selfNanos);
  }
}

/** Mixes a (parent, frame) pair into 32 bits; both are small non-negative integers. */
function hashPair(parent: number, frame: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(frame + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
}
