import type { CallTree } from './calltree.js';
import { frameKey, type Frame } from './frames.js';

/**
 * Turns a request's stacks into call-tree nodes. Each location is resolved to frames once per
 * request and its frames interned once per request (by key); each tree then maps those
 * request-wide frame ids to its own with a flat array, so walking a stack is array reads and
 * `CallTree.child` calls, with no strings, Maps or allocation per frame.
 *
 * The trees of one request share its Frame objects (frames are values: nobody mutates them),
 * which halves what a fleet-wide request allocates.
 *
 * Shared by the object path (`aggregateRequest`) and the wire path (`aggregateEncoded`); they
 * differ only in how a location becomes frames.
 */
export class StackResolver {
  /** Per location: where its frame ids start in `locFrames` (-1 = not resolved yet), and how many. */
  private locStart: Int32Array;
  private locCount: Int32Array;
  /** Request-wide frame ids of every resolved location, callee first, as on the wire. */
  private readonly locFrames: number[] = [];
  private readonly frameIds = new Map<string, number>();
  private readonly keys: string[] = [];
  private readonly protos: Frame[] = [];
  /**
   * Request frame id → tree frame id + 1 for the tree numbered `frameOwner[id]`. One pair of
   * arrays for all trees rather than one per tree: a request may feed hundreds of trees, and
   * an array per tree sized to the request's frames was most of what aggregation allocated.
   * When trees alternate, an entry is simply looked up again in the tree's own FrameTable.
   */
  private frameTree = new Int32Array(256);
  private frameMapped = new Int32Array(256);
  private readonly treeIds = new Map<CallTree, number>();
  private lastTree: CallTree | undefined;
  private lastTreeId = 0;

  constructor(private readonly resolveLocation: (locationIndex: number) => Frame[]) {
    this.locStart = new Int32Array(64).fill(-1);
    this.locCount = new Int32Array(64);
  }

  /** Frames of a location, leaf (innermost inlined callee) first. */
  framesOf(loc: number): Frame[] {
    const start = this.startOf(loc);
    const out: Frame[] = [];
    for (let j = start; j < start + this.locCount[loc]; j++) out.push(this.protos[this.locFrames[j]]);
    return out;
  }

  /** The node for the stack `locs[start..end)` (leaf first), created in `tree` if missing. */
  nodeFor(tree: CallTree, locs: ArrayLike<number>, start: number, end: number): number {
    const treeId = tree === this.lastTree ? this.lastTreeId : this.idOf(tree);
    let node = 0;
    for (let i = end - 1; i >= start; i--) {
      const loc = locs[i];
      const s = this.startOf(loc);
      // Frames of one location are callee first; walking root-down takes them in reverse.
      for (let j = s + this.locCount[loc] - 1; j >= s; j--) {
        const rf = this.locFrames[j];
        let tf: number;
        if (this.frameTree[rf] === treeId) {
          tf = this.frameMapped[rf] - 1;
        } else {
          const proto = this.protos[rf];
          tf = tree.frames.internByKey(this.keys[rf], () => proto);
          this.frameTree[rf] = treeId;
          this.frameMapped[rf] = tf + 1;
        }
        node = tree.child(node, tf);
      }
    }
    return node;
  }

  private startOf(loc: number): number {
    if (loc >= this.locStart.length) this.growLocations(loc);
    const s = this.locStart[loc];
    return s >= 0 ? s : this.resolve(loc);
  }

  private resolve(loc: number): number {
    const frames = this.resolveLocation(loc);
    const start = this.locFrames.length;
    for (const f of frames) {
      const key = frameKey(f);
      let id = this.frameIds.get(key);
      if (id === undefined) {
        id = this.keys.push(key) - 1;
        this.protos.push(f);
        this.frameIds.set(key, id);
        if (id >= this.frameTree.length) this.growFrames();
      }
      this.locFrames.push(id);
    }
    this.locStart[loc] = start;
    this.locCount[loc] = frames.length;
    return start;
  }

  private growFrames(): void {
    const tree = new Int32Array(this.frameTree.length * 2);
    tree.set(this.frameTree);
    const mapped = new Int32Array(this.frameMapped.length * 2);
    mapped.set(this.frameMapped);
    this.frameTree = tree;
    this.frameMapped = mapped;
  }

  private growLocations(loc: number): void {
    let size = this.locStart.length;
    while (size <= loc) size *= 2;
    const start = new Int32Array(size).fill(-1);
    start.set(this.locStart);
    const count = new Int32Array(size);
    count.set(this.locCount);
    this.locStart = start;
    this.locCount = count;
  }

  /** Trees are numbered from 1, so 0 in `frameTree` means "no tree yet". */
  private idOf(tree: CallTree): number {
    let id = this.treeIds.get(tree);
    if (id === undefined) {
      id = this.treeIds.size + 1;
      this.treeIds.set(tree, id);
    }
    this.lastTree = tree;
    this.lastTreeId = id;
    return id;
  }
}
