/** One executable mapping from /proc/PID/maps. */
export interface MapEntry {
  start: number;
  end: number;
  /** File offset of `start`. */
  offset: number;
  /** `major:minor` hex, as maps prints it. */
  dev: string;
  inode: number;
  /** Path, `[vdso]`-style pseudo name, or '' for anonymous memory. */
  path: string;
  deleted: boolean;
}

/**
 * Parses /proc/PID/maps, keeping only executable mappings (the only ones a stack frame can
 * point into), sorted by start address.
 */
export function parseMaps(text: string): MapEntry[] {
  const out: MapEntry[] = [];
  for (const line of text.split('\n')) {
    // start-end perms offset dev inode [path]; the path may contain spaces.
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m || m[3][2] !== 'x') continue;
    let path = m[7];
    let deleted = false;
    if (path.endsWith(' (deleted)')) {
      path = path.slice(0, -' (deleted)'.length);
      deleted = true;
    }
    out.push({
      start: parseInt(m[1], 16),
      end: parseInt(m[2], 16),
      offset: parseInt(m[4], 16),
      dev: m[5],
      inode: Number(m[6]),
      path,
      deleted,
    });
  }
  out.sort((a, b) => a.start - b.start);
  return out;
}

export function findMapping(maps: readonly MapEntry[], addr: number): MapEntry | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const m = maps[mid];
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** A file-backed mapping (as opposed to anonymous memory, JIT code or `[vdso]`). */
export function isFileBacked(m: MapEntry): boolean {
  return m.inode !== 0 && m.path.startsWith('/') && !m.path.startsWith('/memfd:');
}
