import type { SimpleValue } from '../otlp/builder.js';
import { WireWriter } from '../otlp/wire/writer.js';
import type { RequestStats } from '../pipeline/request-stats.js';
import type { SymFrame } from './symbolize/symbolizer.js';

/** One symbolized, attributed stack with its count, ready for the request. */
export interface ResolvedSample {
  resource: Record<string, SimpleValue>;
  /** Leaf first: kernel frames, then user frames. */
  frames: SymFrame[];
  attributes: Record<string, SimpleValue>;
  count: number;
}

export const BUILD_ID_ATTRIBUTE = 'process.executable.build_id.gnu';
export const FRAME_TYPE_ATTRIBUTE = 'profile.frame.type';
/** The instrumentation scope of the sampler's profiles. */
export const SCOPE_NAME = 'pilotlight';

/** A flush's request: its protobuf encoding and the counts the exporter logs and meters. */
export interface EncodedFlush {
  bytes: Uint8Array;
  stats: RequestStats;
}

interface LocationEntry {
  mapping: number;
  address: bigint;
  /** Function index per line (callee first, as Location.lines), and the line numbers. */
  functions: number[];
  lines: number[];
  /** Index of the profile.frame.type attribute, 0 for none. */
  kindAttribute: number;
}

interface AttributeEntry {
  key: number;
  value: SimpleValue;
}

interface SampleEntry {
  stack: number;
  attributes: number[];
  count: number;
}

interface ResourceEntry {
  resource: Record<string, SimpleValue>;
  samples: SampleEntry[];
  byKey: Map<string, SampleEntry>;
}

/**
 * What a frame object's dictionary entries are keyed by, computed once per frame object: the
 * symbolizer and demangler hand out the same objects flush after flush, so a flush builds no
 * key strings for frames it has seen before. (Flushes run once a second, so this code rarely
 * gets optimized: doing less per flush matters more than doing it fast.)
 */
interface FrameKeys {
  location: string;
  mapping: string | undefined;
}
const frameKeys = new WeakMap<SymFrame, FrameKeys>();

function keysOf(f: SymFrame): FrameKeys {
  let k = frameKeys.get(f);
  if (!k) {
    const mapping = f.binary ? `${f.binary}\0${f.buildId ?? ''}` : undefined;
    const lines = [...(f.inlined ?? []), ...(f.name !== undefined ? [{ name: f.name, file: f.file, line: f.line }] : [])];
    const lineKey = lines.map((l) => `${l.name}\0${l.file ?? ''}\0${l.line ?? 0}`).join('\x01');
    k = { location: `${mapping ?? ''}\x02${f.address ?? 0n}\x02${f.kind ?? ''}\x02${lineKey}`, mapping };
    frameKeys.set(f, k);
  }
  return k;
}

/** `key`, computed once per object (weakly held: callers keep one object per resource or process). */
function onePerObject<T extends object>(key: (o: T) => string): (o: T) => string {
  const keys = new WeakMap<T, string>();
  return (o) => {
    let k = keys.get(o);
    if (k === undefined) keys.set(o, (k = key(o)));
    return k;
  };
}

/** A resource's identity: its attributes, in key order. */
const resourceKeyOf = onePerObject<Record<string, SimpleValue>>((resource) =>
  JSON.stringify(Object.entries(resource).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
);

/** A sample attribute set's identity. */
const attributeSetKeyOf = onePerObject<Record<string, SimpleValue>>((attributes) =>
  Object.entries(attributes)
    .map(([name, v]) => `${name}=${typeof v}:${v}`)
    .sort()
    .join('\0'),
);

/**
 * Builds one ExportProfilesServiceRequest for a flush window and writes its protobuf encoding
 * directly (no message objects): a shared dictionary with the zero entry at index 0 of every
 * table, one ResourceProfiles per workload, CPU conventions (samples/count, cpu/nanoseconds,
 * period 1e9/hz), samples with equal stack and attributes merged.
 *
 * Mappings are per binary (start 0, offset 0) and native locations carry the file offset as
 * their address: ASLR puts a library at a different address in every process, and normalising
 * lets all processes running one binary share its locations.
 */
export class RequestAssembler {
  private readonly strings = new Map<string, number>([['', 0]]);
  private readonly stringTable: string[] = [''];
  private readonly functions = new Map<string, number>();
  /** Name and file string indices per function (index 0 is the zero function). */
  private readonly functionTable: [number, number][] = [[0, 0]];
  private readonly mappings = new Map<string, number>();
  /** File string index and attribute indices per mapping. */
  private readonly mappingTable: [number, number[]][] = [[0, []]];
  private readonly attributes = new Map<string, number>();
  private readonly attributeTable: (AttributeEntry | undefined)[] = [undefined];
  private readonly locations = new Map<string, number>();
  private readonly locationTable: (LocationEntry | undefined)[] = [undefined];
  /** Per frame object, its location index in this request. */
  private readonly frameLocations = new Map<SymFrame, number>();
  private readonly stacks = new Map<string, number>();
  private readonly stackTable: number[][] = [[]];
  /** Per sample attributes object, its attribute indices in this request. */
  private readonly sampleAttributes = new Map<Record<string, SimpleValue>, number[]>();
  private readonly resources = new Map<string, ResourceEntry>();
  private readonly resourceOrder: ResourceEntry[] = [];
  /** samples/count and cpu/nanoseconds, interned with the first profile. */
  private profileStrings: [number, number, number, number] = [0, 0, 0, 0];
  samples = 0;

  constructor(private readonly o: { hz: number; windowStartMs: number; windowEndMs: number }) {}

  add(s: ResolvedSample): void {
    const locs: number[] = new Array<number>(s.frames.length);
    for (let i = 0; i < s.frames.length; i++) locs[i] = this.location(s.frames[i]);
    const stackKey = locs.join(',');
    let stack = this.stacks.get(stackKey);
    if (stack === undefined) {
      stack = this.stackTable.push(locs) - 1;
      this.stacks.set(stackKey, stack);
    }
    const resourceKey = resourceKeyOf(s.resource);
    let r = this.resources.get(resourceKey);
    if (!r) {
      if (this.resourceOrder.length === 0) this.profileStrings = [this.string('samples'), this.string('count'), this.string('cpu'), this.string('nanoseconds')];
      r = { resource: s.resource, samples: [], byKey: new Map() };
      this.resources.set(resourceKey, r);
      this.resourceOrder.push(r);
    }
    this.samples += s.count;
    // Callers pass one attributes object per process and thread name, so its key is built once.
    const key = `${stack}|${attributeSetKeyOf(s.attributes)}`;
    const existing = r.byKey.get(key);
    if (existing) {
      existing.count += s.count;
      return;
    }
    let attrs = this.sampleAttributes.get(s.attributes);
    if (!attrs) {
      attrs = Object.entries(s.attributes).map(([k, v]) => this.attribute(k, v));
      this.sampleAttributes.set(s.attributes, attrs);
    }
    const sample: SampleEntry = { stack, attributes: attrs, count: s.count };
    r.samples.push(sample);
    r.byKey.set(key, sample);
  }

  /** The request's protobuf encoding (ExportProfilesServiceRequest) and its counts. */
  encode(): EncodedFlush {
    const w = new RequestWriter(4096 + this.stringTable.length * 32 + this.locationTable.length * 24);
    let samples = 0;
    for (const r of this.resourceOrder) {
      samples += r.samples.length;
      this.writeResourceProfiles(w, r);
    }
    const dict = w.open(2);
    this.writeDictionary(w);
    w.close(dict);
    return { bytes: w.finish(), stats: { profiles: this.resourceOrder.length, samples } };
  }

  private string(s: string): number {
    let i = this.strings.get(s);
    if (i === undefined) {
      i = this.stringTable.push(s) - 1;
      this.strings.set(s, i);
    }
    return i;
  }

  private attribute(key: string, value: SimpleValue): number {
    const id = `${key}\0${typeof value}\0${value}`;
    let i = this.attributes.get(id);
    if (i === undefined) {
      i = this.attributeTable.push({ key: this.string(key), value }) - 1;
      this.attributes.set(id, i);
    }
    return i;
  }

  private function(name: string, file: string): number {
    const id = `${name}\0${file}`;
    let i = this.functions.get(id);
    if (i === undefined) {
      i = this.functionTable.push([this.string(name), this.string(file)]) - 1;
      this.functions.set(id, i);
    }
    return i;
  }

  private location(f: SymFrame): number {
    let loc = this.frameLocations.get(f);
    if (loc !== undefined) return loc;
    const keys = keysOf(f);
    loc = this.locations.get(keys.location);
    if (loc === undefined) {
      let mapping = 0;
      if (keys.mapping !== undefined) {
        const m = this.mappings.get(keys.mapping);
        if (m !== undefined) mapping = m;
        else {
          const file = this.string(f.binary!);
          const attrs = f.buildId ? [this.attribute(BUILD_ID_ATTRIBUTE, f.buildId)] : [];
          mapping = this.mappingTable.push([file, attrs]) - 1;
          this.mappings.set(keys.mapping, mapping);
        }
      }
      const functions: number[] = [];
      const lines: number[] = [];
      for (const l of f.inlined ?? []) {
        functions.push(this.function(l.name, l.file ?? ''));
        lines.push(l.line ?? 0);
      }
      if (f.name !== undefined) {
        functions.push(this.function(f.name, f.file ?? ''));
        lines.push(f.line ?? 0);
      }
      const kindAttribute = f.kind ? this.attribute(FRAME_TYPE_ATTRIBUTE, f.kind) : 0;
      loc = this.locationTable.push({ mapping, address: f.address ?? 0n, functions, lines, kindAttribute }) - 1;
      this.locations.set(keys.location, loc);
    }
    this.frameLocations.set(f, loc);
    return loc;
  }

  private writeResourceProfiles(w: RequestWriter, r: ResourceEntry): void {
    const rp = w.open(1); // ExportProfilesServiceRequest.resource_profiles
    const res = w.open(1); // ResourceProfiles.resource
    for (const [key, value] of Object.entries(r.resource)) {
      const kv = w.open(1); // Resource.attributes
      w.string(1, key);
      const v = w.open(2);
      w.anyValue(value);
      w.close(v);
      w.close(kv);
    }
    w.close(res);
    const sp = w.open(2); // ResourceProfiles.scope_profiles
    const scope = w.open(1);
    w.string(1, SCOPE_NAME);
    w.close(scope);
    const p = w.open(2); // ScopeProfiles.profiles
    const [st, su, pt, pu] = this.profileStrings;
    const sampleType = w.open(1);
    w.uint(1, st);
    w.uint(2, su);
    w.close(sampleType);
    for (const s of r.samples) {
      const m = w.open(2); // Profile.samples
      w.uint(1, s.stack);
      w.packed(2, s.attributes);
      w.tag(4, 2); // values: packed int64, one value
      w.varint(varintSize(s.count));
      w.uint64(s.count);
      w.close(m);
    }
    const startMs = Math.round(this.o.windowStartMs);
    if (startMs > 0) {
      w.tag(3, 1);
      w.fixed64(BigInt(startMs) * 1_000_000n);
    }
    const durationMs = Math.max(0, Math.round(this.o.windowEndMs - this.o.windowStartMs));
    w.uint64Field(4, durationMs * 1_000_000);
    const periodType = w.open(5);
    w.uint(1, pt);
    w.uint(2, pu);
    w.close(periodType);
    w.uint64Field(6, Math.round(1e9 / this.o.hz));
    w.close(p);
    w.close(sp);
    w.close(rp);
  }

  private writeDictionary(w: RequestWriter): void {
    for (let i = 0; i < this.mappingTable.length; i++) {
      const [file, attrs] = this.mappingTable[i];
      const m = w.open(1);
      w.uint(4, file);
      w.packed(5, attrs);
      w.close(m);
    }
    for (let i = 0; i < this.locationTable.length; i++) {
      const l = this.locationTable[i];
      const m = w.open(2);
      if (l) {
        w.uint(1, l.mapping);
        w.uint64Field(2, l.address);
        for (let j = 0; j < l.functions.length; j++) {
          const line = w.open(3);
          w.uint(1, l.functions[j]);
          w.uint64Field(2, Math.max(0, l.lines[j]));
          w.close(line);
        }
        if (l.kindAttribute > 0) w.packed(4, [l.kindAttribute]);
      }
      w.close(m);
    }
    for (let i = 0; i < this.functionTable.length; i++) {
      const [name, file] = this.functionTable[i];
      const m = w.open(3);
      w.uint(1, name);
      w.uint(3, file);
      w.close(m);
    }
    w.zeroLink();
    for (const s of this.stringTable) w.string(5, s, true);
    for (let i = 0; i < this.attributeTable.length; i++) {
      const a = this.attributeTable[i];
      const m = w.open(6);
      if (a) {
        w.uint(1, a.key);
        const v = w.open(2);
        w.anyValue(a.value);
        w.close(v);
      }
      w.close(m);
    }
    for (const locs of this.stackTable) {
      const m = w.open(7);
      w.packed(1, locs);
      w.close(m);
    }
  }
}

/** Bytes of an unsigned varint. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

const utf8 = new TextEncoder();

/** The wire writer with the scalar fields a request needs (proto3: zero values are left out). */
class RequestWriter extends WireWriter {
  /** A non-negative int32/uint32 field; nothing for 0. */
  uint(fieldNo: number, value: number): void {
    if (value === 0) return;
    this.tag(fieldNo, 0);
    this.varint(value);
  }

  /** A uint64/int64 field of a non-negative value; nothing for 0. */
  uint64Field(fieldNo: number, value: number | bigint): void {
    if (value === 0 || value === 0n) return;
    this.tag(fieldNo, 0);
    this.uint64(value);
  }

  /** An unsigned 64-bit varint from a non-negative safe integer or a bigint. */
  uint64(value: number | bigint): void {
    if (typeof value === 'bigint') {
      if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= 0n) value = Number(value);
      else {
        let v = BigInt.asUintN(64, value);
        this.ensure(10);
        while (v > 0x7fn) {
          this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
          v >>= 7n;
        }
        this.buf[this.pos++] = Number(v);
        return;
      }
    }
    this.ensure(10);
    let n = value;
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  fixed64(value: bigint): void {
    const v = BigInt.asUintN(64, value);
    this.fixed32(Number(v & 0xffffffffn));
    this.fixed32(Number(v >> 32n));
  }

  private fixed32(n: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.pos++] = n & 0xff;
    b[this.pos++] = (n >>> 8) & 0xff;
    b[this.pos++] = (n >>> 16) & 0xff;
    b[this.pos++] = (n >>> 24) & 0xff;
  }

  /** A string field (UTF-8); an empty one only when `always` (a repeated field's element). */
  string(fieldNo: number, s: string, always = false): void {
    if (s === '' && !always) return;
    this.tag(fieldNo, 2);
    // Most names are ASCII: copied byte by byte, with the length known up front.
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      this.varint(s.length);
      this.ensure(s.length);
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    const bytes = utf8.encode(s);
    this.varint(bytes.length);
    this.copy(bytes, 0, bytes.length);
  }

  /** A packed repeated int32 field of non-negative values; nothing when empty. */
  packed(fieldNo: number, values: readonly number[]): void {
    if (values.length === 0) return;
    let size = 0;
    for (const v of values) size += varintSize(v);
    this.tag(fieldNo, 2);
    this.varint(size);
    for (const v of values) this.varint(v);
  }

  /** The AnyValue message body for a simple value. */
  anyValue(value: SimpleValue): void {
    if (typeof value === 'string') {
      this.string(1, value, true);
    } else if (typeof value === 'boolean') {
      this.tag(2, 0);
      this.varint(value ? 1 : 0);
    } else if (Number.isInteger(value)) {
      this.tag(3, 0);
      this.uint64(value >= 0 && value <= Number.MAX_SAFE_INTEGER ? value : BigInt(value));
    } else {
      this.tag(4, 1);
      const f = new DataView(new ArrayBuffer(8));
      f.setFloat64(0, value, true);
      this.fixed32(f.getUint32(0, true));
      this.fixed32(f.getUint32(4, true));
    }
  }
}
