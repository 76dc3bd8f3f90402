import type { CallTree } from './calltree.js';
import type { Frame } from './frames.js';

/** Where a location namer puts the frames of a location, callee first. */
export interface FrameSink {
  frame(name: string, file: string, line: number, binary: string, kind: string): void;
}

/**
 * Turns a request's stacks into call-tree nodes. Each location is named once per request, its
 * frames numbered in a row (request frame ids); each tree then maps those ids to its own
 * frames with a flat array, so walking a stack is array reads and `CallTree.child` calls, with
 * no strings, Maps or allocation per frame. Two locations naming one function get two request
 * frame ids that map to one tree frame (the tree's FrameTable finds it by its parts):
 * numbering by identity per request costs a Map entry per frame and saves little, since most
 * locations of a request name different functions.
 *
 * A request's frames are kept as parts, and a Frame object is made only when some tree lacks
 * the frame; the trees of one request share it (frames are values: nobody mutates them). In
 * steady state a store's trees already hold every frame, so ingest makes no Frame at all.
 *
 * Shared by the object path (`aggregateRequest`) and the wire path (`aggregateEncoded`); they
 * differ only in how a location is named.
 */
export class StackResolver implements FrameSink {
  /** Per location: its first request frame id (-1 = not named yet), and how many frames it has (callee first, as on the wire). */
  private locStart: Int32Array;
  private locCount: Int32Array;
  /** Request frames by part: `frames` of them, in arrays sized up front when the caller knows how many there can be. */
  private frames = 0;
  private readonly names: string[];
  private readonly files: string[];
  private readonly lines: number[];
  private readonly binaries: string[];
  private readonly kinds: string[];
  private readonly protos: (Frame | undefined)[];
  /**
   * Request frame id → tree frame id + 1 for the tree numbered `frameOwner[id]`. One pair of
   * arrays for all trees rather than one per tree: a request may feed hundreds of trees, and
   * an array per tree sized to the request's frames would be most of aggregation's allocation.
   * When trees alternate, an entry is simply looked up again in the tree's own FrameTable.
   */
  private frameTree: Int32Array;
  private frameMapped: Int32Array;
  private readonly treeIds = new Map<CallTree, number>();
  private lastTree: CallTree | undefined;
  private lastTreeId = 0;

  /**
   * `nameLocation(loc, sink)` calls `sink.frame` for each frame of location `loc`, callee
   * first. `sizes` are what the request can hold at most, when known: arrays sized once cost
   * less than arrays grown frame by frame, for every request.
   */
  constructor(
    private readonly nameLocation: (locationIndex: number, sink: FrameSink) => void,
    sizes: { locations: number; frames: number } = { locations: 64, frames: 0 },
  ) {
    this.locStart = new Int32Array(Math.max(64, sizes.locations)).fill(-1);
    this.locCount = new Int32Array(this.locStart.length);
    const n = sizes.frames;
    this.names = new Array<string>(n);
    this.files = new Array<string>(n);
    this.lines = new Array<number>(n);
    this.binaries = new Array<string>(n);
    this.kinds = new Array<string>(n);
    this.protos = new Array<Frame | undefined>(n);
    this.frameTree = new Int32Array(Math.max(256, n));
    this.frameMapped = new Int32Array(this.frameTree.length);
  }

  /** Frames of a location, leaf (innermost inlined callee) first. */
  framesOf(loc: number): Frame[] {
    const start = this.startOf(loc);
    const out: Frame[] = [];
    for (let j = start; j < start + this.locCount[loc]; j++) out.push(this.protoOf(j));
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
      for (let rf = s + this.locCount[loc] - 1; rf >= s; rf--) {
        let tf: number;
        if (this.frameTree[rf] === treeId) {
          tf = this.frameMapped[rf] - 1;
        } else {
          tf = tree.frames.find(this.names[rf], this.files[rf], this.binaries[rf], this.kinds[rf]);
          if (tf < 0) tf = tree.frames.add(this.protoOf(rf));
          this.frameTree[rf] = treeId;
          this.frameMapped[rf] = tf + 1;
        }
        node = tree.child(node, tf);
      }
    }
    return node;
  }

  /** FrameSink: numbers a frame of the location being named. */
  frame(name: string, file: string, line: number, binary: string, kind: string): void {
    const id = this.frames++;
    this.names[id] = name;
    this.files[id] = file;
    this.lines[id] = line;
    this.binaries[id] = binary;
    this.kinds[id] = kind;
    this.protos[id] = undefined;
    if (id >= this.frameTree.length) this.growFrames();
  }

  private protoOf(rf: number): Frame {
    let f = this.protos[rf];
    if (!f) {
      f = { name: this.names[rf], file: this.files[rf], line: this.lines[rf], binary: this.binaries[rf], kind: this.kinds[rf] };
      this.protos[rf] = f;
    }
    return f;
  }

  private startOf(loc: number): number {
    if (loc >= this.locStart.length) this.growLocations(loc);
    const s = this.locStart[loc];
    return s >= 0 ? s : this.resolve(loc);
  }

  private resolve(loc: number): number {
    const start = this.frames;
    this.nameLocation(loc, this);
    this.locStart[loc] = start;
    this.locCount[loc] = this.frames - start;
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
