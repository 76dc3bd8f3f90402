import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { bufferSource, ElfSymbols, readElfImage } from './elf.js';
import { parseMaps, type MapEntry } from './proc-maps.js';

/**
 * The `[vdso]`'s symbols (`__vdso_clock_gettime`, …): the vdso is a small ELF shared object
 * the kernel maps into every process, not a file, so it is read from memory.
 *
 * The sampler reads its own process's vdso (`/proc/self/mem`), once: the kernel has one vdso
 * image per ABI and maps the same one into every 64-bit process on the machine, and reading
 * one's own memory needs no ptrace permission and works whatever namespaces the sampled
 * process is in, or whether it still runs. A `[vdso]` mapping of another size than the
 * sampler's (a process of another ABI) is read from that process's memory instead
 * (`/proc/PID/mem`, which needs ptrace access: root), and remembered by size.
 */
export class VdsoSymbols {
  private own: { size: number; elf: ElfSymbols | undefined } | undefined;
  private readonly bySize = new Map<number, ElfSymbols>();

  constructor(private readonly ownProc = '/proc/self') {}

  get(procRoot: string, pid: number, m: MapEntry): ElfSymbols | undefined {
    const size = m.end - m.start;
    this.own ??= this.readOwn();
    if (this.own.size === size) return this.own.elf;
    let elf = this.bySize.get(size);
    if (!elf) {
      elf = readImage(`${procRoot}/${pid}/mem`, m.start, size);
      if (elf) this.bySize.set(size, elf);
    }
    return elf;
  }

  private readOwn(): { size: number; elf: ElfSymbols | undefined } {
    let maps: string;
    try {
      maps = readFileSync(`${this.ownProc}/maps`, 'utf8');
    } catch {
      return { size: -1, elf: undefined };
    }
    const m = parseMaps(maps).find((e) => e.path === '[vdso]');
    if (!m) return { size: -1, elf: undefined };
    return { size: m.end - m.start, elf: readImage(`${this.ownProc}/mem`, m.start, m.end - m.start) };
  }
}

/** The ELF image of `size` bytes at `address` in a process's memory file. */
function readImage(memPath: string, address: number, size: number): ElfSymbols | undefined {
  if (size <= 0 || size > 1 << 20) return undefined;
  let fd: number;
  try {
    fd = openSync(memPath, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, address + got);
      if (n === 0) break;
      got += n;
    }
    const image = readElfImage(bufferSource(buf.subarray(0, got)));
    return image && new ElfSymbols(image);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
