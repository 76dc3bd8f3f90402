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
} from './fields.js';
import { RECURSION_LIMIT, WireReader } from './reader.js';
import type { WireRequest, WireResourceProfiles } from './request.js';
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

/** Marks entry `i` of a table as used and lists it (out of range is "unset"). */
function mark(used: Uint8Array, list: number[], i: number): void {
  if (i >= 0 && i < used.length && used[i] === 0) {
    used[i] = 1;
    list.push(i);
  }
}

/**
 * Sorts `list`, the entries marked in `used`: a table mostly in use is read back from its
 * marks in order, a sparse one sorted as numbers (a typed array's sort, not a comparator).
 */
function sortInUse(list: number[], used: Uint8Array): void {
  const n = list.length;
  if (n < 2) return;
  if (n * 16 >= used.length) {
    let k = 0;
    for (let i = 0; i < used.length; i++) if (used[i] !== 0) list[k++] = i;
    return;
  }
  const sorted = Int32Array.from(list).sort();
  for (let k = 0; k < n; k++) list[k] = sorted[k];
}

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

export class WireChunker {
  private readonly d: WireDictionary | undefined;
  private readonly r: WireReader;
  /** Per table: whether each entry is in the current chunk, and those entries in a list. */
  private readonly used: Uint8Array[];
  private readonly lists: number[][];
  /** Per table: new index of each entry (0 for entry 0 and for entries not in the chunk). */
  private readonly maps: Int32Array[];
  /** One buffer for every chunk of the request; each chunk's bytes are copied out of it. */
  private readonly w = new WireWriter(4096);

  constructor(
    private readonly req: WireRequest,
    private readonly bytes: Uint8Array,
  ) {
    this.d = req.dictionary;
    this.r = new WireReader(bytes);
    const d = this.d;
    const sizes = d ? [d.stringCount, d.attributes.length, d.mappingCount, d.functionCount, d.locationCount, d.stackCount, d.linkCount] : [0, 0, 0, 0, 0, 0, 0];
    this.used = sizes.map((n) => new Uint8Array(n));
    this.lists = sizes.map(() => []);
    this.maps = sizes.map((n) => new Int32Array(n));
  }

  /**
   * The chunk holding `parts` (resource profiles of `req`). With `received` (the request's
   * bytes, when `parts` are all of its resource profiles), a part that uses the whole
   * dictionary is answered with those bytes, kept as received, and nothing is written.
   */
  chunk(parts: readonly WireResourceProfiles[], received?: Uint8Array): WireChunk {
    const whole = this.plan(parts);
    if (whole && received) return { bytes: received, whole };
    const w = this.w;
    w.pos = 0;
    for (const rp of parts) {
      const s = w.open(REQUEST.resourceProfiles);
      this.resourceProfiles(rp.start, rp.end);
      w.close(s);
    }
    this.dictionary();
    return { bytes: w.finish(), whole };
  }

  /**
   * Marks what `parts` use, entry 0 of every table with what it uses, and numbers them. The
   * marks, lists and maps are the chunker's own and reset after each chunk, so a request of
   * many workloads costs in proportion to what each uses, not to its dictionary.
   */
  private plan(parts: readonly WireResourceProfiles[]): boolean {
    const d = this.d;
    const { used, lists } = this;
    for (let t = 0; t < 7; t++) {
      const list = lists[t];
      for (let k = 0; k < list.length; k++) {
        used[t][list[k]] = 0;
        this.maps[t][list[k]] = 0;
      }
      list.length = 0;
      if (used[t].length > 0) mark(used[t], list, 0);
    }
    const [uStr, uAttr, uMap, uFn, uLoc, uStack, uLink] = used;
    const [lStr, lAttr, lMap, lFn, lLoc, lStack, lLink] = lists;
    const any = (v: AnyValue | undefined): void => {
      if (!v) return;
      const x = v.value;
      if (x.case === 'stringValueStrindex') mark(uStr, lStr, x.value);
      else if (x.case === 'arrayValue') for (const item of x.value.values) any(item);
      else if (x.case === 'kvlistValue') for (const kv of x.value.values) keyValue(kv);
    };
    const keyValue = (kv: KeyValue): void => {
      mark(uStr, lStr, kv.keyStrindex);
      any(kv.value);
    };
    const s = this.req.samples;
    for (const rp of parts) {
      rp.resourceAttributes?.forEach(keyValue);
      for (const sp of rp.scopes) {
        sp.scopeAttributes?.forEach(keyValue);
        for (const p of sp.profiles) {
          if (p.hasSampleType) {
            mark(uStr, lStr, p.sampleTypeType);
            mark(uStr, lStr, p.sampleTypeUnit);
          }
          if (p.hasPeriodType) {
            mark(uStr, lStr, p.periodTypeType);
            mark(uStr, lStr, p.periodTypeUnit);
          }
          for (const a of p.attributeIndices) mark(uAttr, lAttr, a);
          for (let row = p.sampleStart; row < p.sampleEnd; row++) {
            mark(uStack, lStack, s.stack.a[row]);
            mark(uLink, lLink, s.link.a[row]);
            const a0 = s.attrStart.a[row];
            for (let a = a0; a < a0 + s.attrCount.a[row]; a++) mark(uAttr, lAttr, s.attrs.a[a]);
          }
        }
      }
    }
    if (d) {
      // References point one way (stack → location → mapping, function → string), so going
      // through the tables in that order sees every referrer before what it refers to.
      const locs = d.stackLocs.a;
      for (const i of lStack) {
        const s0 = d.stackStart.a[i];
        for (let j = s0; j < s0 + d.stackLen.a[i]; j++) mark(uLoc, lLoc, locs[j]);
      }
      for (const i of lLoc) {
        mark(uMap, lMap, d.locMapping.a[i]);
        const l0 = d.locLineStart.a[i];
        for (let l = l0; l < l0 + d.locLineCount.a[i]; l++) mark(uFn, lFn, d.lineFunction.a[l]);
        const a0 = d.locAttrStart.a[i];
        for (let a = a0; a < a0 + d.locAttrCount.a[i]; a++) mark(uAttr, lAttr, d.locAttrs.a[a]);
      }
      for (const i of lMap) {
        mark(uStr, lStr, d.mapFilename.a[i]);
        const a0 = d.mapAttrStart.a[i];
        for (let a = a0; a < a0 + d.mapAttrCount.a[i]; a++) mark(uAttr, lAttr, d.mapAttrs.a[a]);
      }
      for (const i of lFn) {
        mark(uStr, lStr, d.fnName.a[i]);
        mark(uStr, lStr, d.fnSystemName.a[i]);
        mark(uStr, lStr, d.fnFilename.a[i]);
      }
      for (const i of lAttr) {
        const kvu = d.attributes[i];
        mark(uStr, lStr, kvu.keyStrindex);
        mark(uStr, lStr, kvu.unitStrindex);
        any(kvu.value);
      }
    }
    // Entries keep the sender's order: numbered by rank among those in use.
    let whole = d !== undefined;
    for (let t = 0; t < 7; t++) {
      const list = lists[t];
      sortInUse(list, used[t]);
      const map = this.maps[t];
      for (let k = 1; k < list.length; k++) map[list[k]] = k;
      if (used[t].length === 0 || list.length !== used[t].length) whole = false;
    }
    return whole;
  }

  private remap(t: number, i: number): number {
    const map = this.maps[t];
    return i > 0 && i < map.length ? map[i] : 0;
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
      this.entries(LOC, DICTIONARY.locationTable, d.locAt.a, d.locEnd.a);
      this.entries(FN, DICTIONARY.functionTable, d.fnAt.a, d.fnEnd.a);
      const links = this.lists[LINK];
      if (links.length === 0) w.zeroLink();
      for (const i of links) {
        const e = w.open(DICTIONARY.linkTable);
        w.copy(this.bytes, d.linkAt.a[i], d.linkEnd.a[i]);
        w.close(e);
      }
      const strings = this.lists[STR];
      if (strings.length === 0) w.close(w.open(DICTIONARY.stringTable));
      const strStart = d.strStart.a;
      const strLen = d.strLen.a;
      for (let k = 0; k < strings.length; ) {
        // A run of strings in use that lie one after the other in the request, each field just
        // a one-byte tag and the shortest length (nothing else fits between them), is copied in
        // one piece after the first one's tag and length: a string field holds no index.
        const first = strings[k];
        let end = strStart[first] + strLen[first];
        for (k++; k < strings.length; k++) {
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
      const tables = [DICTIONARY.mappingTable, DICTIONARY.locationTable, DICTIONARY.functionTable, DICTIONARY.stringTable, DICTIONARY.attributeTable, DICTIONARY.stackTable];
      for (const fieldNo of tables) w.close(w.open(fieldNo));
      w.zeroLink();
    }
    w.close(s);
  }

  /** The entries in use of table `t` (mappings, locations, functions, attributes), rewritten from where they lie in the request. */
  private entries(t: number, fieldNo: number, at: Int32Array, end: Int32Array): void {
    const w = this.w;
    const r = this.r;
    const list = this.lists[t];
    if (list.length === 0) w.close(w.open(fieldNo));
    for (const i of list) {
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
    const list = this.lists[STACK];
    if (list.length === 0) w.close(w.open(DICTIONARY.stackTable));
    const locs = d.stackLocs.a;
    const locMap = this.maps[LOC];
    for (const i of list) {
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
