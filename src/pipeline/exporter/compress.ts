import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import type { ExportItem } from './export-item.js';

const gzipAsync = promisify(gzip);

/**
 * Bodies up to this size are gzipped on the event loop thread: for a node sampler's few-KiB
 * request that is 150-400 µs of CPU (most of it setting up zlib's state, cold, once a second),
 * where handing it to the thread pool costs ~100 µs more (measured), and a sampler sends one a
 * second forever. Larger bodies (a gateway's) go to the thread pool so the event loop keeps
 * serving.
 */
const SYNC_GZIP_MAX_BYTES = 32 * 1024;

/**
 * Gzip work in progress or done, by body. A gateway hands the same request bytes to every
 * exporter of its fan-out; with this they gzip once between them, not once each. Weak, so an
 * entry lives only as long as some exporter still holds the body.
 */
const shared = new WeakMap<Uint8Array, Promise<Uint8Array>>();

/** The item's body gzipped, once per body (retries and sibling exporters reuse it); large ones off the event loop thread. */
export async function gzippedBody(item: ExportItem): Promise<Uint8Array> {
  if (item.gzipped) return item.gzipped;
  let pending = shared.get(item.body);
  if (!pending) {
    pending = item.body.byteLength <= SYNC_GZIP_MAX_BYTES ? gzipNow(item.body) : gzipAsync(item.body, gzipOptions(item.body.byteLength));
    shared.set(item.body, pending);
    pending.catch(() => shared.delete(item.body));
  }
  item.gzipped = await pending;
  return item.gzipped;
}

/**
 * zlib's window and hash sized to the body: deflate cannot look back further than the body is
 * long, so a window the body's size compresses exactly as well, and zlib's state for a 4 KiB
 * body is then ~60 KiB instead of ~270 KiB (below malloc's mmap threshold, so no fresh pages to
 * fault in on every call). The output is ordinary gzip; any window size decompresses it.
 */
export function gzipOptions(bytes: number): { level: number; windowBits: number; memLevel: number } {
  const windowBits = Math.min(15, Math.max(9, Math.ceil(Math.log2(Math.max(bytes, 1) + 262))));
  return { level: 6, windowBits, memLevel: Math.min(8, Math.max(1, windowBits - 7)) };
}

function gzipNow(body: Uint8Array): Promise<Uint8Array> {
  try {
    return Promise.resolve(gzipSync(body, gzipOptions(body.byteLength)));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
