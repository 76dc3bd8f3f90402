import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * A small ELF64 (little-endian) reader: just what symbolization needs — the PT_LOAD segments
 * (file offset → virtual address), function symbols from .symtab and .dynsym, and the GNU
 * build id. Reads only the headers and the symbol/string sections, never the whole file
 * (node's binary is ~100 MB).
 */

const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;
/** A symbol of size 0 (hand-written assembly) covers at most this far past its start. */
const SIZELESS_REACH = 4096;

export interface LoadSegment {
  offset: number;
  vaddr: number;
  filesz: number;
}

export class ElfSymbols {
  /** Sorted by start; parallel arrays keep ~200k symbols cheap to hold and search. */
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly nameOffsets: Uint32Array;
  private readonly nameTables: Uint8Array[];
  private readonly nameTableOf: Uint8Array;
  private readonly names = new Map<number, string>();

  constructor(
    readonly segments: LoadSegment[],
    readonly buildId: string,
    syms: { start: number; size: number; nameOffset: number; table: number }[],
    nameTables: Uint8Array[],
  ) {
    syms.sort((a, b) => a.start - b.start || b.size - a.size);
    const n = syms.length;
    this.starts = new Float64Array(n);
    this.ends = new Float64Array(n);
    this.nameOffsets = new Uint32Array(n);
    this.nameTableOf = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const s = syms[i];
      this.starts[i] = s.start;
      this.ends[i] = s.size > 0 ? s.start + s.size : Math.min(s.start + SIZELESS_REACH, i + 1 < n ? syms[i + 1].start : Infinity);
      this.nameOffsets[i] = s.nameOffset;
      this.nameTableOf[i] = s.table;
    }
    this.nameTables = nameTables;
  }

  get size(): number {
    return this.starts.length;
  }

  /** The PT_LOAD segment holding a file offset. */
  segmentOfOffset(offset: number): LoadSegment | undefined {
    for (const s of this.segments) {
      if (offset >= s.offset && offset < s.offset + s.filesz) return s;
    }
    return undefined;
  }

  /** The virtual address (as the symbol tables use) of a file offset, via the PT_LOAD segments. */
  vaddrOfOffset(offset: number): number | undefined {
    const s = this.segmentOfOffset(offset);
    if (s) return offset - s.offset + s.vaddr;
    return undefined;
  }

  /** The function containing a virtual address. */
  lookup(vaddr: number): { name: string; start: number } | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid] <= vaddr) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // Symbols may nest (aliases, local labels); look back a little for one that covers vaddr.
    for (let i = found; i >= 0 && i > found - 8; i--) {
      if (vaddr < this.ends[i]) return { name: this.name(i), start: this.starts[i] };
    }
    return undefined;
  }

  private name(i: number): string {
    let s = this.names.get(i);
    if (s === undefined) {
      const table = this.nameTables[this.nameTableOf[i]];
      const from = this.nameOffsets[i];
      let to = from;
      while (to < table.length && table[to] !== 0) to++;
      s = Buffer.from(table.buffer, table.byteOffset + from, to - from).toString('utf8');
      this.names.set(i, s);
    }
    return s;
  }
}

/** Reads an ELF file's symbols; undefined when it is not a 64-bit little-endian ELF. */
export function readElf(path: string): ElfSymbols | undefined {
  const fd = openSync(path, 'r');
  try {
    return readElfFd(fd);
  } finally {
    closeSync(fd);
  }
}

export function readElfFd(fd: number): ElfSymbols | undefined {
  const fileSize = fstatSync(fd).size;
  const read = (offset: number, length: number): Buffer => {
    if (offset < 0 || length < 0 || offset + length > fileSize) throw new Error('ELF: section beyond end of file');
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  };
  if (fileSize < 64) return undefined;
  const eh = read(0, 64);
  if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return undefined;
  const phoff = num(eh.readBigUInt64LE(0x20));
  const shoff = num(eh.readBigUInt64LE(0x28));
  const phentsize = eh.readUInt16LE(0x36);
  const phnum = eh.readUInt16LE(0x38);
  const shentsize = eh.readUInt16LE(0x3a);
  const shnum = eh.readUInt16LE(0x3c);

  const segments: LoadSegment[] = [];
  if (phoff > 0 && phnum > 0) {
    const ph = read(phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (ph.readUInt32LE(o) !== PT_LOAD) continue;
      segments.push({ offset: num(ph.readBigUInt64LE(o + 8)), vaddr: num(ph.readBigUInt64LE(o + 16)), filesz: num(ph.readBigUInt64LE(o + 32)) });
    }
  }

  interface Section {
    type: number;
    offset: number;
    size: number;
    link: number;
    entsize: number;
  }
  const sections: Section[] = [];
  if (shoff > 0 && shnum > 0) {
    const sh = read(shoff, shentsize * shnum);
    for (let i = 0; i < shnum; i++) {
      const o = i * shentsize;
      sections.push({
        type: sh.readUInt32LE(o + 4),
        offset: num(sh.readBigUInt64LE(o + 24)),
        size: num(sh.readBigUInt64LE(o + 32)),
        link: sh.readUInt32LE(o + 40),
        entsize: num(sh.readBigUInt64LE(o + 56)),
      });
    }
  }

  let buildId = '';
  for (const s of sections) {
    if (s.type !== SHT_NOTE || buildId) continue;
    buildId = gnuBuildId(read(s.offset, s.size));
  }

  const syms: { start: number; size: number; nameOffset: number; table: number }[] = [];
  const nameTables: Uint8Array[] = [];
  const seen = new Set<string>();
  // .symtab first: it has the local functions .dynsym lacks; .dynsym fills in stripped files.
  for (const type of [SHT_SYMTAB, SHT_DYNSYM]) {
    for (const s of sections) {
      if (s.type !== type || s.entsize < 24 || s.size === 0) continue;
      const strSec = sections[s.link];
      if (!strSec) continue;
      const table = nameTables.push(read(strSec.offset, strSec.size)) - 1;
      const data = read(s.offset, s.size);
      for (let o = 0; o + 24 <= data.length; o += s.entsize) {
        const info = data[o + 4];
        const t = info & 0xf;
        if (t !== STT_FUNC && t !== STT_GNU_IFUNC) continue;
        if (data.readUInt16LE(o + 6) === 0) continue; // undefined (imported)
        const start = num(data.readBigUInt64LE(o + 8));
        if (start === 0) continue;
        const size = num(data.readBigUInt64LE(o + 16));
        const key = `${start}:${size}`;
        if (seen.has(key)) continue;
        seen.add(key);
        syms.push({ start, size, nameOffset: data.readUInt32LE(o), table });
      }
    }
  }
  return new ElfSymbols(segments, buildId, syms, nameTables);
}

function gnuBuildId(notes: Buffer): string {
  let o = 0;
  while (o + 12 <= notes.length) {
    const namesz = notes.readUInt32LE(o);
    const descsz = notes.readUInt32LE(o + 4);
    const type = notes.readUInt32LE(o + 8);
    const nameStart = o + 12;
    const descStart = nameStart + align4(namesz);
    if (descStart + descsz > notes.length) break;
    if (type === NT_GNU_BUILD_ID && notes.toString('latin1', nameStart, nameStart + namesz).startsWith('GNU')) {
      return notes.toString('hex', descStart, descStart + descsz);
    }
    o = descStart + align4(descsz);
  }
  return '';
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Addresses in user space fit in a double exactly (< 2^53). */
function num(v: bigint): number {
  return Number(v);
}
