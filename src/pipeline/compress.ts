import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ExportItem } from './export-item.js';

const gzipAsync = promisify(gzip);

/**
 * Gzip work in progress or done, by body. A gateway hands the same request bytes to every
 * exporter of its fan-out; with this they gzip once between them, not once each. Weak, so an
 * entry lives only as long as some exporter still holds the body.
 */
const shared = new WeakMap<Uint8Array, Promise<Uint8Array>>();

/** The item's body gzipped, once per body (retries and sibling exporters reuse it); off the event loop thread. */
export async function gzippedBody(item: ExportItem): Promise<Uint8Array> {
  if (item.gzipped) return item.gzipped;
  let pending = shared.get(item.body);
  if (!pending) {
    pending = gzipAsync(item.body, { level: 6 });
    shared.set(item.body, pending);
    pending.catch(() => shared.delete(item.body));
  }
  item.gzipped = await pending;
  return item.gzipped;
}
