import type { AnyValue, KeyValue } from '../messages.js';
import type { WireDictionary } from './dictionary.js';
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

// Messages the writer rewrites (`message`).
const RESOURCE = 0;
const SCOPE_PROFILES = 1;
const SCOPE = 2;
const PROFILE = 3;
const VALUE_TYPE = 4;
const SAMPLE = 5;
const KEY_VALUE = 6;
const ANY_VALUE = 7;
const ARRAY_VALUE = 8;
const KEY_VALUE_LIST = 9;
const LINE = 10;

/** Marks entry `i` of a table as used and lists it (out of range is "unset"). */
function mark(used: Uint8Array, list: number[], i: number): void {
  if (i >= 0 && i < used.length && used[i] === 0) {
    used[i] = 1;
    list.push(i);
  }
}

function ascending(a: number, b: number): number {
  return a - b;
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
      const s = w.open(1);
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
      list.sort(ascending);
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
    if (wireType === 2) {
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
  private message(fieldNo: number, kind: number): void {
    const len = this.r.uint32();
    const s = this.w.open(fieldNo);
    const end = this.r.pos + len;
    switch (kind) {
      case RESOURCE:
        this.resource(end);
        break;
      case SCOPE_PROFILES:
        this.scopeProfiles(end);
        break;
      case SCOPE:
        this.scope(end);
        break;
      case PROFILE:
        this.profile(end);
        break;
      case VALUE_TYPE:
        this.valueType(end);
        break;
      case SAMPLE:
        this.sample(end);
        break;
      case KEY_VALUE:
        this.keyValue(end);
        break;
      case ANY_VALUE:
        this.anyValue(end);
        break;
      case ARRAY_VALUE:
        this.repeated(end, ANY_VALUE);
        break;
      case KEY_VALUE_LIST:
        this.repeated(end, KEY_VALUE);
        break;
      case LINE:
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
        case 1:
          this.message(1, RESOURCE);
          break;
        case 2:
          this.message(2, SCOPE_PROFILES);
          break;
        case 3:
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
        case 1:
          this.message(1, KEY_VALUE);
          break;
        case 2:
          r.uint32();
          this.copied(at);
          break;
        case 3: {
          // EntityRef: strings only; copied as read.
          const e = r.uint32() + r.pos;
          while (r.pos < e) {
            const t = r.tag();
            if (t >>> 3 >= 1 && t >>> 3 <= 4) r.bytesLength();
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
        case 1:
          this.message(1, SCOPE);
          break;
        case 2:
          this.message(2, PROFILE);
          break;
        case 3:
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
        case 1:
        case 2:
          r.bytesLength();
          this.copied(at);
          break;
        case 3:
          this.message(3, KEY_VALUE);
          break;
        case 4:
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
        case 1:
          this.message(1, VALUE_TYPE);
          break;
        case 2:
          this.message(2, SAMPLE);
          break;
        case 3:
          r.fixed64();
          this.copied(at);
          break;
        case 4:
        case 6:
        case 8:
          r.varint64();
          this.copied(at);
          break;
        case 5:
          this.message(5, VALUE_TYPE);
          break;
        case 7:
        case 9:
        case 10:
          r.bytesLength();
          this.copied(at);
          break;
        case 11:
          this.indices(11, tag & 7, ATTR);
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
      if (no === 1 || no === 2) this.index(no, STR);
      else r.skip(tag & 7, no, RECURSION_LIMIT - 5);
    }
  }

  private sample(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case 1:
          this.index(1, STACK);
          break;
        case 2:
          this.indices(2, tag & 7, ATTR);
          break;
        case 3:
          this.index(3, LINK);
          break;
        case 4:
          if ((tag & 7) === 2) {
            const e = r.uint32() + r.pos;
            while (r.pos < e) r.varint64();
          } else {
            r.varint64();
          }
          this.copied(at);
          break;
        case 5:
          if ((tag & 7) === 2) {
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
        case 1:
          r.bytesLength();
          this.copied(at);
          break;
        case 2:
          this.message(2, ANY_VALUE);
          break;
        case 3:
          this.index(3, STR);
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
        case 1:
        case 7:
          r.bytesLength();
          this.copied(at);
          break;
        case 2:
        case 3:
          r.varint64();
          this.copied(at);
          break;
        case 4:
          r.double();
          this.copied(at);
          break;
        case 5:
          // ArrayValue: values = 1 (AnyValue).
          this.message(5, ARRAY_VALUE);
          break;
        case 6:
          // KeyValueList: values = 1 (KeyValue).
          this.message(6, KEY_VALUE_LIST);
          break;
        case 8:
          this.index(8, STR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 6);
      }
    }
  }

  /** ArrayValue / KeyValueList: one field (1), a repeated message of `kind`. */
  private repeated(end: number, kind: number): void {
    const r = this.r;
    while (r.pos < end) {
      const tag = r.tag();
      if (tag >>> 3 === 1) this.message(1, kind);
      else r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 6);
    }
  }

  private dictionary(): void {
    const d = this.d;
    const w = this.w;
    const r = this.r;
    const s = w.open(2);
    const m = this.maps;
    // Entry 0, then the entries in use, in the sender's order; an empty table gets the zero entry.
    const each = (t: number, emit: (i: number) => void, zero: () => void): void => {
      const list = this.lists[t];
      if (list.length === 0) return zero();
      for (const i of list) emit(i);
    };
    const entry = (fieldNo: number, at: Int32Array, end: Int32Array, body: (end: number) => void) => (i: number) => {
      const e = w.open(fieldNo);
      r.pos = at[i];
      body(end[i]);
      w.close(e);
    };
    const empty = (fieldNo: number) => () => w.close(w.open(fieldNo));
    if (d) {
      each(MAP, entry(1, d.mapAt.a, d.mapEnd.a, (e) => this.mapping(e)), empty(1));
      each(LOC, entry(2, d.locAt.a, d.locEnd.a, (e) => this.location(e)), empty(2));
      each(FN, entry(3, d.fnAt.a, d.fnEnd.a, (e) => this.function(e)), empty(3));
      each(
        LINK,
        (i) => {
          const e = w.open(4);
          w.copy(this.bytes, d.linkAt.a[i], d.linkEnd.a[i]);
          w.close(e);
        },
        () => this.w.zeroLink(),
      );
      each(
        STR,
        (i) => {
          w.tag(5, 2);
          w.varint(d.strLen.a[i]);
          w.copy(this.bytes, d.strStart.a[i], d.strStart.a[i] + d.strLen.a[i]);
        },
        empty(5),
      );
      each(ATTR, entry(6, d.attrAt.a, d.attrEnd.a, (e) => this.keyValueAndUnit(e)), empty(6));
      const locs = d.stackLocs.a;
      const locMap = m[LOC];
      each(
        STACK,
        (i) => {
          const e = w.open(7);
          const n = d.stackLen.a[i];
          if (n > 0) {
            const l = w.open(1);
            const s0 = d.stackStart.a[i];
            for (let j = s0; j < s0 + n; j++) {
              const loc = locs[j];
              w.varint(loc > 0 && loc < locMap.length ? locMap[loc] : 0);
            }
            w.close(l);
          }
          w.close(e);
        },
        empty(7),
      );
    } else {
      for (const fieldNo of [1, 2, 3, 5, 6, 7]) empty(fieldNo)();
      this.w.zeroLink();
    }
    w.close(s);
  }

  private mapping(end: number): void {
    const r = this.r;
    while (r.pos < end) {
      const at = r.pos;
      const tag = r.tag();
      switch (tag >>> 3) {
        case 1:
        case 2:
        case 3:
          r.varint64();
          this.copied(at);
          break;
        case 4:
          this.index(4, STR);
          break;
        case 5:
          this.indices(5, tag & 7, ATTR);
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
        case 1:
          this.index(1, MAP);
          break;
        case 2:
          r.varint64();
          this.copied(at);
          break;
        case 3:
          this.message(3, LINE);
          break;
        case 4:
          this.indices(4, tag & 7, ATTR);
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
        case 1:
          this.index(1, FN);
          break;
        case 2:
        case 3:
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
      if (no >= 1 && no <= 3) {
        this.index(no, STR);
      } else if (no === 4) {
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
        case 1:
          this.index(1, STR);
          break;
        case 2:
          this.message(2, ANY_VALUE);
          break;
        case 3:
          this.index(3, STR);
          break;
        default:
          r.skip(tag & 7, tag >>> 3, RECURSION_LIMIT - 3);
      }
    }
  }
}
