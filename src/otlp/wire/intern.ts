import { decodeString } from './reader.js';

/**
 * Decoded strings, shared across requests. Every request carries its own string table, and a
 * node or gateway sends the same function, file and attribute names again and again: decoding
 * them afresh each time was the largest share of what ingest allocated (a string, and a
 * subarray to read it through, per entry per request). This cache is direct-mapped by a hash
 * of the bytes, holds at most `SIZE` strings, and keeps only ASCII strings (compared char by
 * char, so a hit is exact); a miss or a collision simply decodes and takes the entry over.
 */
const SIZE = 1 << 14;
const MAX_LENGTH = 256;
const cache: (string | undefined)[] = new Array<string | undefined>(SIZE).fill(undefined);

/** The string in `buf[start, start + len)` (already checked as UTF-8), shared when seen before. */
export function internString(buf: Uint8Array, start: number, len: number): string {
  if (len > MAX_LENGTH) return decodeString(buf, start, len);
  // FNV-1a over the bytes; a byte ≥ 0x80 means not ASCII: decode, do not cache.
  let h = 0x811c9dc5;
  let high = 0;
  const end = start + len;
  for (let i = start; i < end; i++) {
    const b = buf[i];
    high |= b;
    h = Math.imul(h ^ b, 0x01000193);
  }
  if (high > 0x7f) return decodeString(buf, start, len);
  const slot = (h ^ (h >>> 15)) & (SIZE - 1);
  const cached = cache[slot];
  if (cached !== undefined && cached.length === len && sameAscii(cached, buf, start)) return cached;
  const s = decodeString(buf, start, len);
  cache[slot] = s;
  return s;
}

function sameAscii(s: string, buf: Uint8Array, start: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}
