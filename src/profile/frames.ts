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
 *
 * Looked up by its parts, not by a key string: frames are found by name (a Map from name to
 * the newest frame of that name, the others chained behind it), then file, binary and kind
 * compared. Ingest finds each frame of every request here, and a key string per lookup would be
 * a large share of what it allocates; names are mostly unique, so a chain is one or two long.
 */
export class FrameTable {
  readonly frames: Frame[] = [];
  private readonly byName = new Map<string, number>();
  /** Per frame: the next (older) frame with the same name, or -1. */
  private readonly sameName: number[] = [];

  get size(): number {
    return this.frames.length;
  }

  /** The id of the frame with these parts, or -1 when the table has none. */
  find(name: string, file: string, binary: string, kind: string): number {
    let id = this.byName.get(name) ?? -1;
    while (id >= 0) {
      const f = this.frames[id];
      if (f.file === file && f.binary === binary && f.kind === kind) return id;
      id = this.sameName[id];
    }
    return id;
  }

  /** Adds `frame` itself (not a copy; frames are values nobody mutates); the caller checked with `find` that it is new. */
  add(frame: Frame): number {
    const id = this.frames.push(frame) - 1;
    this.sameName.push(this.byName.get(frame.name) ?? -1);
    this.byName.set(frame.name, id);
    return id;
  }

  /** The id of `frame`'s identity, adding a copy of it when new. */
  intern(frame: Frame): number {
    const id = this.find(frame.name, frame.file, frame.binary, frame.kind);
    return id >= 0 ? id : this.add({ ...frame });
  }

  /** Like `intern`, but a new frame is shared rather than copied. */
  internShared(frame: Frame): number {
    const id = this.find(frame.name, frame.file, frame.binary, frame.kind);
    return id >= 0 ? id : this.add(frame);
  }

  get(id: number): Frame {
    return this.frames[id];
  }
}
