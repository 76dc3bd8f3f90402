import { isAscii } from 'node:buffer';
import type { KeyValueAndUnit } from '../messages.js';
import { readAnyValue } from './common.js';
import { Float64List, Int32List, readInt32s } from './lists.js';
import { DICTIONARY, FUNCTION, LEN, KEY_VALUE_AND_UNIT, LINE, LINK, LOCATION, MAPPING, STACK, VARINT } from './fields.js';
import { internString } from './intern.js';
import { RECURSION_LIMIT, toBigInt, type WireReader } from './reader.js';

/**
 * ProfilesDictionary as columns of typed arrays. Table entry i of a repeated field is row i;
 * repeated sub-fields (a stack's locations, a location's lines) are runs in one flat list,
 * addressed by start and count. Strings stay bytes until something asks for them.
 */
export class WireDictionary {
  mappingCount = 0;
  readonly mapFilename = new Int32List();
  readonly mapStart: bigint[] = [];
  readonly mapOffset: bigint[] = [];
  readonly mapLimit: bigint[] = [];
  readonly mapAttrStart = new Int32List();
  readonly mapAttrCount = new Int32List();
  readonly mapAttrs = new Int32List();

  locationCount = 0;
  readonly locMapping = new Int32List();
  readonly locAddrLo = new Int32List();
  readonly locAddrHi = new Int32List();
  readonly locLineStart = new Int32List();
  readonly locLineCount = new Int32List();
  readonly lineFunction = new Int32List();
  readonly lineNumber = new Float64List();
  readonly lineColumn = new Float64List();
  readonly locAttrStart = new Int32List();
  readonly locAttrCount = new Int32List();
  readonly locAttrs = new Int32List();

  functionCount = 0;
  readonly fnName = new Int32List();
  readonly fnSystemName = new Int32List();
  readonly fnFilename = new Int32List();
  readonly fnStartLine = new Float64List();

  /**
   * Whether every location and function entry can be written back from the columns above
   * (`WireChunker`): false once a line, column or start line is negative or needs more than 32
   * bits, which the number columns would not give back exactly; the chunker then rewrites those
   * tables from their bytes.
   */
  narrowNumbers = true;

  linkCount = 0;
  readonly linkTraceLen = new Int32List();
  readonly linkSpanLen = new Int32List();

  stringCount = 0;
  readonly strStart = new Int32List();
  readonly strLen = new Int32List();
  /**
   * Decoded strings, filled on first use (shared across requests through `internString`).
   * Sized to the table on first use: filled at scattered indices, an empty array turns into a
   * slow dictionary.
   */
  strings: (string | undefined)[] = [];

  readonly attributes: KeyValueAndUnit[] = [];

  /**
   * Where each entry's fields lie in `buf` ([start, end) of its content, as read), for the
   * tables the chunk writer (`subset.ts`) copies entries of: mapping, location, function, link,
   * attribute.
   */
  readonly mapAt = new Int32List();
  readonly mapEnd = new Int32List();
  readonly locAt = new Int32List();
  readonly locEnd = new Int32List();
  readonly fnAt = new Int32List();
  readonly fnEnd = new Int32List();
  readonly linkAt = new Int32List();
  readonly linkEnd = new Int32List();
  readonly attrAt = new Int32List();
  readonly attrEnd = new Int32List();

  stackCount = 0;
  readonly stackStart = new Int32List();
  readonly stackLen = new Int32List();
  readonly stackLocs = new Int32List();

  constructor(readonly buf: Uint8Array) {}

  /** String i like `stringTable[i]`: undefined when out of range. */
  str(i: number): string | undefined {
    if (!(i >= 0 && i < this.stringCount)) return undefined;
    if (this.strings.length < this.stringCount) this.sizeStrings();
    let s = this.strings[i];
    if (s === undefined) {
      s = internString(this.buf, this.strStart.a[i], this.strLen.a[i]);
      this.strings[i] = s;
    }
    return s;
  }

  private sizeStrings(): void {
    const strings = new Array<string | undefined>(this.stringCount);
    for (let i = 0; i < this.strings.length; i++) strings[i] = this.strings[i];
    this.strings = strings;
  }
}

/** Reads one ProfilesDictionary occurrence (depth 2) into `d`; a repeat appends, as protobuf merges. */
export function readDictionary(r: WireReader, len: number, d: WireDictionary): void {
  const end = r.pos + len;
  reserveTables(r.buf, r.pos, Math.min(end, r.len), d);
  const asciiFrom = asciiStringsFrom;
  const asciiTo = asciiStringsTo;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case DICTIONARY.mappingTable: {
        const n = r.uint32();
        d.mapAt.push(r.pos);
        readMapping(r, n, d);
        d.mapEnd.push(r.pos);
        break;
      }
      case DICTIONARY.locationTable:
        readLocation(r, r.uint32(), d);
        break;
      case DICTIONARY.functionTable:
        readFunction(r, r.uint32(), d);
        break;
      case DICTIONARY.linkTable: {
        const n = r.uint32();
        d.linkAt.push(r.pos);
        readLink(r, n, d);
        d.linkEnd.push(r.pos);
        break;
      }
      case DICTIONARY.stringTable: {
        const start = r.checkedString(asciiFrom, asciiTo);
        const i = d.stringCount;
        if (i === d.strStart.a.length) growRows(i + 1, d.strStart, d.strLen);
        d.strStart.a[i] = start;
        d.strLen.a[i] = r.pos - start;
        d.stringCount = d.strStart.n = d.strLen.n = i + 1;
        break;
      }
      case DICTIONARY.attributeTable: {
        const n = r.uint32();
        d.attrAt.push(r.pos);
        d.attributes.push(readKeyValueAndUnit(r, n));
        d.attrEnd.push(r.pos);
        break;
      }
      case DICTIONARY.stackTable:
        readStack(r, r.uint32(), d);
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 2);
    }
  }
}

/**
 * Bytes of the last dictionary `reserveTables` went through, [from, to), from its first string
 * entry to the end of its last, when they are all ASCII: then so is every string inside them,
 * which needs no check of its own. Empty otherwise (a string of 128 bytes or more has a length
 * byte above 0x7f, and other tables' entries may lie between the strings), and each string is
 * checked on its own.
 */
let asciiStringsFrom = 0;
let asciiStringsTo = 0;

/**
 * Counts the entries of each table in `buf[pos, end)` (one dictionary's fields, tags and
 * lengths only) and makes room for them in its columns, so reading them grows no column
 * entry by entry; sets `asciiStringsFrom`/`To`. Only a size hint and a shortcut: it stops at
 * anything odd, and the reader proper finds what is wrong.
 */
function reserveTables(buf: Uint8Array, pos: number, end: number, d: WireDictionary): void {
  asciiStringsFrom = asciiStringsTo = 0;
  // Where the string table's first entry starts and its last ends.
  let stringsFrom = -1;
  let stringsTo = -1;
  let mappings = 0;
  let locations = 0;
  let functions = 0;
  let links = 0;
  let strings = 0;
  let attributes = 0;
  let stacks = 0;
  let stackBytes = 0;
  while (pos < end) {
    const at = pos;
    let tag = 0;
    let b = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      b = buf[pos++];
      tag |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (b >= 0x80 || (tag & 7) !== LEN) break;
    let len = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      b = buf[pos++];
      len |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    // An entry said to run past the end is odd: the counts stay bounded by the bytes there are.
    if (b >= 0x80 || len < 0 || len > end - pos) break;
    pos += len;
    if (tag >>> 3 === DICTIONARY.stringTable) {
      if (stringsFrom < 0) stringsFrom = at;
      stringsTo = pos;
    }
    switch (tag >>> 3) {
      case DICTIONARY.mappingTable:
        mappings++;
        break;
      case DICTIONARY.locationTable:
        locations++;
        break;
      case DICTIONARY.functionTable:
        functions++;
        break;
      case DICTIONARY.linkTable:
        links++;
        break;
      case DICTIONARY.stringTable:
        strings++;
        break;
      case DICTIONARY.attributeTable:
        attributes++;
        break;
      case DICTIONARY.stackTable:
        stacks++;
        stackBytes += len;
        break;
    }
  }
  if (stringsFrom >= 0 && isAscii(buf.subarray(stringsFrom, stringsTo))) {
    asciiStringsFrom = stringsFrom;
    asciiStringsTo = stringsTo;
  }
  for (const col of [d.mapFilename, d.mapAttrStart, d.mapAttrCount, d.mapAt, d.mapEnd]) col.reserve(mappings);
  for (const col of [d.locMapping, d.locAddrLo, d.locAddrHi, d.locLineStart, d.locLineCount, d.locAttrStart, d.locAttrCount, d.locAt, d.locEnd, d.lineFunction])
    col.reserve(locations);
  d.lineNumber.reserve(locations);
  d.lineColumn.reserve(locations);
  for (const col of [d.fnName, d.fnSystemName, d.fnFilename, d.fnAt, d.fnEnd]) col.reserve(functions);
  d.fnStartLine.reserve(functions);
  for (const col of [d.linkTraceLen, d.linkSpanLen, d.linkAt, d.linkEnd]) col.reserve(links);
  d.strStart.reserve(strings);
  d.strLen.reserve(strings);
  d.attrAt.reserve(attributes);
  d.attrEnd.reserve(attributes);
  d.stackStart.reserve(stacks);
  d.stackLen.reserve(stacks);
  // A stack's packed indices take at least a byte each.
  d.stackLocs.reserve(stackBytes);
}

// Table entries sit at depth 3, lines at depth 4: far from the recursion limit, so only the
// skip budget depends on it.

/**
 * Grows row columns together (a table's entries are rows of all its columns): the readers
 * below write a row's cells straight into the arrays, checking the room of the first column
 * only, as `push` per cell cost a call each.
 */
function growRows(need: number, ...cols: Int32List[]): void {
  for (const col of cols) col.reserve(need - col.n);
}

function readStack(r: WireReader, len: number, d: WireDictionary): void {
  const end = r.pos + len;
  const locs = d.stackLocs;
  const start = locs.n;
  while (r.pos < end) {
    const tag = r.tag();
    if (tag >>> 3 === STACK.locationIndices) readInt32s(r, tag & 7, locs);
    else r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
  }
  const i = d.stackCount;
  if (i === d.stackStart.a.length) growRows(i + 1, d.stackStart, d.stackLen);
  d.stackStart.a[i] = start;
  d.stackLen.a[i] = locs.n - start;
  d.stackCount = d.stackStart.n = d.stackLen.n = i + 1;
}

/** One-byte tags of the common Location and Line fields (a tag that would need two never matches). */
const T_LOC_MAPPING = (LOCATION.mappingIndex << 3) | VARINT;
const T_LOC_ADDRESS = (LOCATION.address << 3) | VARINT;
const T_LOC_LINES = (LOCATION.lines << 3) | LEN;
const T_LOC_ATTRS = (LOCATION.attributeIndices << 3) | LEN;
const T_LINE_FUNCTION = (LINE.functionIndex << 3) | VARINT;
const T_LINE_LINE = (LINE.line << 3) | VARINT;
const T_LINE_COLUMN = (LINE.column << 3) | VARINT;

/**
 * A varint of at most four bytes at `buf[p]` before `end` (under 2^28: as exact as int32 and
 * int64 read it): its value, its end in `varEnd`; -1 for anything else.
 */
let varEnd = 0;
function smallVarint(buf: Uint8Array, p: number, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 28 && p < end; shift += 7) {
    const b = buf[p++];
    v |= (b & 0x7f) << shift;
    if (b < 0x80) {
      varEnd = p;
      return v;
    }
  }
  return -1;
}

/**
 * The usual Location, read straight from the bytes: known fields only, each with the wire type
 * it is declared with, indices, lines and columns under 2^28, nothing running past its
 * message. Returns false, having added nothing, for anything else; the general reader then
 * reads the entry (and says what is wrong with it, if anything).
 */
function readPlainLocation(buf: Uint8Array, at: number, end: number, d: WireDictionary): boolean {
  const lineStart = d.lineFunction.n;
  const attrStart = d.locAttrs.n;
  let mapping = 0;
  let lo = 0;
  let hi = 0;
  let p = at;
  let ok = true;
  while (ok && p < end) {
    const tag = buf[p++];
    if (tag === T_LOC_MAPPING) {
      mapping = smallVarint(buf, p, end);
      p = varEnd;
      ok = mapping >= 0;
    } else if (tag === T_LOC_ADDRESS) {
      // A uint64 of up to ten bytes into its halves, as WireReader.varint64 reads it.
      lo = 0;
      hi = 0;
      let b = 0x80;
      for (let shift = 0; shift < 28 && b >= 0x80 && p < end; shift += 7) {
        b = buf[p++];
        lo |= (b & 0x7f) << shift;
      }
      if (b >= 0x80 && p < end) {
        b = buf[p++];
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x70) >> 4;
        for (let shift = 3; shift <= 31 && b >= 0x80 && p < end; shift += 7) {
          b = buf[p++];
          hi |= (b & 0x7f) << shift;
        }
      }
      ok = b < 0x80;
    } else if (tag === T_LOC_LINES) {
      const n = smallVarint(buf, p, end);
      p = varEnd;
      const e = p + n;
      if (n < 0 || e > end) {
        ok = false;
        break;
      }
      let fn = 0;
      let line = 0;
      let column = 0;
      while (ok && p < e) {
        const t = buf[p++];
        const v = smallVarint(buf, p, e);
        p = varEnd;
        if (v < 0) ok = false;
        else if (t === T_LINE_FUNCTION) fn = v;
        else if (t === T_LINE_LINE) line = v;
        else if (t === T_LINE_COLUMN) column = v;
        else ok = false;
      }
      if (!ok || p !== e) {
        ok = false;
        break;
      }
      pushLine(d, fn, line, column);
    } else if (tag === T_LOC_ATTRS) {
      const n = smallVarint(buf, p, end);
      p = varEnd;
      const e = p + n;
      if (n < 0 || e > end) {
        ok = false;
        break;
      }
      const attrs = d.locAttrs;
      attrs.reserve(n);
      while (ok && p < e) {
        const v = smallVarint(buf, p, e);
        p = varEnd;
        if (v < 0) ok = false;
        else attrs.a[attrs.n++] = v;
      }
    } else {
      ok = false;
    }
  }
  if (!ok || p !== end) {
    d.lineFunction.n = d.lineNumber.n = d.lineColumn.n = lineStart;
    d.locAttrs.n = attrStart;
    return false;
  }
  addLocation(d, mapping, lo, hi, lineStart, attrStart, at, end);
  return true;
}

function readLocation(r: WireReader, len: number, d: WireDictionary): void {
  const at = r.pos;
  const end = at + len;
  if (end <= r.len && readPlainLocation(r.buf, at, end, d)) {
    r.pos = end;
    return;
  }
  const lineStart = d.lineFunction.n;
  const attrStart = d.locAttrs.n;
  let mapping = 0;
  let lo = 0;
  let hi = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case LOCATION.mappingIndex:
        mapping = r.int32();
        break;
      case LOCATION.address:
        r.varint64();
        lo = r.lo;
        hi = r.hi;
        break;
      case LOCATION.lines:
        readLine(r, r.uint32(), d);
        break;
      case LOCATION.attributeIndices:
        readInt32s(r, tag & 7, d.locAttrs);
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
    }
  }
  addLocation(d, mapping, lo, hi, lineStart, attrStart, at, r.pos);
}

/** Adds the location just read: its lines and attribute indices are the runs from `lineStart` and `attrStart` on. */
function addLocation(d: WireDictionary, mapping: number, lo: number, hi: number, lineStart: number, attrStart: number, at: number, end: number): void {
  const i = d.locationCount;
  if (i === d.locMapping.a.length)
    growRows(i + 1, d.locMapping, d.locAddrLo, d.locAddrHi, d.locLineStart, d.locLineCount, d.locAttrStart, d.locAttrCount, d.locAt, d.locEnd);
  d.locMapping.a[i] = mapping;
  d.locAddrLo.a[i] = lo;
  d.locAddrHi.a[i] = hi;
  d.locLineStart.a[i] = lineStart;
  d.locLineCount.a[i] = d.lineFunction.n - lineStart;
  d.locAttrStart.a[i] = attrStart;
  d.locAttrCount.a[i] = d.locAttrs.n - attrStart;
  d.locAt.a[i] = at;
  d.locEnd.a[i] = end;
  const n = i + 1;
  d.locationCount =
    d.locMapping.n =
    d.locAddrLo.n =
    d.locAddrHi.n =
    d.locLineStart.n =
    d.locLineCount.n =
    d.locAttrStart.n =
    d.locAttrCount.n =
    d.locAt.n =
    d.locEnd.n =
      n;
}

function readLine(r: WireReader, len: number, d: WireDictionary): void {
  const end = r.pos + len;
  let fn = 0;
  let line = 0;
  let column = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case LINE.functionIndex:
        fn = r.int32();
        break;
      case LINE.line:
        line = r.int64();
        if (r.hi !== 0) d.narrowNumbers = false;
        break;
      case LINE.column:
        column = r.int64();
        if (r.hi !== 0) d.narrowNumbers = false;
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 4);
    }
  }
  pushLine(d, fn, line, column);
}

/** Appends one Line to the line columns. */
function pushLine(d: WireDictionary, fn: number, line: number, column: number): void {
  const i = d.lineFunction.n;
  if (i === d.lineFunction.a.length) d.lineFunction.reserve(1);
  if (i === d.lineNumber.a.length) d.lineNumber.reserve(1);
  if (i === d.lineColumn.a.length) d.lineColumn.reserve(1);
  d.lineFunction.a[i] = fn;
  d.lineNumber.a[i] = line;
  d.lineColumn.a[i] = column;
  d.lineFunction.n = d.lineNumber.n = d.lineColumn.n = i + 1;
}

function readFunction(r: WireReader, len: number, d: WireDictionary): void {
  const at = r.pos;
  const end = at + len;
  let name = 0;
  let system = 0;
  let file = 0;
  let startLine = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case FUNCTION.nameStrindex:
        name = r.int32();
        break;
      case FUNCTION.systemNameStrindex:
        system = r.int32();
        break;
      case FUNCTION.filenameStrindex:
        file = r.int32();
        break;
      case FUNCTION.startLine:
        startLine = r.int64();
        if (r.hi !== 0) d.narrowNumbers = false;
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
    }
  }
  const i = d.functionCount;
  if (i === d.fnName.a.length) growRows(i + 1, d.fnName, d.fnSystemName, d.fnFilename, d.fnAt, d.fnEnd);
  if (i === d.fnStartLine.a.length) d.fnStartLine.reserve(1);
  d.fnName.a[i] = name;
  d.fnSystemName.a[i] = system;
  d.fnFilename.a[i] = file;
  d.fnStartLine.a[i] = startLine;
  d.fnAt.a[i] = at;
  d.fnEnd.a[i] = r.pos;
  d.functionCount = d.fnName.n = d.fnSystemName.n = d.fnFilename.n = d.fnStartLine.n = d.fnAt.n = d.fnEnd.n = i + 1;
}

function readMapping(r: WireReader, len: number, d: WireDictionary): void {
  const end = r.pos + len;
  const attrStart = d.mapAttrs.n;
  let start = 0n;
  let offset = 0n;
  let limit = 0n;
  let file = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case MAPPING.memoryStart:
        r.varint64();
        start = toBigInt(r.lo, r.hi, false);
        break;
      case MAPPING.memoryLimit:
        r.varint64();
        limit = toBigInt(r.lo, r.hi, false);
        break;
      case MAPPING.fileOffset:
        r.varint64();
        offset = toBigInt(r.lo, r.hi, false);
        break;
      case MAPPING.filenameStrindex:
        file = r.int32();
        break;
      case MAPPING.attributeIndices:
        readInt32s(r, tag & 7, d.mapAttrs);
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
    }
  }
  d.mappingCount++;
  d.mapFilename.push(file);
  d.mapStart.push(start);
  d.mapOffset.push(offset);
  d.mapLimit.push(limit);
  d.mapAttrStart.push(attrStart);
  d.mapAttrCount.push(d.mapAttrs.n - attrStart);
}

function readLink(r: WireReader, len: number, d: WireDictionary): void {
  const end = r.pos + len;
  let trace = 0;
  let span = 0;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case LINK.traceId:
        trace = r.bytesLength();
        break;
      case LINK.spanId:
        span = r.bytesLength();
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
    }
  }
  d.linkCount++;
  d.linkTraceLen.push(trace);
  d.linkSpanLen.push(span);
}

function readKeyValueAndUnit(r: WireReader, len: number): KeyValueAndUnit {
  const end = r.pos + len;
  const kvu = {
    $typeName: 'opentelemetry.proto.profiles.v1development.KeyValueAndUnit',
    keyStrindex: 0,
    value: undefined,
    unitStrindex: 0,
  } as KeyValueAndUnit;
  while (r.pos < end) {
    const tag = r.tag();
    switch (tag >>> 3) {
      case KEY_VALUE_AND_UNIT.keyStrindex:
        kvu.keyStrindex = r.int32();
        break;
      case KEY_VALUE_AND_UNIT.value:
        kvu.value = readAnyValue(r, r.uint32(), 4, kvu.value);
        break;
      case KEY_VALUE_AND_UNIT.unitStrindex:
        kvu.unitStrindex = r.int32();
        break;
      default:
        r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
    }
  }
  return kvu;
}
