/**
 * Function starts from an ELF file's `.eh_frame_hdr`: its binary-search table lists the initial
 * location of every FDE (one per function with unwind information, which gcc and clang emit
 * for all code by default, also in stripped binaries) sorted by address, as unwinders use it
 * to find a PC's FDE. The symbolizer uses it to group the samples of a function that has no
 * symbol under that function's start.
 *
 * Layout (LSB "Linux Standard Base Core", .eh_frame_hdr): version (1), eh_frame_ptr_enc,
 * fde_count_enc, table_enc, then eh_frame_ptr, fde_count and fde_count pairs (initial
 * location, FDE address), each encoded as the header says. Linkers write the table as
 * `DW_EH_PE_datarel | DW_EH_PE_sdata4`: values relative to the header's own address.
 */

const DW_EH_PE_omit = 0xff;
const DW_EH_PE_uleb128 = 0x01;
const DW_EH_PE_datarel = 0x30;

/** Byte size of a fixed-size pointer encoding's value (low nibble), undefined for LEB128 or unknown ones. */
function fixedSize(enc: number): number | undefined {
  switch (enc & 0x0f) {
    case 0x00: // absptr
    case 0x04: // udata8
    case 0x0c: // sdata8
      return 8;
    case 0x02: // udata2
    case 0x0a: // sdata2
      return 2;
    case 0x03: // udata4
    case 0x0b: // sdata4
      return 4;
    default:
      return undefined;
  }
}

function readFixed(d: Buffer, o: number, enc: number): number {
  switch (enc & 0x0f) {
    case 0x00:
    case 0x04:
      return Number(d.readBigUInt64LE(o));
    case 0x0c:
      return Number(d.readBigInt64LE(o));
    case 0x02:
      return d.readUInt16LE(o);
    case 0x0a:
      return d.readInt16LE(o);
    case 0x03:
      return d.readUInt32LE(o);
    default:
      return d.readInt32LE(o);
  }
}

/**
 * The sorted function start addresses (ELF virtual addresses) listed in an `.eh_frame_hdr`
 * whose first byte is at virtual address `vaddr`; undefined when there is no search table or
 * its encoding is not one linkers write.
 */
export function readEhFrameHdr(d: Buffer, vaddr: number): Float64Array | undefined {
  if (d.length < 4 || d[0] !== 1) return undefined;
  const ptrEnc = d[1];
  const countEnc = d[2];
  const tableEnc = d[3];
  let o = 4;
  if (ptrEnc !== DW_EH_PE_omit) {
    const n = fixedSize(ptrEnc);
    if (n === undefined) return undefined;
    o += n;
  }
  if (countEnc === DW_EH_PE_omit || tableEnc === DW_EH_PE_omit) return undefined;
  let count: number;
  if ((countEnc & 0x70) !== 0) return undefined; // the count is a plain number
  if ((countEnc & 0x0f) === DW_EH_PE_uleb128) {
    count = 0;
    let shift = 1;
    for (;;) {
      if (o >= d.length) return undefined;
      const b = d[o++];
      count += (b & 0x7f) * shift;
      if ((b & 0x80) === 0) break;
      shift *= 128;
    }
  } else {
    const n = fixedSize(countEnc);
    if (n === undefined || o + n > d.length) return undefined;
    count = readFixed(d, o, countEnc);
    o += n;
  }
  const w = fixedSize(tableEnc);
  if ((tableEnc & 0x70) !== DW_EH_PE_datarel || w === undefined) return undefined;
  if (count <= 0 || o + count * 2 * w > d.length) return undefined;
  const starts = new Float64Array(count);
  let sorted = true;
  for (let i = 0; i < count; i++) {
    starts[i] = vaddr + readFixed(d, o + i * 2 * w, tableEnc);
    if (i > 0 && starts[i] < starts[i - 1]) sorted = false;
  }
  // The format requires sorted entries (unwinders binary-search them); a table that is not is
  // sorted here rather than trusted.
  if (!sorted) starts.sort();
  return starts;
}

/** Index of the last start at or below `vaddr` in a sorted array; -1 when there is none. */
export function lastAtOrBelow(starts: Float64Array, vaddr: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= vaddr) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
