/** The smallest arena a slot starts with; it doubles from here as data arrives. */
export const MIN_ARENA_BYTES = 64 * 1024;

/**
 * A slot's chunk bytes in one contiguous ring buffer, first in, first out. Chunks are kept
 * back to back and dropped oldest first, so a ring holds exactly `maxBytes` of chunks with no
 * slack. The buffer starts small and doubles up to `maxBytes` as data arrives, so a slot with
 * little data holds little memory.
 *
 * The buffer is a WebAssembly memory where the runtime gives one: it is mapped straight from
 * the system, grows in place, and is unmapped when collected. Plain ArrayBuffers come from
 * malloc, which returns a large one to the system only while it is above malloc's (moving)
 * mmap threshold; below it, slots' buffers and the ingest path's short-lived buffers shared
 * one heap and the freed memory between them stayed resident (one buffer per chunk was worse).
 *
 * Positions are logical: a chunk's position is the number of bytes appended before it, so
 * moving the bytes to a new buffer changes no chunk. A chunk that wraps the buffer's end is in
 * two pieces and copied out only when read.
 */
export class ChunkRing {
  private buf: Uint8Array;
  /** Physical offset and logical position of the oldest byte held. */
  private head = 0;
  private headPos = 0;
  private usedBytes = 0;
  private max: number;

  private memory: WebAssembly.Memory | undefined;

  /** Whether buffers come from WebAssembly memories (else plain ArrayBuffers, from malloc). */
  private readonly wasm: boolean;

  constructor(maxBytes: number, opts: { initialBytes?: number; wasm?: boolean } = {}) {
    assertSize(maxBytes);
    this.max = maxBytes;
    this.wasm = opts.wasm ?? true;
    const size = Math.min(maxBytes, opts.initialBytes ?? MIN_ARENA_BYTES);
    this.memory = this.wasm ? newMemory(size, maxBytes) : undefined;
    this.buf = this.memory ? new Uint8Array(this.memory.buffer) : new Uint8Array(size);
  }

  /** Bytes held. */
  get used(): number {
    return this.usedBytes;
  }

  /** The most bytes it may hold. */
  get maxBytes(): number {
    return this.max;
  }

  /** Bytes allocated (grows by doubling up to maxBytes, in whole 64 KiB pages for a memory). */
  get capacity(): number {
    return this.buf.byteLength;
  }

  /** The ring's length: the buffer, but not past maxBytes (a memory comes in whole pages). */
  private get ringSize(): number {
    return Math.min(this.buf.byteLength, this.max);
  }

  /** Whether the bytes are in a WebAssembly memory (mapped from the system, not malloc's heap). */
  get inMemory(): boolean {
    return this.memory !== undefined;
  }

  /** Whether `n` more bytes fit without dropping anything. */
  fits(n: number): boolean {
    return this.usedBytes + n <= this.max;
  }

  /**
   * Copies `bytes` in after the newest and returns their position. The caller drops old bytes
   * first: appending more than fits is an error, never a silent overwrite.
   */
  append(bytes: Uint8Array): number {
    const n = bytes.byteLength;
    if (!this.fits(n)) throw new RangeError(`ChunkRing: ${n} bytes do not fit (${this.usedBytes} of ${this.max} used)`);
    if (this.usedBytes + n > this.ringSize) this.grow(grownSize(this.buf.byteLength, this.usedBytes + n, this.max));
    const cap = this.ringSize;
    const pos = this.headPos + this.usedBytes;
    const at = (this.head + this.usedBytes) % cap;
    const first = Math.min(n, cap - at);
    this.buf.set(first === n ? bytes : bytes.subarray(0, first), at);
    if (first < n) this.buf.set(bytes.subarray(first), 0);
    this.usedBytes += n;
    return pos;
  }

  /** Drops the oldest `n` bytes (the oldest chunk's length). */
  dropOldest(n: number): void {
    if (n < 0 || n > this.usedBytes) throw new RangeError(`ChunkRing: cannot drop ${n} of ${this.usedBytes} bytes`);
    this.head = (this.head + n) % this.ringSize;
    this.headPos += n;
    this.usedBytes -= n;
    if (this.usedBytes === 0) this.head = 0;
  }

  /**
   * The `n` bytes at logical position `pos`: a view while they are contiguous (valid until the
   * ring next changes), else a copy of both pieces.
   */
  read(pos: number, n: number): Uint8Array {
    if (pos < this.headPos || pos + n > this.headPos + this.usedBytes) {
      throw new RangeError(`ChunkRing: bytes ${pos}..${pos + n} are not held (${this.headPos}..${this.headPos + this.usedBytes})`);
    }
    const cap = this.ringSize;
    const at = (this.head + (pos - this.headPos)) % cap;
    if (at + n <= cap) return this.buf.subarray(at, at + n);
    const out = new Uint8Array(n);
    const first = cap - at;
    out.set(this.buf.subarray(at, cap), 0);
    out.set(this.buf.subarray(0, n - first), first);
    return out;
  }

  /**
   * A new limit. The caller drops oldest chunks first so that what is held fits; the bytes held
   * move to a new buffer sized for them (a memory's limit is fixed when it is made).
   */
  resize(maxBytes: number): void {
    assertSize(maxBytes);
    if (this.usedBytes > maxBytes) throw new RangeError(`ChunkRing: ${this.usedBytes} bytes held exceed the new limit of ${maxBytes}`);
    if (maxBytes === this.max) return;
    const ring = this.ringSize;
    this.max = maxBytes;
    this.reallocate(grownSize(Math.min(MIN_ARENA_BYTES, maxBytes), this.usedBytes, maxBytes), ring);
  }

  private grow(size: number): void {
    const memory = this.memory;
    if (memory) {
      const wrapped = this.head + this.usedBytes > this.ringSize;
      const linear = wrapped ? this.read(this.headPos, this.usedBytes).slice() : undefined;
      try {
        memory.grow(Math.ceil((size - memory.buffer.byteLength) / WASM_PAGE));
        this.buf = new Uint8Array(memory.buffer);
        if (linear) {
          this.buf.set(linear, 0);
          this.head = 0;
        }
        return;
      } catch {
        this.memory = undefined;
      }
    }
    this.reallocate(size);
  }

  /** Moves the bytes held to the start of a new buffer of (at least) `size` bytes. */
  private reallocate(size: number, ring = this.ringSize): void {
    const memory = this.wasm ? newMemory(size, this.max) : undefined;
    const next = memory ? new Uint8Array(memory.buffer) : new Uint8Array(size);
    const first = Math.min(this.usedBytes, ring - this.head);
    next.set(this.buf.subarray(this.head, this.head + first), 0);
    if (first < this.usedBytes) next.set(this.buf.subarray(0, this.usedBytes - first), first);
    this.memory = memory;
    this.buf = next;
    this.head = 0;
  }
}

const WASM_PAGE = 65536;

/**
 * A WebAssembly memory of `bytes` (rounded up to pages) that can grow in place up to
 * `maxBytes`: it is mapped straight from the system (never from malloc's heap) and unmapped
 * when collected. Undefined when the runtime cannot give one (no WebAssembly, address space).
 */
function newMemory(bytes: number, maxBytes: number): WebAssembly.Memory | undefined {
  const maximum = Math.ceil(maxBytes / WASM_PAGE);
  if (typeof WebAssembly === 'undefined' || maximum > 65536) return undefined;
  try {
    return new WebAssembly.Memory({ initial: Math.ceil(bytes / WASM_PAGE), maximum });
  } catch {
    return undefined;
  }
}

/** Doubles `size` until it holds `need`, but not past `max`. */
function grownSize(size: number, need: number, max: number): number {
  let next = Math.max(size, 1);
  while (next < need) next *= 2;
  return Math.min(next, max);
}

function assertSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`ChunkRing: a limit must be a positive whole number of bytes, not ${n}`);
}
