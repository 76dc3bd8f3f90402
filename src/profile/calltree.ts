import { FrameTable } from './frames.js';

/**
 * Stacks interned as paths in a prefix tree: node 0 is the root, every other node is one frame
 * under its parent. A stack is then a node id, and aggregation is adding to that node's self
 * count. Parents always have smaller ids than their children, so one forward pass sees
 * parents before children and one backward pass sums totals.
 */
export class CallTree {
  readonly frames: FrameTable;
  readonly parent: number[] = [-1];
  readonly frame: number[] = [-1];
  readonly selfSamples: number[] = [0];
  readonly selfNanos: number[] = [0];
  /**
   * (parent, frame) → child, as an open-addressing table of node id + 1 (0 = empty) whose keys
   * are the nodes' own parent and frame. A Map keyed by parent·2^26 + frame cost a heap number
   * per lookup key and spent most of aggregation in the garbage collector.
   */
  private slots = new Int32Array(1024);
  private mask = 1023;
  private changes = 0;

  constructor(frames = new FrameTable()) {
    this.frames = frames;
  }

  get size(): number {
    return this.parent.length;
  }

  /**
   * Grows with every change (a node added, samples added, a merge), so results derived from the
   * tree (flame graph, symbols table) can be cached until it changes.
   */
  get version(): number {
    return this.changes;
  }

  /** The child of `parent` for `frame`, created if missing. */
  child(parent: number, frame: number): number {
    const parents = this.parent;
    const frames = this.frame;
    const slots = this.slots;
    const mask = this.mask;
    let i = hashPair(parent, frame) & mask;
    for (let s = slots[i]; s !== 0; s = slots[i]) {
      const n = s - 1;
      if (parents[n] === parent && frames[n] === frame) return n;
      i = (i + 1) & mask;
    }
    const id = parents.push(parent) - 1;
    frames.push(frame);
    this.selfSamples.push(0);
    this.selfNanos.push(0);
    slots[i] = id + 1;
    this.changes++;
    // Keep the table at most half full so probe runs stay short.
    if (id * 2 > mask) this.grow();
    return id;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const slots = new Int32Array(size);
    const mask = size - 1;
    for (let n = 1; n < this.parent.length; n++) {
      let i = hashPair(this.parent[n], this.frame[n]) & mask;
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

  add(node: number, samples: number, nanos: number): void {
    this.changes++;
    this.selfSamples[node] += samples;
    this.selfNanos[node] += nanos;
  }

  /**
   * Adds every node of `other` into this tree (frames matched by identity). With `sign` -1 it
   * takes `other` back out, which is how a store drops an old chunk from a running total.
   */
  merge(other: CallTree, sign: 1 | -1 = 1): void {
    const frameMap = new Int32Array(other.frames.size);
    for (let f = 0; f < other.frames.size; f++) {
      frameMap[f] = this.frames.internByKey(other.frames.keyOf(f), () => ({ ...other.frames.get(f) }));
    }
    const nodeMap = new Int32Array(other.size);
    nodeMap[0] = 0;
    for (let n = 1; n < other.size; n++) {
      const mine = this.child(nodeMap[other.parent[n]], frameMap[other.frame[n]]);
      nodeMap[n] = mine;
      if (other.selfSamples[n] !== 0 || other.selfNanos[n] !== 0) this.add(mine, sign * other.selfSamples[n], sign * other.selfNanos[n]);
    }
    this.add(0, sign * other.selfSamples[0], sign * other.selfNanos[0]);
  }

  /** Total samples (or nanos) per node: self plus all descendants. */
  totals(which: 'samples' | 'nanos' = 'samples'): Float64Array {
    const self = which === 'samples' ? this.selfSamples : this.selfNanos;
    const total = Float64Array.from(self);
    for (let n = this.size - 1; n > 0; n--) total[this.parent[n]] += total[n];
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

/** Mixes a (parent, frame) pair into 32 bits; both are small non-negative integers. */
function hashPair(parent: number, frame: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(frame + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) ^ (h >>> 13);
}
