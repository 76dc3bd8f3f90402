import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { ExportItem } from './export-item.js';

const gzipAsync = promisify(gzip);

/** The item's body gzipped, once per item (retries reuse it); off the event loop thread. */
export async function gzippedBody(item: ExportItem): Promise<Uint8Array> {
  item.gzipped ??= await gzipAsync(item.body, { level: 6 });
  return item.gzipped;
}
