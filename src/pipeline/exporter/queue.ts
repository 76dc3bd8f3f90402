/**
 * A bounded FIFO between producers (consume) and the sending workers. Bounded by items and by
 * bytes, so a slow destination costs a known amount of memory; `offer` says no instead of
 * growing, and the caller counts the drop.
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private bytesHeld = 0;
  private readonly waiters: ((item: T | undefined) => void)[] = [];
  private closed = false;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
    private readonly sizeOf: (item: T) => number,
    private readonly onChange?: (items: number, bytes: number) => void,
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.bytesHeld;
  }

  /** Adds an item, or returns false when full or closed. */
  offer(item: T): boolean {
    if (this.closed) return false;
    const waiter = this.waiters.shift();
    if (waiter) {
      // A worker is idle: hand over directly; the item never sits in the queue.
      waiter(item);
      return true;
    }
    const bytes = this.sizeOf(item);
    if (this.size >= this.maxItems || this.bytesHeld + bytes > this.maxBytes) return false;
    this.items.push(item);
    this.bytesHeld += bytes;
    this.onChange?.(this.size, this.bytesHeld);
    return true;
  }

  /** The next item; undefined once the queue is closed and empty. */
  take(): Promise<T | undefined> {
    if (this.size > 0) return Promise.resolve(this.shift());
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** No more offers; workers finish what is queued, then take() yields undefined. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Removes and returns everything still queued (shutdown deadline passed). */
  drainRemaining(): T[] {
    const rest: T[] = [];
    while (this.size > 0) rest.push(this.shift());
    return rest;
  }

  private shift(): T {
    const item = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head++;
    // Compact now and then, so a long-lived queue does not keep a long sparse array.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    this.bytesHeld -= this.sizeOf(item);
    this.onChange?.(this.size, this.bytesHeld);
    return item;
  }
}
