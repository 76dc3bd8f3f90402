import type { AnyValue, KeyValue } from '../messages.js';
import type { WireDictionary } from './dictionary.js';
import {
  ANY_VALUE,
  ARRAY_VALUE,
  DICTIONARY,
  ENTITY_REF,
  FUNCTION,
  KEY_VALUE,
  KEY_VALUE_AND_UNIT,
  LEN,
  LINE,
  LOCATION,
  MAPPING,
  PROFILE,
  REQUEST,
  RESOURCE,
  RESOURCE_PROFILES,
  SAMPLE,
  SCOPE,
  SCOPE_PROFILES,
  STACK as STACK_FIELD,
  VALUE_TYPE,
  VARINT,
} from './fields.js';
import { RECURSION_LIMIT, WireReader } from './reader.js';
import type { WireRequest, WireResourceProfiles, WireSamples } from './request.js';
import { WireWriter } from './writer.js';

/**
 * `subsetRequest` + `encodeRequest` on the wire: one workload's part of a validated request as
 * a self-contained encoded request holding only the dictionary entries it uses. Entries are
 * found from the reader's columns, then copied field by field from the received bytes with
 * their references renumbered, so no message objects are built. What the two produce decodes
 * to the same request, up to the order of dictionary entries (kept here in the sender's
 * order) and fields the decoder drops anyway (unknown fields).
 *
 * A node sends one request per flush for all its workloads, sharing one dictionary: this is
 * how the profile store cuts it into chunks.
 */
export interface WireChunk {
  bytes: Uint8Array;
  /** The part uses every entry of every table: `bytes` would equal the request's dictionary. */
  whole: boolean;
}

const STR = 0;
const ATTR = 1;
const MAP = 2;
const FN = 3;
const LOC = 4;
const STACK = 5;
const LINK = 6;

/** Messages the writer rewrites field by field (`message`). */
const enum Kind {
  Resource,
  ScopeProfiles,
  Scope,
  Profile,
  ValueType,
  Sample,
  KeyValue,
  AnyValue,
  ArrayValue,
  KeyValueList,
  Line,
}

/**
 * One dictionary table's part in the chunk being written: which entries it uses, as a bit set
 * and listed, and their new numbers. Reset after each chunk in proportion to what that chunk
 * used.
 */
class InUse {
  /** Entries `[0, size)` of the current request's table; the arrays may be longer. */
  size = 0;
  /** Bit `i & 31` of word `i >> 5`: whether entry `i` is in the chunk. */
  bits = new Int32Array(0);
  /** The entries in the chunk are `list[0, n)`; in the sender's order once numbered. */
  list = new Int32Array(0);
  n = 0;
  /** New index of each entry (0 for entry 0 and for entries not in the chunk). */
  map = new Int32Array(0);

  /**
   * Takes on a table of `size` entries for the next chunk: the last chunk's entries forgotten
   * (in proportion to how many it used), entry 0 in (when the table has one). The arrays are
   * kept from chunk to chunk and only grow.
   */
  resize(size: number): void {
    this.clear();
    this.size = size;
    if (size > this.list.length) {
      const capacity = Math.max(size, this.list.length * 2);
      this.bits = new Int32Array((capacity + 31) >> 5);
      this.list = new Int32Array(capacity);
      this.map = new Int32Array(capacity);
    }
    if (size > 0) this.mark(0);
  }

  /** Marks entry `i` as used and lists it (out of range is "unset"). */
  mark(i: number): void {
    if (i >= 0 && i < this.size && (this.bits[i >> 5] & (1 << i)) === 0) {
      this.bits[i >> 5] |= 1 << i;
      this.list[this.n++] = i;
    }
  }

  private clear(): void {
    const { bits, list, map } = this;
    for (let k = 0; k < this.n; k++) {
      bits[list[k] >> 5] = 0;
      map[list[k]] = 0;
    }
    this.n = 0;
  }

  /**
   * Puts the list in the sender's order and numbers the entries by rank: read back from the bit
   * set, 32 entries a word, or for a table used very sparsely, sorted as numbers.
   */
  number(): void {
    const { bits, list, map, n } = this;
    if (n < 2) return;
    if (n * 256 < this.size) {
      list.subarray(0, n).sort();
      for (let k = 0; k < n; k++) map[list[k]] = k;
      return;
    }
    let k = 0;
    const words = (this.size + 31) >> 5;
    for (let w = 0; w < words; w++) {
      let word = bits[w];
      while (word !== 0) {
        const low = word & -word;
        const i = (w << 5) | (31 - Math.clz32(low));
        list[k] = i;
        map[i] = k++;
        word ^= low;
      }
    }
  }

  /** Entry `i`'s number in the chunk (0 when out of range). */
  remap(i: number): number {
    return i > 0 && i < this.size ? this.map[i] : 0;
  }
}

/** The largest output buffer kept between chunks. */
const WRITER_KEEP_BYTES = 4 << 20;

const NO_TABLES = [0, 0, 0, 0, 0, 0, 0];
const NO_BYTES = new Uint8Array(0);

/** Bytes of `v` (≥ 0) as a varint. */
function varintSize(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v >>>= 7;
    n++;
  }
  return n;
}

/** EntityRef's fields are all strings (copied as read). */
function isEntityRefString(no: number): boolean {
  return no === ENTITY_REF.schemaUrl || no === ENTITY_REF.type || no === ENTITY_REF.idKeys || no === ENTITY_REF.descriptionKeys;
}

/** Tags of the fields written from columns (field numbers from the descriptors, so computed once). */
const T_LOCATION = (DICTIONARY.locationTable << 3) | LEN;
const T_LOC_MAPPING = (LOCATION.mappingIndex << 3) | VARINT;
const T_LOC_ADDRESS = (LOCATION.address << 3) | VARINT;
const T_LOC_LINES = (LOCATION.lines << 3) | LEN;
const T_LOC_ATTRS = (LOCATION.attributeIndices << 3) | LEN;
const T_LINE_FUNCTION = (LINE.functionIndex << 3) | VARINT;
const T_LINE_LINE = (LINE.line << 3) | VARINT;
const T_LINE_COLUMN = (LINE.column << 3) | VARINT;
const T_FUNCTION = (DICTIONARY.functionTable << 3) | LEN;
const T_FN_NAME = (FUNCTION.nameStrindex << 3) | VARINT;
const T_FN_SYSTEM_NAME = (FUNCTION.systemNameStrindex << 3) | VARINT;
const T_FN_FILENAME = (FUNCTION.filenameStrindex << 3) | VARINT;
const T_FN_START_LINE = (FUNCTION.startLine << 3) | VARINT;

/** Writes `v` (0 ≤ v < 2^32) as a varint at `p` of `buf`, which has room; returns where it ends. */
function putVarint(buf: Uint8Array, p: number, v: number): number {
  while (v > 0x7f) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

/** Writes the 64-bit value of halves `lo`, `hi` (as the reader gives them) as a varint. */
function putVarint64(buf: Uint8Array, p: number, lo: number, hi: number): number {
  let l = lo >>> 0;
  let h = hi >>> 0;
  while (h !== 0 || l > 0x7f) {
    buf[p++] = (l & 0x7f) | 0x80;
    l = ((l >>> 7) | (h << 25)) >>> 0;
    h >>>= 7;
  }
  buf[p++] = l;
  return p;
}

/**
 * Ends a length-delimited field whose content is `buf[start, p)`, one byte left for its length
 * before `start` (the content moves up when the length needs more; `buf` has room); returns
 * where the field ends.
 */
function closeAt(buf: Uint8Array, start: number, p: number): number {
  const len = p - start;
  if (len < 0x80) {
    buf[start - 1] = len;
    return p;
  }
  let size = 1;
  for (let v = len >>> 7; v > 0; v >>>= 7) size++;
  buf.copyWithin(start + size - 1, start, p);
  putVarint(buf, start - 1, len);
  return p + size - 1;
}

/**
 * Cuts chunks out of one request: `new WireChunker(req, bytes).chunk(parts)` for each set of
 * its resource profiles. The work is done by the process's one `Cutter`.
 */
export class WireChunker {
  constructor(
    readonly req: WireRequest,
    readonly bytes: Uint8Array,
  ) {}

  /**
   * The chunk holding `parts` (resource profiles of `req`). With `received` (the request's
   * bytes, when `parts` are all of its resource profiles), a part that uses the whole
   * dictionary is answered with those bytes, kept as received, and nothing is written.
   */
  chunk(parts: readonly WireResourceProfiles[], received?: Uint8Array): WireChunk {
    return cutter.chunk(this.req, this.bytes, parts, received);
  }
}

/**
 * The chunk writer. There is one for the process, kept for its life with its working state:
 * the marks of each dictionary table and the output buffer. A chunk is cut synchronously from
 * start to end, so requests take turns with it. Keeping it also keeps V8's optimised code for
 * it: V8 throws away code built for a hidden class that has died, and the class of objects made
 * per request dies whenever full GCs find none alive (between requests).
 */
class Cutter {
  private bytes: Uint8Array = NO_BYTES;
  private d: WireDictionary | undefined;
  private r = new WireReader(this.bytes);
  /** Per table (STR, ATTR, …): what the current chunk uses of it. */
  private readonly t = [new InUse(), new InUse(), new InUse(), new InUse(), new InUse(), new InUse(), new InUse()];
  /** One buffer for every chunk; each chunk's bytes are copied out of it. */
  private readonly w = new WireWriter(4096);

  chunk(req: WireRequest, bytes: Uint8Array, parts: readonly WireResourceProfiles[], received: Uint8Array | undefined): WireChunk {
    this.bytes = bytes;
    this.d = req.dictionary;
    this.r = new WireReader(bytes);
    try {
      const whole = this.plan(parts, req.samples);
      if (whole && received) return { bytes: received, whole };
      const w = this.w;
      w.pos = 0;
      for (const rp of parts) {
        const s = w.open(REQUEST.resourceProfiles);
        this.resourceProfiles(rp.start, rp.end);
        w.close(s);
      }
      this.dictionary();
      const out = w.finish();
      // The buffer is kept for the next chunk, up to a size; a larger one goes with this chunk.
      if (w.buf.length > WRITER_KEEP_BYTES) w.buf = new Uint8Array(4096);
      return { bytes: out, whole };
    } finally {
      // The request is not kept past its chunk.
      this.bytes = NO_BYTES;
      this.r = new WireReader(NO_BYTES);
      this.d = undefined;
    }
  }

  /**
   * Marks what `parts` use, entry 0 of every table with what it uses, and numbers them. The
   * marks, lists and maps are kept from chunk to chunk and reset in proportion to what the last
   * chunk used, so a request of many workloads costs in proportion to what each uses, not to its
   * dictionary.
   */
  private plan(parts: readonly WireResourceProfiles[], samples: WireSamples): boolean {
    const tables = this.t;
    const d = this.d;
    const sizes = d ? [d.stringCount, d.attributes.length, d.mappingCount, d.functionCount, d.locationCount, d.stackCount, d.linkCount] : NO_TABLES;
    for (let k = 0; k < tables.length; k++) tables[k].resize(sizes[k]);
    this.markParts(parts, samples);
    if (this.d) this.markDictionary(this.d);
    // Entries keep the sender's order: numbered by rank among those in use.
    let whole = this.d !== undefined;
    for (const t of tables) {
      t.number();
      if (t.size === 0 || t.n !== t.size) whole = false;
    }
    return whole;
  }

  /** Marks what the resource profiles themselves refer to: strings, attributes, stacks, links. */
  private markParts(parts: readonly WireResourceProfiles[], s: WireSamples): void {
    const str = this.t[STR];
    const attr = this.t[ATTR];
    const stacks = this.t[STACK];
    const links = this.t[LINK];
    const stack = s.stack.a;
    const link = s.link.a;
    const attrStart = s.attrStart.a;
    const attrCount = s.attrCount.a;
    const attrs = s.attrs.a;
    for (const rp of parts) {
      if (rp.resourceAttributes) for (const kv of rp.resourceAttributes) this.markKeyValue(kv);
      for (const sp of rp.scopes) {
        if (sp.scopeAttributes) for (const kv of sp.scopeAttributes) this.markKeyValue(kv);
        for (const p of sp.profiles) {
          if (p.hasSampleType) {
            str.mark(p.sampleTypeType);
            str.mark(p.sampleTypeUnit);
          }
          if (p.hasPeriodType) {
            str.mark(p.periodTypeType);
            str.mark(p.periodTypeUnit);
          }
          for (const a of p.attributeIndices) attr.mark(a);
          for (let row = p.sampleStart; row < p.sampleEnd; row++) {
            stacks.mark(stack[row]);
            links.mark(link[row]);
            const a0 = attrStart[row];
            const a1 = a0 + attrCount[row];
            for (let a = a0; a < a1; a++) attr.mark(attrs[a]);
          }
        }
      }
    }
  }

  /**
   * Marks what the dictionary entries in use refer to. References point one way (stack →
   * location → mapping, function → string), so going through the tables in that order sees
   * every referrer before what it refers to.
   */
  private markDictionary(d: WireDictionary): void {
    const str = this.t[STR];
    const attr = this.t[ATTR];
    const maps = this.t[MAP];
    const stacks = this.t[STACK];
    // The two widest fan-outs (a stack's locations, a location's lines) with the marks inline.
    const loc = this.t[LOC];
    const locs = d.stackLocs.a;
    const stackStart = d.stackStart.a;
    const stackLen = d.stackLen.a;
    const uLoc = loc.bits;
    const lLoc = loc.list;
    let nLoc = loc.n;
    for (let k = 0; k < stacks.n; k++) {
      const i = stacks.list[k];
      const s0 = stackStart[i];
      const s1 = s0 + stackLen[i];
      for (let j = s0; j < s1; j++) {
        const l = locs[j];
        if (l > 0 && l < loc.size && (uLoc[l >> 5] & (1 << l)) === 0) {
          uLoc[l >> 5] |= 1 << l;
          lLoc[nLoc++] = l;
        }
      }
    }
    loc.n = nLoc;
    const fn = this.t[FN];
    const locMapping = d.locMapping.a;
    const locLineStart = d.locLineStart.a;
    const locLineCount = d.locLineCount.a;
    const lineFunction = d.lineFunction.a;
    const locAttrStart = d.locAttrStart.a;
    const locAttrCount = d.locAttrCount.a;
    const locAttrs = d.locAttrs.a;
    const uFn = fn.bits;
    const lFn = fn.list;
    let nFn = fn.n;
    for (let k = 0; k < nLoc; k++) {
      const i = lLoc[k];
      maps.mark(locMapping[i]);
      const l0 = locLineStart[i];
      const l1 = l0 + locLineCount[i];
      for (let l = l0; l < l1; l++) {
        const f = lineFunction[l];
        if (f > 0 && f < fn.size && (uFn[f >> 5] & (1 << f)) === 0) {
          uFn[f >> 5] |= 1 << f;
          lFn[nFn++] = f;
        }
      }
      const a0 = locAttrStart[i];
      const a1 = a0 + locAttrCount[i];
      for (let a = a0; a < a1; a++) attr.mark(locAttrs[a]);
    }
    fn.n = nFn;
    for (let k = 0; k < maps.n; k++) {
      const i = maps.list[k];
      str.mark(d.mapFilename.a[i]);
      const a0 = d.mapAttrStart.a[i];
      for (let a = a0; a < a0 + d.mapAttrCount.a[i]; a++) attr.mark(d.mapAttrs.a[a]);
    }
    const fnName = d.fnName.a;
    const fnSystemName = d.fnSystemName.a;
    const fnFilename = d.fnFilename.a;
    for (let k = 0; k < nFn; k++) {
      const i = lFn[k];
      str.mark(fnName[i]);
      str.mark(fnSystemName[i]);
      str.mark(fnFilename[i]);
    }
    for (let k = 0; k < attr.n; k++) {
      const kvu = d.attributes[attr.list[k]];
      str.mark(kvu.keyStrindex);
      str.mark(kvu.unitStrindex);
      this.markAny(kvu.value);
    }
  }

  private markKeyValue(kv: KeyValue): void {
    this.t[STR].mark(kv.keyStrindex);
    this.markAny(kv.value);
  }

  private markAny(v: AnyValue | undefined): void {
    if (!v) return;
    const x = v.value;
    if (x.case === 'stringValueStrindex') this.t[STR].mark(x.value);
    else if (x.case === 'arrayValue') for (const item of x.value.values) this.markAny(item);
    else if (x.case === 'kvlistValue') for (const kv of x.value.values) this.markKeyValue(kv);
  }

  private remap(t: number, i: number): number {
    return this.t[t].remap(i);
  }

  /** Writes a varint field holding a renumbered index. */
  private index(fieldNo: number, t: number): void {
    this.w.tag(fieldNo, 0);
    this.w.varint(this.remap(t, this.r.int32()));
  }

  /** Writes a repeated index field occurrence (packed or not, as read) packed, renumbered. */
  private indices(fieldNo: number, wireType: number, t: number): void {
    const r = this.r;
    const s = this.w.open(fieldNo);
    if (wireType === LEN) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) this.w.varint(this.remap(t, r.int32()));
    } else {
      this.w.varint(this.remap(t, r.int32()));
    }
    this.w.close(s);
  }

  /** Copies the field that started at `at` and has just been read. */
  private copied(at: number): void {
    this.w.copy(this.bytes, at, this.r.pos);
  }

  /** A message field, rewritten field by field as `kind` says. */
  private message(fieldNo: number, kind: Kind): void {
    const len = this.r.uint32();
    const s = this.w.open(fieldNo);
    const end = this.r.pos + len;
    switch (kind) {
      case Kind.Resource:
        this.resource(end);
        break;
      case Kind.ScopeProfiles:
        this.scopeProfiles(end);
        break;
      case Kind.Scope:
        this.scope(end);
        break;
      case Kind.Profile:
        this.profile(end);
        break;
      case Kind.ValueType:
        this.valueType(end);
        break;
      case Kind.Sample:
        this.sample(end);
        break;
      case Kind.KeyValue:
        this.keyValue(end);
        break;
      case Kind.AnyValue:
        this.anyValue(end);
        break;
      case Kind.ArrayValue:
        this.repeated(end, Kind.AnyValue);
        break;
      case Kind.KeyValueList:
        this.repeated(end, Kind.KeyValue);
        break;
      case Kind.Line:
        this.line(end);
        break;
    }
    this.w.close(s);
  }

  private resourceProfiles(start: number, end: number): void {
    const r = this.r;
    r.pos = start;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case RESOURCE_PROFILES.resource:
          this.message(RESOURCE_PROFILES.resource, Kind.Resource);
          break;
        case RESOURCE_PROFILES.scopeProfiles:
          this.message(RESOURCE_PROFILES.scopeProfiles, Kind.ScopeProfiles);
          break;
        case RESOURCE_PROFILES.schemaUrl:
          r.bytesLength();
          this.copied(at);
          break;
        default:
          // Unknown fields are left out, as decodeRequest leaves them out.
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 2);
      }
    }
  }

  private resource(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case RESOURCE.attributes:
          this.message(RESOURCE.attributes, Kind.KeyValue);
          break;
        case RESOURCE.droppedAttributesCount:
          r.uint32();
          this.copied(at);
          break;
        case RESOURCE.entityRefs: {
          // EntityRef: strings only; copied as read.
          const e = r.uint32() + r.pos;
          while (r.pos < e) {
            const t = r.tag();
            if (isEntityRefString(t >>> 3)) r.bytesLength();
            else r.skip(t & 7, t >>> 3, RECURSION_LIMIT - 4);
          }
          this.copied(at);
          break;
        }
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
      }
    }
  }

  private scopeProfiles(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case SCOPE_PROFILES.scope:
          this.message(SCOPE_PROFILES.scope, Kind.Scope);
          break;
        case SCOPE_PROFILES.profiles:
          this.message(SCOPE_PROFILES.profiles, Kind.Profile);
          break;
        case SCOPE_PROFILES.schemaUrl:
          r.bytesLength();
          this.copied(at);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
      }
    }
  }

  private scope(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case SCOPE.name:
        case SCOPE.version:
          r.bytesLength();
          this.copied(at);
          break;
        case SCOPE.attributes:
          this.message(SCOPE.attributes, Kind.KeyValue);
          break;
        case SCOPE.droppedAttributesCount:
          r.uint32();
          this.copied(at);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 4);
      }
    }
  }

  private profile(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case PROFILE.sampleType:
          this.message(PROFILE.sampleType, Kind.ValueType);
          break;
        case PROFILE.samples:
          this.message(PROFILE.samples, Kind.Sample);
          break;
        case PROFILE.timeUnixNano:
          r.fixed64();
          this.copied(at);
          break;
        case PROFILE.durationNano:
        case PROFILE.period:
        case PROFILE.droppedAttributesCount:
          r.varint64();
          this.copied(at);
          break;
        case PROFILE.periodType:
          this.message(PROFILE.periodType, Kind.ValueType);
          break;
        case PROFILE.profileId:
        case PROFILE.originalPayloadFormat:
        case PROFILE.originalPayload:
          r.bytesLength();
          this.copied(at);
          break;
        case PROFILE.attributeIndices:
          this.indices(PROFILE.attributeIndices, tag & 7, ATTR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 4);
      }
    }
  }

  private valueType(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag();
      const no = tag >>> 3;
      if (no === VALUE_TYPE.typeStrindex || no === VALUE_TYPE.unitStrindex) this.index(no, STR);
      else r.skip(tag & 7, no, RECURSION_LIMIT - 5);
    }
  }

  private sample(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case SAMPLE.stackIndex:
          this.index(SAMPLE.stackIndex, STACK);
          break;
        case SAMPLE.attributeIndices:
          this.indices(SAMPLE.attributeIndices, tag & 7, ATTR);
          break;
        case SAMPLE.linkIndex:
          this.index(SAMPLE.linkIndex, LINK);
          break;
        case SAMPLE.values:
          if ((tag & 7) === LEN) {
            const e = r.uint32() + r.pos;
            while (r.pos < e) r.varint64();
          } else {
            r.varint64();
          }
          this.copied(at);
          break;
        case SAMPLE.timestampsUnixNano:
          if ((tag & 7) === LEN) {
            const e = r.uint32() + r.pos;
            while (r.pos < e) r.fixed64();
          } else {
            r.fixed64();
          }
          this.copied(at);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 5);
      }
    }
  }

  private keyValue(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case KEY_VALUE.key:
          r.bytesLength();
          this.copied(at);
          break;
        case KEY_VALUE.value:
          this.message(KEY_VALUE.value, Kind.AnyValue);
          break;
        case KEY_VALUE.keyStrindex:
          this.index(KEY_VALUE.keyStrindex, STR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 5);
      }
    }
  }

  private anyValue(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case ANY_VALUE.stringValue:
        case ANY_VALUE.bytesValue:
          r.bytesLength();
          this.copied(at);
          break;
        case ANY_VALUE.boolValue:
        case ANY_VALUE.intValue:
          r.varint64();
          this.copied(at);
          break;
        case ANY_VALUE.doubleValue:
          r.double();
          this.copied(at);
          break;
        case ANY_VALUE.arrayValue:
          this.message(ANY_VALUE.arrayValue, Kind.ArrayValue);
          break;
        case ANY_VALUE.kvlistValue:
          this.message(ANY_VALUE.kvlistValue, Kind.KeyValueList);
          break;
        case ANY_VALUE.stringValueStrindex:
          this.index(ANY_VALUE.stringValueStrindex, STR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 6);
      }
    }
  }

  /** ArrayValue / KeyValueList: one repeated message field (`values`, the same number in both) of `kind`. */
  private repeated(end: number, kind: Kind): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag();
      if (tag >>> 3 === ARRAY_VALUE.values) this.message(ARRAY_VALUE.values, kind);
      else r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 6);
    }
  }

  /** Entry 0, then the entries in use, in the sender's order; an empty table gets the zero entry. */
  private dictionary(): void {
    const d = this.d;
    const w = this.w;
    const s = w.open(REQUEST.dictionary);
    if (d) {
      this.entries(MAP, DICTIONARY.mappingTable, d.mapAt.a, d.mapEnd.a);
      if (d.narrowNumbers) {
        this.locations(d);
        this.functions(d);
      } else {
        this.entries(LOC, DICTIONARY.locationTable, d.locAt.a, d.locEnd.a);
        this.entries(FN, DICTIONARY.functionTable, d.fnAt.a, d.fnEnd.a);
      }
      const links = this.t[LINK];
      if (links.n === 0) w.zeroLink();
      for (let k = 0; k < links.n; k++) {
        const i = links.list[k];
        const e = w.open(DICTIONARY.linkTable);
        w.copy(this.bytes, d.linkAt.a[i], d.linkEnd.a[i]);
        w.close(e);
      }
      const str = this.t[STR];
      const strings = str.list;
      if (str.n === 0) w.close(w.open(DICTIONARY.stringTable));
      const strStart = d.strStart.a;
      const strLen = d.strLen.a;
      for (let k = 0; k < str.n;) {
        // A run of strings in use that lie one after the other in the request, each field just
        // a one-byte tag and the shortest length (nothing else fits between them), is copied in
        // one piece after the first one's tag and length: a string field holds no index.
        const first = strings[k];
        let end = strStart[first] + strLen[first];
        for (k++; k < str.n; k++) {
          const next = strings[k];
          if (strStart[next] !== end + 1 + varintSize(strLen[next])) break;
          end = strStart[next] + strLen[next];
        }
        w.tag(DICTIONARY.stringTable, LEN);
        w.varint(strLen[first]);
        w.copy(this.bytes, strStart[first], end);
      }
      this.entries(ATTR, DICTIONARY.attributeTable, d.attrAt.a, d.attrEnd.a);
      this.stacks(d);
    } else {
      const tables = [
        DICTIONARY.mappingTable,
        DICTIONARY.locationTable,
        DICTIONARY.functionTable,
        DICTIONARY.stringTable,
        DICTIONARY.attributeTable,
        DICTIONARY.stackTable,
      ];
      for (const fieldNo of tables) w.close(w.open(fieldNo));
      w.zeroLink();
    }
    w.close(s);
  }

  /** The entries in use of table `t` (mappings, locations, functions, attributes), rewritten from where they lie in the request. */
  private entries(t: number, fieldNo: number, at: Int32Array, end: Int32Array): void {
    const w = this.w;
    const r = this.r;
    const { list, n } = this.t[t];
    if (n === 0) w.close(w.open(fieldNo));
    for (let k = 0; k < n; k++) {
      const i = list[k];
      const e = w.open(fieldNo);
      r.pos = at[i];
      if (t === MAP) this.mapping(end[i]);
      else if (t === LOC) this.location(end[i]);
      else if (t === FN) this.function(end[i]);
      else this.keyValueAndUnit(end[i]);
      w.close(e);
    }
  }

  /** The stacks in use, their location indices renumbered and packed. */
  private stacks(d: WireDictionary): void {
    const w = this.w;
    const { list, n: count } = this.t[STACK];
    if (count === 0) w.close(w.open(DICTIONARY.stackTable));
    const locs = d.stackLocs.a;
    const locMap = this.t[LOC].map;
    for (let k = 0; k < count; k++) {
      const i = list[k];
      const e = w.open(DICTIONARY.stackTable);
      const n = d.stackLen.a[i];
      if (n > 0) {
        const l = w.open(STACK_FIELD.locationIndices);
        const s0 = d.stackStart.a[i];
        // Room for every index at its longest, then plain stores.
        w.ensure(n * 5);
        const buf = w.buf;
        let p = w.pos;
        for (let j = s0; j < s0 + n; j++) {
          const loc = locs[j];
          let v = loc > 0 && loc < locMap.length ? locMap[loc] : 0;
          while (v > 0x7f) {
            buf[p++] = (v & 0x7f) | 0x80;
            v >>>= 7;
          }
          buf[p++] = v;
        }
        w.pos = p;
        w.close(l);
      }
      w.close(e);
    }
  }

  /**
   * The locations in use, written from the dictionary's columns (renumbered as they are
   * written) rather than re-read from their bytes: what is written decodes to what was read,
   * zero fields and unknown ones left out as the decoder leaves them out. Only for a dictionary
   * whose numbers the columns hold exactly (`narrowNumbers`).
   */
  private locations(d: WireDictionary): void {
    const w = this.w;
    const loc = this.t[LOC];
    if (loc.n === 0) w.close(w.open(DICTIONARY.locationTable));
    const mappings = this.t[MAP];
    const fns = this.t[FN];
    const attrs = this.t[ATTR];
    const locMapping = d.locMapping.a;
    const addrLo = d.locAddrLo.a;
    const addrHi = d.locAddrHi.a;
    const lineStart = d.locLineStart.a;
    const lineCount = d.locLineCount.a;
    const lineFunction = d.lineFunction.a;
    const lineNumber = d.lineNumber.a;
    const lineColumn = d.lineColumn.a;
    const attrStart = d.locAttrStart.a;
    const attrCount = d.locAttrCount.a;
    const locAttrs = d.locAttrs.a;
    for (let k = 0; k < loc.n; k++) {
      const i = loc.list[k];
      const l0 = lineStart[i];
      const l1 = l0 + lineCount[i];
      const a0 = attrStart[i];
      const a1 = a0 + attrCount[i];
      // Room for the entry at its longest (every varint at its widest), then plain stores.
      w.ensure(64 + 48 * (l1 - l0) + 5 * (a1 - a0));
      const buf = w.buf;
      let p = putVarint(buf, w.pos, T_LOCATION);
      const e = ++p;
      const m = mappings.remap(locMapping[i]);
      if (m !== 0) p = putVarint(buf, putVarint(buf, p, T_LOC_MAPPING), m);
      const lo = addrLo[i];
      const hi = addrHi[i];
      if (lo !== 0 || hi !== 0) p = putVarint64(buf, putVarint(buf, p, T_LOC_ADDRESS), lo, hi);
      for (let l = l0; l < l1; l++) {
        p = putVarint(buf, p, T_LOC_LINES);
        const s = ++p;
        const f = fns.remap(lineFunction[l]);
        if (f !== 0) p = putVarint(buf, putVarint(buf, p, T_LINE_FUNCTION), f);
        const line = lineNumber[l];
        if (line !== 0) p = putVarint(buf, putVarint(buf, p, T_LINE_LINE), line);
        const column = lineColumn[l];
        if (column !== 0) p = putVarint(buf, putVarint(buf, p, T_LINE_COLUMN), column);
        // Three varint fields of at most 5 + 5 bytes each: the length fits the byte reserved.
        buf[s - 1] = p - s;
      }
      if (a1 > a0) {
        p = putVarint(buf, p, T_LOC_ATTRS);
        const s = ++p;
        for (let a = a0; a < a1; a++) p = putVarint(buf, p, attrs.remap(locAttrs[a]));
        p = closeAt(buf, s, p);
      }
      w.pos = closeAt(buf, e, p);
    }
  }

  /** The functions in use, written from the dictionary's columns (as `locations`). */
  private functions(d: WireDictionary): void {
    const w = this.w;
    const fn = this.t[FN];
    if (fn.n === 0) w.close(w.open(DICTIONARY.functionTable));
    const str = this.t[STR];
    const name = d.fnName.a;
    const systemName = d.fnSystemName.a;
    const filename = d.fnFilename.a;
    const startLine = d.fnStartLine.a;
    for (let k = 0; k < fn.n; k++) {
      const i = fn.list[k];
      w.ensure(64);
      const buf = w.buf;
      let p = putVarint(buf, w.pos, T_FUNCTION);
      const e = ++p;
      const a = str.remap(name[i]);
      if (a !== 0) p = putVarint(buf, putVarint(buf, p, T_FN_NAME), a);
      const b = str.remap(systemName[i]);
      if (b !== 0) p = putVarint(buf, putVarint(buf, p, T_FN_SYSTEM_NAME), b);
      const c = str.remap(filename[i]);
      if (c !== 0) p = putVarint(buf, putVarint(buf, p, T_FN_FILENAME), c);
      const line = startLine[i];
      if (line !== 0) p = putVarint(buf, putVarint(buf, p, T_FN_START_LINE), line);
      // Four varint fields of at most 5 + 5 bytes each: the length fits the byte reserved.
      buf[e - 1] = p - e;
      w.pos = p;
    }
  }

  private mapping(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case MAPPING.memoryStart:
        case MAPPING.memoryLimit:
        case MAPPING.fileOffset:
          r.varint64();
          this.copied(at);
          break;
        case MAPPING.filenameStrindex:
          this.index(MAPPING.filenameStrindex, STR);
          break;
        case MAPPING.attributeIndices:
          this.indices(MAPPING.attributeIndices, tag & 7, ATTR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
      }
    }
  }

  private location(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case LOCATION.mappingIndex:
          this.index(LOCATION.mappingIndex, MAP);
          break;
        case LOCATION.address:
          r.varint64();
          this.copied(at);
          break;
        case LOCATION.lines:
          this.message(LOCATION.lines, Kind.Line);
          break;
        case LOCATION.attributeIndices:
          this.indices(LOCATION.attributeIndices, tag & 7, ATTR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
      }
    }
  }

  private line(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case LINE.functionIndex:
          this.index(LINE.functionIndex, FN);
          break;
        case LINE.line:
        case LINE.column:
          r.varint64();
          this.copied(at);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 4);
      }
    }
  }

  private function(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      const no = tag >>> 3;
      if (no === FUNCTION.nameStrindex || no === FUNCTION.systemNameStrindex || no === FUNCTION.filenameStrindex) {
        this.index(no, STR);
      } else if (no === FUNCTION.startLine) {
        r.varint64();
        this.copied(at);
      } else {
        r.skip(tag & 7, no, RECURSION_LIMIT - 3);
      }
    }
  }

  private keyValueAndUnit(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag();
      switch (tag >>> 3) {
        case KEY_VALUE_AND_UNIT.keyStrindex:
          this.index(KEY_VALUE_AND_UNIT.keyStrindex, STR);
          break;
        case KEY_VALUE_AND_UNIT.value:
          this.message(KEY_VALUE_AND_UNIT.value, Kind.AnyValue);
          break;
        case KEY_VALUE_AND_UNIT.unitStrindex:
          this.index(KEY_VALUE_AND_UNIT.unitStrindex, STR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
      }
    }
  }
}

/** The process's one chunk writer (see `Cutter`). */
const cutter = new Cutter();
