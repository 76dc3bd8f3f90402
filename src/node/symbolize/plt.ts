/**
 * Names for PLT stubs (x86_64): the few instructions through which a binary calls a function of
 * another library (or one of its own GNU indirect functions). No symbol covers them; which
 * function each stub calls is in the dynamic relocations, read here once per binary so that a
 * sample in a stub shows as `malloc@plt`.
 *
 * Each stub is decoded as binutils' objdump does for its `name@plt` labels: a stub jumps
 * through a GOT slot, `jmp *disp32(%rip)` (ff 25, maybe after `endbr64` and a `bnd` prefix),
 * and the relocation that fills that slot names the function (`R_X86_64_JUMP_SLOT` in
 * `.rela.plt`; `R_X86_64_GLOB_DAT` in `.rela.dyn` for `.plt.got` stubs, functions whose
 * address the binary also takes). The relocations' order is not the stubs' order: GNU ld sorts
 * `R_X86_64_IRELATIVE` ones (libc's own `memcpy` and such) last. A lazy-binding stub without
 * that jump (the `.plt` entries of an IBT binary, whose calls go through `.plt.sec`) pushes
 * its relocation's index instead (`push imm32`). PLT0, the resolver entry, has neither: `[plt]`.
 */

const SHT_RELA = 4;
const R_X86_64_GLOB_DAT = 6;
const R_X86_64_JUMP_SLOT = 7;
const R_X86_64_IRELATIVE = 37;
/** `.rela.dyn` is read for `.plt.got` names only up to this size (it is mostly relative relocations). */
const MAX_RELA_DYN = 8 << 20;

/** One PLT section: its stubs are `entrySize` bytes from `start`. */
export interface PltTable {
  start: number;
  end: number;
  entrySize: number;
  /**
   * What each stub calls: a function name; for an `R_X86_64_IRELATIVE` relocation (a GNU
   * indirect function of the binary itself, as libc's `memcpy`) the address of its resolver,
   * which the binary's symbols name; undefined when not known (PLT0, a layout not recognised).
   */
  entries: (string | number | undefined)[];
}

/** What plt.ts needs to know of a section. */
export interface PltSection {
  name: string;
  type: number;
  addr: number;
  size: number;
  link: number;
  entsize: number;
}

/**
 * The PLT sections (`.plt`, `.plt.sec`, `.plt.got`) of an x86_64 ELF file with what each stub
 * calls. `data` reads a section's bytes (undefined when it cannot); `sections` are indexed as
 * in the file.
 */
export function readPltTables(sections: readonly PltSection[], data: (s: PltSection) => Buffer | undefined): PltTable[] {
  const byName = (name: string): PltSection | undefined => sections.find((s) => s.name === name && s.size > 0);
  const stubs = ['.plt', '.plt.sec', '.plt.got'].map(byName).filter((s) => s !== undefined);
  if (stubs.length === 0) return [];

  /** A relocation section's entries: the GOT slot each fills and the function it names. */
  const relocations = (rela: PltSection | undefined): { slot: number; type: number; target: string | number | undefined }[] => {
    const d = rela && rela.type === SHT_RELA ? data(rela) : undefined;
    if (!d) return [];
    const symSec = sections[rela!.link];
    const syms = symSec ? data(symSec) : undefined;
    const strSec = symSec ? sections[symSec.link] : undefined;
    const strs = strSec ? data(strSec) : undefined;
    const entsize = rela!.entsize || 24;
    const out: { slot: number; type: number; target: string | number | undefined }[] = [];
    for (let o = 0; o + 24 <= d.length; o += entsize) {
      const type = d.readUInt32LE(o + 8);
      const sym = d.readUInt32LE(o + 12);
      let target: string | number | undefined;
      if (type === R_X86_64_IRELATIVE) target = Number(d.readBigInt64LE(o + 16));
      else if (sym > 0 && syms && strs && (sym + 1) * 24 <= syms.length) target = cString(strs, syms.readUInt32LE(sym * 24)) || undefined;
      out.push({ slot: Number(d.readBigUInt64LE(o)), type, target });
    }
    return out;
  };

  const relaPlt = relocations(byName('.rela.plt'));
  const bySlot = new Map<number, string | number | undefined>();
  const relaDyn = byName('.rela.dyn');
  if (stubs.some((s) => s.name === '.plt.got') && relaDyn && relaDyn.size <= MAX_RELA_DYN) {
    for (const r of relocations(relaDyn)) if (r.type === R_X86_64_GLOB_DAT) bySlot.set(r.slot, r.target);
  }
  for (const r of relaPlt) if (r.type === R_X86_64_JUMP_SLOT || r.type === R_X86_64_IRELATIVE) bySlot.set(r.slot, r.target);

  const tables: PltTable[] = [];
  for (const s of stubs) {
    const entrySize = s.entsize || (s.name === '.plt.got' ? 8 : 16);
    const code = data(s);
    const n = Math.floor(s.size / entrySize);
    const entries: (string | number | undefined)[] = [];
    for (let i = 0; i < n; i++) entries.push(code ? stubTarget(code, i * entrySize, entrySize, s.addr, bySlot, relaPlt) : undefined);
    tables.push({ start: s.addr, end: s.addr + s.size, entrySize, entries });
  }
  return tables;
}

/** What the stub at `at` in a PLT section (at virtual address `addr`) calls, if it can be told. */
function stubTarget(
  code: Buffer,
  at: number,
  size: number,
  addr: number,
  bySlot: Map<number, string | number | undefined>,
  relaPlt: { target: string | number | undefined }[],
): string | number | undefined {
  // Instructions start at 0, after `bnd` (1), after `endbr64` (4) or after both (5).
  for (const j of [0, 1, 4, 5]) {
    const o = at + j;
    if (o + 6 > Math.min(code.length, at + size)) break;
    if (code[o] === 0xff && code[o + 1] === 0x25) return bySlot.get(addr + o + 6 + code.readInt32LE(o + 2));
  }
  // A lazy-binding stub of an IBT `.plt`: `endbr64` (f3 0f 1e fa), then `push imm32`, the index
  // of its `.rela.plt` relocation.
  const o = at + 4;
  if (o + 5 > Math.min(code.length, at + size) || code.readUInt32BE(at) !== 0xf30f1efa || code[o] !== 0x68) return undefined;
  return relaPlt[code.readUInt32LE(o + 1)]?.target;
}

function cString(b: Buffer, from: number): string {
  if (from >= b.length) return '';
  let to = from;
  while (to < b.length && b[to] !== 0) to++;
  return b.toString('utf8', from, to);
}
