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
  /** Per tree: request frame id → tree frame id + 1 (0 = not interned in that tree yet). */
  private readonly treeMaps = new Map<CallTree, Int32Array>();
  private lastTree: CallTree | undefined;
  private lastMap: Int32Array = new Int32Array(0);

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
    let map = tree === this.lastTree ? this.lastMap : this.mapFor(tree);
    let node = 0;
    for (let i = end - 1; i >= start; i--) {
      const loc = locs[i];
      const s = this.startOf(loc);
      // Frames of one location are callee first; walking root-down takes them in reverse.
      for (let j = s + this.locCount[loc] - 1; j >= s; j--) {
        const rf = this.locFrames[j];
        if (rf >= map.length) map = this.growMap(tree, rf);
        let tf = map[rf] - 1;
        if (tf < 0) {
          const proto = this.protos[rf];
          tf = tree.frames.internByKey(this.keys[rf], () => proto);
          map[rf] = tf + 1;
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
      }
      this.locFrames.push(id);
    }
    this.locStart[loc] = start;
    this.locCount[loc] = frames.length;
    return start;
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

  private mapFor(tree: CallTree): Int32Array {
    let map = this.treeMaps.get(tree);
    if (!map) {
      map = new Int32Array(Math.max(64, this.keys.length));
      this.treeMaps.set(tree, map);
    }
    this.lastTree = tree;
    this.lastMap = map;
    return map;
  }

  private growMap(tree: CallTree, frameId: number): Int32Array {
    const old = this.mapFor(tree);
    const map = new Int32Array(Math.max(frameId + 1, this.keys.length, old.length * 2));
    map.set(old);
    this.treeMaps.set(tree, map);
    this.lastMap = map;
    return map;
  }
}
