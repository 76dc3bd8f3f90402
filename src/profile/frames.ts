/** What a flame graph node or a symbols row is about. */
export interface Frame {
  /** Display name: the function, or `binary+0xoffset` when the function is unknown. */
  name: string;
  /** Source file where known, else ''. */
  file: string;
  /** First line seen for this frame (1-based), 0 when unknown. */
  line: number;
  /** Binary (mapping file basename) where known, else ''. */
  binary: string;
  /** `profile.frame.type` (native, kernel, v8js, …) where known, else ''. */
  kind: string;
}

/**
 * Frames interned once and referred to by index everywhere else. Identity is name + file +
 * binary + kind: two lines of one function are one frame (flame graphs merge by function).
 */
export class FrameTable {
  readonly frames: Frame[] = [];
  private readonly index = new Map<string, number>();
  /** Each frame's key, kept so merging trees does not rebuild a string per frame. */
  private readonly keys: string[] = [];

  get size(): number {
    return this.frames.length;
  }

  intern(frame: Frame): number {
    const key = frameKey(frame);
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.frames.push({ ...frame }) - 1;
      this.index.set(key, id);
      this.keys[id] = key;
    }
    return id;
  }

  internByKey(key: string, make: () => Frame): number {
    let id = this.index.get(key);
    if (id === undefined) {
      id = this.frames.push(make()) - 1;
      this.index.set(key, id);
      this.keys[id] = key;
    }
    return id;
  }

  get(id: number): Frame {
    return this.frames[id];
  }

  /** The identity key of frame `id` (see frameKey). */
  keyOf(id: number): string {
    return this.keys[id] ?? frameKey(this.frames[id]);
  }
}

export function frameKey(f: Frame): string {
  return `${f.name}\0${f.file}\0${f.binary}\0${f.kind}`;
}
