import type { FrameTable } from './frames.js';

/** A frame table's frames in name order (ties by id), and each frame's place in it. */
export interface NameOrder {
  /** Frame ids, sorted by name, ties by id. */
  order: Int32Array;
  /** Per frame id, its index in `order`. */
  rank: Int32Array;
}

/** Per table, the order as of its last `size`. */
const cache = new WeakMap<FrameTable, NameOrder>();

/**
 * The frames of `frames` in name order, ties by id. A table only grows (frames are never
 * removed or renumbered), so the order is kept per table: frames added since the last call
 * are sorted on their own and merged in. A live slot's table gains a few frames an update,
 * and sorting all of its names again (~80k strings at 500k nodes) would be most of building its
 * flame graph. The result is shared and must be treated as read-only.
 */
export function frameNameOrder(frames: FrameTable): NameOrder {
  const size = frames.size;
  const hit = cache.get(frames);
  if (hit && hit.order.length === size) return hit;
  const name = (f: number): string => frames.get(f).name;
  const old = hit?.order ?? new Int32Array(0);
  const added = Array.from({ length: size - old.length }, (_, i) => old.length + i);
  added.sort((a, b) => {
    const x = name(a);
    const y = name(b);
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  // Merge: on equal names the old frame (a smaller id) goes first.
  const order = new Int32Array(size);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < old.length && j < added.length) order[k++] = name(added[j]) < name(old[i]) ? added[j++] : old[i++];
  while (i < old.length) order[k++] = old[i++];
  while (j < added.length) order[k++] = added[j++];
  const rank = new Int32Array(size);
  for (let r = 0; r < size; r++) rank[order[r]] = r;
  const result = { order, rank };
  cache.set(frames, result);
  return result;
}
