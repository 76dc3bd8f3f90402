import { closeSync, fstatSync, openSync } from 'node:fs';
import { ElfSymbols, fdSource, readElfImage, type ElfImage } from './elf.js';
import type { MapEntry } from './proc-maps.js';

export interface ElfCacheOptions {
  maxEntries?: number;
  /**
   * Directories of separate debug files, searched by GNU build id as
   * `ROOT/.build-id/<first 2 hex digits>/<the rest>.debug` (the layout Debian's `-dbg` and
   * `-dbgsym` packages, Fedora's debuginfo packages and debuginfod caches use). Default
   * `/usr/lib/debug`.
   */
  debugRoots?: readonly string[];
}

/**
 * ELF symbol tables cached per binary, keyed by device + inode from /proc/PID/maps: one entry
 * serves every process that maps the file (100 copies of one program load it once), and the
 * same path in two containers (different files) never shares an entry. A binary that cannot be
 * read is remembered as such so it is not retried on every sample. A binary with a GNU build id
 * also gets the function symbols of its separate debug file, when one is installed: Debian's
 * libraries ship stripped of .symtab, their internal functions named only there.
 */
export class ElfCache {
  private readonly cache = new Map<string, ElfSymbols | null>();
  private readonly maxEntries: number;
  private readonly debugRoots: readonly string[];
  loads = 0;
  failures = 0;
  /** Separate debug files whose symbols were added to a binary's. */
  debugFiles = 0;

  constructor(o: ElfCacheOptions = {}) {
    this.maxEntries = o.maxEntries ?? 512;
    this.debugRoots = o.debugRoots ?? ['/usr/lib/debug'];
  }

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
    const candidates = [`${procRoot}/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, `${procRoot}/${pid}/root${m.path}`, m.path];
    for (let i = 0; i < candidates.length; i++) {
      const path = candidates[i];
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        continue;
      }
      let image: ElfImage | undefined;
      try {
        // Through the host path a different file may now live there. (Not checked for the
        // others: overlayfs reports other inode numbers through the mount than in maps.)
        if (i === candidates.length - 1 && fstatSync(fd).ino !== m.inode) continue;
        image = readElfImage(fdSource(fd));
        this.loads++;
      } catch {
        this.failures++;
        return undefined;
      } finally {
        closeSync(fd);
      }
      if (!image) return undefined;
      return new ElfSymbols(image, image.buildId ? this.debugImage(pid, procRoot, image.buildId) : undefined);
    }
    this.failures++;
    return undefined;
  }

  /**
   * The separate debug file of a build id: first as the process sees it (a container's own
   * debug files), then on the sampler's side. Only a file with the same build id counts; one
   * that cannot be read is passed over (the binary keeps its own symbols).
   */
  private debugImage(pid: number, procRoot: string, buildId: string): ElfImage | undefined {
    if (buildId.length < 4) return undefined;
    const rel = `/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
    for (const root of this.debugRoots) {
      for (const path of [`${procRoot}/${pid}/root${root}${rel}`, `${root}${rel}`]) {
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch {
          continue;
        }
        try {
          const debug = readElfImage(fdSource(fd), { symbolsOnly: true });
          if (debug?.buildId === buildId) {
            this.debugFiles++;
            return debug;
          }
        } catch {
          // not an ELF file we can read: try the next
        } finally {
          closeSync(fd);
        }
      }
    }
    return undefined;
  }
}
