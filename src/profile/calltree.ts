import { FrameTable, frameKey } from './frames.js';

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
  private readonly children = new Map<number, number>();

  constructor(frames = new FrameTable()) {
    this.frames = frames;
  }

  get size(): number {
    return this.parent.length;
  }

  /** The child of `parent` for `frame`, created if missing. */
  child(parent: number, frame: number): number {
    // Frame ids stay below 2^26 and node ids below 2^26: the product fits a safe integer.
    const key = parent * 67108864 + frame;
    let id = this.children.get(key);
    if (id === undefined) {
      id = this.parent.push(parent) - 1;
      this.frame.push(frame);
      this.selfSamples.push(0);
      this.selfNanos.push(0);
      this.children.set(key, id);
    }
    return id;
  }

  /** The node for a stack given root first as frame ids. */
  path(rootFirst: ArrayLike<number>): number {
    let node = 0;
    for (let i = 0; i < rootFirst.length; i++) node = this.child(node, rootFirst[i]);
    return node;
  }

  add(node: number, samples: number, nanos: number): void {
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
      const fr = other.frames.get(f);
      frameMap[f] = this.frames.internByKey(frameKey(fr), () => ({ ...fr }));
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
