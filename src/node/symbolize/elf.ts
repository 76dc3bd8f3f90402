import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { lastAtOrBelow, readEhFrameHdr } from './eh-frame-hdr.js';
import { readPltTables, type PltTable } from './plt.js';
import { readGoPclntab } from './gopclntab.js';

/**
 * A small ELF64 (little-endian) reader: just what symbolization needs — the PT_LOAD segments
 * (file offset → virtual address), function symbols from .symtab and .dynsym (and from a
 * separate debug file's .symtab), the GNU build id, the function starts of `.eh_frame_hdr`
 * and what the PLT stubs call. Reads only the headers and the sections it uses, never the
 * whole file (node's binary is ~100 MB).
 */

const PT_LOAD = 1;
const PT_GNU_EH_FRAME = 0x6474e550;
const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const EM_X86_64 = 62;
const NT_GNU_BUILD_ID = 3;
/** A symbol of size 0 (hand-written assembly) covers at most this far past its start. */
const SIZELESS_REACH = 4096;

export interface LoadSegment {
  offset: number;
  vaddr: number;
  filesz: number;
}

/** Names from .gopclntab rank after every symbol table's (see symbolRank). */
const GO_PCLNTAB_RANK = 1000;

/** A function symbol as read from a symbol table; `table` indexes the image's name tables. */
export interface RawSymbol {
  start: number;
  size: number;
  nameOffset: number;
  table: number;
  /** Lower is the better name among symbols of equal start and size (aliases): see symbolRank. */
  rank: number;
}

/** What one ELF file gives for symbolization, before its symbols are sorted into an {@link ElfSymbols}. */
export interface ElfImage {
  segments: LoadSegment[];
  buildId: string;
  syms: RawSymbol[];
  nameTables: Uint8Array[];
  /** Function starts from `.eh_frame_hdr`, sorted; undefined without one. */
  functionStarts: Float64Array | undefined;
  plt: PltTable[];
}

/** A section header, with its name from `.shstrtab`. */
export interface ElfSection {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export class ElfSymbols {
  readonly segments: LoadSegment[];
  readonly buildId: string;
  /** Sorted by start; parallel arrays keep ~200k symbols cheap to hold and search. */
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly nameOffsets: Uint32Array;
  private readonly nameTables: Uint8Array[];
  private readonly nameTableOf: Uint8Array;
  private readonly names = new Map<number, string>();
  private readonly functionStarts: Float64Array | undefined;
  private readonly pltTables: PltTable[];

  /**
   * The symbols of `image`, plus the function symbols of `debug` (its separate debug file:
   * the same virtual addresses). Symbols with the same start and size are one function under
   * several names (aliases): the best ranked one is kept. Sorts `image.syms` in place.
   */
  constructor(image: ElfImage, debug?: ElfImage) {
    this.segments = image.segments;
    this.buildId = image.buildId;
    this.functionStarts = image.functionStarts;
    this.pltTables = image.plt;
    let syms = image.syms;
    this.nameTables = image.nameTables;
    if (debug && debug.syms.length > 0) {
      const shift = this.nameTables.length;
      this.nameTables = [...this.nameTables, ...debug.nameTables];
      syms = syms.concat(debug.syms.map((s) => ({ ...s, table: s.table + shift })));
    }
    // Stable: among equal ranks the first read (.symtab, then .dynsym, then the debug file) wins.
    syms.sort((a, b) => a.start - b.start || b.size - a.size || a.rank - b.rank);
    let n = 0;
    for (let i = 0; i < syms.length; i++) {
      if (n > 0 && syms[n - 1].start === syms[i].start && syms[n - 1].size === syms[i].size) continue;
      syms[n++] = syms[i];
    }
    syms.length = n;
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
  }

  get size(): number {
    return this.starts.length;
  }

  /** Whether `.eh_frame_hdr` gave function starts for unnamed code. */
  get hasFunctionStarts(): boolean {
    return this.functionStarts !== undefined;
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
  lookup(vaddr: number): { name: string; start: number; end: number } | undefined {
    const found = lastAtOrBelow(this.starts, vaddr);
    // Symbols may nest (aliases, local labels); look back a little for one that covers vaddr.
    for (let i = found; i >= 0 && i > found - 8; i--) {
      if (vaddr < this.ends[i]) return { name: this.name(i), start: this.starts[i], end: this.ends[i] };
    }
    return undefined;
  }

  /**
   * For an address in a PLT stub: `<function>@plt` (the function it calls) or `[plt]` when that
   * is not known, and the stub's start; undefined outside the PLT sections.
   */
  plt(vaddr: number): { name: string; start: number } | undefined {
    for (const t of this.pltTables) {
      if (vaddr < t.start || vaddr >= t.end) continue;
      const i = Math.floor((vaddr - t.start) / t.entrySize);
      const e = t.entries[i];
      const name = typeof e === 'number' ? this.lookup(e)?.name : e;
      return { name: name ? `${name}@plt` : '[plt]', start: t.start + i * t.entrySize };
    }
    return undefined;
  }

  /**
   * The start of the function containing a virtual address, as `.eh_frame_hdr` lists function
   * starts (the last one at or below it: the table has no ends, so code without unwind
   * information counts to the function before it); undefined without a table or below its
   * first entry.
   */
  functionStart(vaddr: number): number | undefined {
    if (!this.functionStarts) return undefined;
    const i = lastAtOrBelow(this.functionStarts, vaddr);
    return i >= 0 ? this.functionStarts[i] : undefined;
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
  const image = readElfImage(fdSource(fd));
  return image && new ElfSymbols(image);
}

/** Where an ELF file's bytes come from: an open file, or memory (the vdso). */
export interface ElfSource {
  size: number;
  /** Exactly `length` bytes at `offset` (throws beyond the end). */
  read(offset: number, length: number): Buffer;
}

export function fdSource(fd: number): ElfSource {
  const size = fstatSync(fd).size;
  return {
    size,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > size) throw new Error('ELF: section beyond end of file');
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    },
  };
}

export function bufferSource(b: Buffer): ElfSource {
  return {
    size: b.length,
    read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > b.length) throw new Error('ELF: section beyond end of image');
      return b.subarray(offset, offset + length);
    },
  };
}

/**
 * Reads what symbolization needs from an ELF file; undefined when it is not a 64-bit
 * little-endian ELF. With `symbolsOnly` (a separate debug file, whose code sections are
 * empty) only the build id and .symtab are read.
 */
export function readElfImage(src: ElfSource, o: { symbolsOnly?: boolean } = {}): ElfImage | undefined {
  const read = src.read;
  if (src.size < 64) return undefined;
  const eh = read(0, 64);
  if (eh.readUInt32BE(0) !== 0x7f454c46 || eh[4] !== 2 || eh[5] !== 1) return undefined;
  const machine = eh.readUInt16LE(0x12);
  const phoff = num(eh.readBigUInt64LE(0x20));
  const shoff = num(eh.readBigUInt64LE(0x28));
  const phentsize = eh.readUInt16LE(0x36);
  const phnum = eh.readUInt16LE(0x38);
  const shentsize = eh.readUInt16LE(0x3a);
  const shnum = eh.readUInt16LE(0x3c);
  const shstrndx = eh.readUInt16LE(0x3e);

  const segments: LoadSegment[] = [];
  let ehFrameSegment: { offset: number; vaddr: number; filesz: number } | undefined;
  if (phoff > 0 && phnum > 0) {
    const ph = read(phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      if (type !== PT_LOAD && type !== PT_GNU_EH_FRAME) continue;
      const seg = { offset: num(ph.readBigUInt64LE(o + 8)), vaddr: num(ph.readBigUInt64LE(o + 16)), filesz: num(ph.readBigUInt64LE(o + 32)) };
      if (type === PT_LOAD) segments.push(seg);
      else ehFrameSegment = seg;
    }
  }

  const sections: ElfSection[] = [];
  const nameOffsets: number[] = [];
  if (shoff > 0 && shnum > 0) {
    const sh = read(shoff, shentsize * shnum);
    for (let i = 0; i < shnum; i++) {
      const o = i * shentsize;
      nameOffsets.push(sh.readUInt32LE(o));
      sections.push({
        name: '',
        type: sh.readUInt32LE(o + 4),
        addr: num(sh.readBigUInt64LE(o + 16)),
        offset: num(sh.readBigUInt64LE(o + 24)),
        size: num(sh.readBigUInt64LE(o + 32)),
        link: sh.readUInt32LE(o + 40),
        entsize: num(sh.readBigUInt64LE(o + 56)),
      });
    }
  }
  // Section names live in the string table section e_shstrndx points at.
  const shstrtab = sections[shstrndx];
  if (shstrtab && shstrtab.type !== SHT_NOBITS && shstrtab.offset + shstrtab.size <= src.size) {
    const names = read(shstrtab.offset, shstrtab.size);
    for (let i = 0; i < sections.length; i++) {
      const from = nameOffsets[i];
      let to = from;
      while (to < names.length && names[to] !== 0) to++;
      sections[i].name = names.toString('latin1', from, to);
    }
  }
  /** A section's bytes, read once; undefined for one with no bytes in the file (SHT_NOBITS). */
  const cache = new Map<ElfSection, Buffer>();
  const data = (s: ElfSection): Buffer | undefined => {
    if (s.type === SHT_NOBITS) return undefined;
    let d = cache.get(s);
    if (!d) cache.set(s, (d = read(s.offset, s.size)));
    return d;
  };

  const pltData = (s: ElfSection): Buffer | undefined => (s.offset + s.size <= src.size ? data(s) : undefined);

  let buildId = '';
  for (const s of sections) {
    if (s.type !== SHT_NOTE || buildId) continue;
    buildId = gnuBuildId(data(s)!);
  }

  const syms: RawSymbol[] = [];
  const nameTables: Uint8Array[] = [];
  // .symtab first: it has the local functions .dynsym lacks; .dynsym fills in stripped files.
  // A debug file's .dynsym is empty (SHT_NOBITS) and its .symtab is all that is read.
  for (const type of o.symbolsOnly ? [SHT_SYMTAB] : [SHT_SYMTAB, SHT_DYNSYM]) {
    for (const s of sections) {
      if (s.type !== type || s.entsize < 24 || s.size === 0) continue;
      const strSec = sections[s.link];
      if (!strSec || strSec.type === SHT_NOBITS) continue;
      const names = data(strSec)!;
      const table = nameTables.push(names) - 1;
      const d = data(s)!;
      for (let o = 0; o + 24 <= d.length; o += s.entsize) {
        const info = d[o + 4];
        const t = info & 0xf;
        if (t !== STT_FUNC && t !== STT_GNU_IFUNC) continue;
        if (d.readUInt16LE(o + 6) === 0) continue; // undefined (imported)
        const start = num(d.readBigUInt64LE(o + 8));
        if (start === 0) continue;
        const nameOffset = d.readUInt32LE(o);
        syms.push({ start, size: num(d.readBigUInt64LE(o + 16)), nameOffset, table, rank: symbolRank(info >> 4, names, nameOffset) });
      }
    }
  }
  if (o.symbolsOnly) return { segments, buildId, syms, nameTables, functionStarts: undefined, plt: [] };

  // A Go binary stripped of .symtab (as distributions ship Go programs) still has the table
  // its runtime names functions from.
  if (!sections.some((s) => s.type === SHT_SYMTAB)) {
    const pclntab = sections.find((s) => s.name === '.gopclntab' && s.type !== SHT_NOBITS && s.offset + s.size <= src.size);
    const text = sections.find((s) => s.name === '.text');
    const go = pclntab && readGoPclntab(data(pclntab)!, text?.addr ?? 0);
    if (go) {
      const table = nameTables.push(go.names) - 1;
      for (const g of go.syms) syms.push({ start: g.start, size: g.size, nameOffset: g.nameOffset, table, rank: GO_PCLNTAB_RANK });
    }
  }

  // Found by section name; a file without section headers still has the segment the loader uses.
  let functionStarts: Float64Array | undefined;
  const hdr = sections.find((s) => s.name === '.eh_frame_hdr' && s.type !== SHT_NOBITS && s.size > 0);
  const where = hdr
    ? { offset: hdr.offset, vaddr: hdr.addr, size: hdr.size }
    : ehFrameSegment && { offset: ehFrameSegment.offset, vaddr: ehFrameSegment.vaddr, size: ehFrameSegment.filesz };
  if (where && where.offset + where.size <= src.size) functionStarts = readEhFrameHdr(read(where.offset, where.size), where.vaddr);

  const plt = machine === EM_X86_64 ? readPltTables(sections, (s) => pltData(s as ElfSection)) : [];
  return { segments, buildId, syms, nameTables, functionStarts, plt };
}

/**
 * Which of several names of one function (same start and size) a person reads best, lower
 * first: a global name over a weak one over a local one (as perf chooses: libc's `malloc`,
 * not its internal `__GI___libc_malloc`), then the one with fewer leading underscores
 * (`malloc` over `__libc_malloc`).
 */
function symbolRank(bind: number, names: Uint8Array, nameOffset: number): number {
  const b = bind === STB_GLOBAL ? 0 : bind === STB_WEAK ? 1 : 2;
  let underscores = 0;
  while (underscores < 8 && names[nameOffset + underscores] === 0x5f) underscores++;
  return b * 16 + underscores;
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
