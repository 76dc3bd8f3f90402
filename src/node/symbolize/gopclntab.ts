/**
 * Function names of a Go binary from its `.gopclntab` section, the table the Go runtime itself
 * uses for tracebacks: it stays in stripped binaries (`-ldflags=-s`, as distributions ship Go
 * programs), where .symtab is gone. Read as Go 1.18 and later lay it out (magic 0xfffffff0 /
 * 0xfffffff1, little-endian): a header, then `functab`, pairs of (entry offset from the text
 * start, offset of the function's record), each record starting with its entry offset and the
 * offset of its name in `funcnametab`.
 */

const GO118_MAGIC = 0xfffffff0;
const GO120_MAGIC = 0xfffffff1;

export interface GoSymbols {
  /** Null-terminated names; `nameOffset` points into it. */
  names: Uint8Array;
  /** Functions by entry address (virtual), with the size up to the next function. */
  syms: { start: number; size: number; nameOffset: number }[];
}

/**
 * The functions of a `.gopclntab` section; undefined for a layout older than Go 1.18 or one
 * this reader does not know. Entries are offsets from the start of the text: `textStart` is the
 * virtual address of the binary's `.text` section (the header's own field is left unrelocated,
 * 0, in the file; it is used only when no text start is given).
 */
export function readGoPclntab(data: Uint8Array, textStart = 0): GoSymbols | undefined {
  if (data.length < 16) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== GO118_MAGIC && magic !== GO120_MAGIC) return undefined;
  if (data[4] !== 0 || data[5] !== 0) return undefined;
  const ptrSize = data[7];
  if (ptrSize !== 8) return undefined;
  const word = (i: number): number => Number(view.getBigUint64(8 + i * 8, true));
  if (8 + 8 * 8 > data.length) return undefined;
  const nfunc = word(0);
  const text = textStart || word(2);
  const funcnameOff = word(3);
  const funcdataOff = word(7);
  if (funcnameOff >= data.length || funcdataOff >= data.length) return undefined;
  const names = data.subarray(funcnameOff);
  const syms: GoSymbols['syms'] = [];
  // nfunc pairs, then the end of the last function as one more entry offset.
  if (funcdataOff + (nfunc * 2 + 1) * 4 > data.length) return undefined;
  for (let i = 0; i < nfunc; i++) {
    const entry = view.getUint32(funcdataOff + i * 8, true);
    const funcOff = view.getUint32(funcdataOff + i * 8 + 4, true);
    const next = view.getUint32(funcdataOff + (i + 1) * 8, true);
    const record = funcdataOff + funcOff;
    if (record + 8 > data.length) return undefined;
    const nameOff = view.getInt32(record + 4, true);
    if (nameOff < 0 || funcnameOff + nameOff >= data.length) continue;
    syms.push({ start: text + entry, size: Math.max(0, next - entry), nameOffset: nameOff });
  }
  return { names, syms };
}
