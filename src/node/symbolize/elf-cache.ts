import { closeSync, fstatSync, openSync } from 'node:fs';
import { readElfFd, type ElfSymbols } from './elf.js';
import type { MapEntry } from './proc-maps.js';

/**
 * ELF symbol tables cached per binary, keyed by device + inode from /proc/PID/maps: one entry
 * serves every process that maps the file (100 copies of one program load it once), and the
 * same path in two containers (different files) never shares an entry. A binary that cannot be
 * read is remembered as such so it is not retried on every sample.
 */
export class ElfCache {
  private readonly cache = new Map<string, ElfSymbols | null>();
  loads = 0;
  failures = 0;

  constructor(private readonly maxEntries = 512) {}

  get size(): number {
    return this.cache.size;
  }

  get(pid: number, m: MapEntry, procRoot = '/proc'): ElfSymbols | undefined {
    const key = `${m.dev}:${m.inode}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      // Refresh LRU position.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit ?? undefined;
    }
    const loaded = this.load(pid, m, procRoot);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, loaded ?? null);
    return loaded;
  }

  private load(pid: number, m: MapEntry, procRoot: string): ElfSymbols | undefined {
    // map_files opens exactly the mapped file (even if deleted or in another mount
    // namespace); the root path covers containers; the plain path is the last resort for a
    // process that has already exited.
    const candidates = [
      `${procRoot}/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`,
      `${procRoot}/${pid}/root${m.path}`,
      m.path,
    ];
    for (let i = 0; i < candidates.length; i++) {
      const path = candidates[i];
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        continue;
      }
      try {
        // Through the host path a different file may now live there. (Not checked for the
        // others: overlayfs reports other inode numbers through the mount than in maps.)
        if (i === candidates.length - 1 && fstatSync(fd).ino !== m.inode) continue;
        const elf = readElfFd(fd);
        this.loads++;
        return elf;
      } catch {
        this.failures++;
        return undefined;
      } finally {
        closeSync(fd);
      }
    }
    this.failures++;
    return undefined;
  }
}
