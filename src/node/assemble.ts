import { frameLines, linesKey, type SimpleValue } from '../otlp/frame.js';
import {
  DICTIONARY,
  FIXED64,
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
  STACK,
  VALUE_TYPE,
} from '../otlp/wire/fields.js';
import { MessageWriter, varintSize } from '../otlp/wire/message-writer.js';
import type { RequestStats } from '../pipeline/request-stats.js';
import type { SymFrame } from './symbolize/symbolizer.js';

/** One symbolized, attributed stack with its count, ready for the request. */
export interface ResolvedSample {
  resource: Record<string, SimpleValue>;
  /** Leaf first: kernel frames, then user frames. */
  frames: SymFrame[];
  attributes: Record<string, SimpleValue>;
  /** CPU samples (RequestAssembler.add); nanoseconds off the CPU (RequestAssembler.addOffCpu). */
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

/**
 * Dictionary entries live in an {@link AssemblerCache} from flush to flush; each record knows
 * the flush (`gen`) it was last used in and its index in that flush's table, so a flush that
 * uses an entry again only numbers it (no key string built or hashed, nothing allocated).
 */
interface Used {
  gen: number;
  index: number;
}

interface StringRec extends Used {
  s: string;
}

interface AttributeRec extends Used {
  key: StringRec;
  value: SimpleValue;
}

interface FunctionRec extends Used {
  name: StringRec;
  file: StringRec;
}

interface MappingRec extends Used {
  file: StringRec;
  /** The PT_LOAD segment's virtual address range and file offset; 0 when unknown. */
  start: number;
  limit: number;
  offset: number;
  attributes: AttributeRec[];
}

interface LocationRec extends Used {
  /** Identity among the cache's locations (for stack keys). */
  id: number;
  mapping: MappingRec | undefined;
  address: bigint;
  /** Callee first, as Location.lines. */
  functions: FunctionRec[];
  lines: number[];
  kind: AttributeRec | undefined;
}

interface StackRec extends Used {
  id: number;
  locations: LocationRec[];
}

interface AttributeSet {
  id: number;
  attributes: AttributeRec[];
}

interface SampleEntry {
  stack: StackRec;
  attributes: AttributeRec[];
  count: number;
}

interface ResourceEntry {
  resource: Record<string, SimpleValue>;
  /** CPU samples (counts); empty when the resource has off-CPU samples only. */
  samples: SampleEntry[];
  /** Samples by stack and attribute set (ids), for merging. */
  byKey: Map<string, SampleEntry>;
  /** Off-CPU samples (nanoseconds), merged as the CPU ones; undefined until the first. */
  offCpu: SampleEntry[] | undefined;
  offCpuByKey: Map<string, SampleEntry> | undefined;
}

/** `key`, computed once per object (weakly held: callers keep one object per resource). */
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

/** Entries not used for this many flushes leave the cache's key maps at its next prune. */
const CACHE_KEEP_FLUSHES = 60;

/**
 * The sampler's dictionary entries, kept from one flush to the next: every flush's request is
 * self-contained (its own dictionary, holding only what its samples use), but the strings,
 * functions, mappings, locations and stacks behind it are found by frame object identity and
 * carried over, so a steady-state flush builds almost nothing. (Flushes run once a second, so
 * this code rarely gets optimized: doing less per flush matters more than doing it fast.)
 */
export class AssemblerCache {
  /** The current flush; records used in it have this `gen`. */
  gen = 0;
  private readonly strings = new Map<string, StringRec>();
  private readonly functions = new Map<string, FunctionRec>();
  private readonly mappings = new Map<string, MappingRec>();
  private readonly attributes = new Map<string, AttributeRec>();
  private readonly locations = new Map<string, LocationRec>();
  private readonly stacks = new Map<string, StackRec>();
  private readonly frameLocations = new WeakMap<SymFrame, LocationRec>();
  private readonly frameStacks = new WeakMap<readonly SymFrame[], StackRec>();
  private readonly attributeSets = new WeakMap<Record<string, SimpleValue>, AttributeSet>();
  private ids = 0;

  /** Starts a flush: no record is used in it yet. Every CACHE_KEEP_FLUSHES flushes, forgets what has not been used since. */
  begin(): void {
    this.gen++;
    if (this.gen % CACHE_KEEP_FLUSHES === 0) {
      const before = this.gen - CACHE_KEEP_FLUSHES;
      for (const map of [this.strings, this.functions, this.mappings, this.attributes, this.locations, this.stacks] as Map<string, Used>[]) {
        for (const [k, r] of map) if (r.gen < before) map.delete(k);
      }
    }
  }

  string(s: string): StringRec {
    let r = this.strings.get(s);
    if (!r) this.strings.set(s, (r = { s, gen: -1, index: 0 }));
    return r;
  }

  attribute(key: string, value: SimpleValue): AttributeRec {
    const id = `${key}\0${typeof value}\0${value}`;
    let r = this.attributes.get(id);
    if (!r) this.attributes.set(id, (r = { key: this.string(key), value, gen: -1, index: 0 }));
    return r;
  }

  attributeSet(attributes: Record<string, SimpleValue>): AttributeSet {
    let r = this.attributeSets.get(attributes);
    if (!r) {
      r = { id: ++this.ids, attributes: Object.entries(attributes).map(([k, v]) => this.attribute(k, v)) };
      this.attributeSets.set(attributes, r);
    }
    return r;
  }

  stack(frames: readonly SymFrame[]): StackRec {
    let r = this.frameStacks.get(frames);
    if (r) return r;
    const locations = frames.map((f) => this.location(f));
    const key = locations.map((l) => l.id).join(',');
    r = this.stacks.get(key);
    if (!r) this.stacks.set(key, (r = { id: ++this.ids, locations, gen: -1, index: 0 }));
    this.frameStacks.set(frames, r);
    return r;
  }

  private location(f: SymFrame): LocationRec {
    let r = this.frameLocations.get(f);
    if (r) return r;
    const seg = f.segment;
    const mappingKey = f.binary ? `${f.binary}\0${f.buildId ?? ''}\0${seg ? seg.vaddr : ''}` : undefined;
    const lines = frameLines(f);
    const key = `${mappingKey ?? ''}\x02${f.address ?? 0n}\x02${f.kind ?? ''}\x02${linesKey(lines)}`;
    r = this.locations.get(key);
    if (!r) {
      let mapping: MappingRec | undefined;
      if (mappingKey !== undefined) {
        mapping = this.mappings.get(mappingKey);
        if (!mapping) {
          mapping = {
            file: this.string(f.binary!),
            start: seg?.vaddr ?? 0,
            limit: seg ? seg.vaddr + seg.filesz : 0,
            offset: seg?.offset ?? 0,
            attributes: f.buildId ? [this.attribute(BUILD_ID_ATTRIBUTE, f.buildId)] : [],
            gen: -1,
            index: 0,
          };
          this.mappings.set(mappingKey, mapping);
        }
      }
      r = {
        id: ++this.ids,
        mapping,
        address: f.address ?? 0n,
        functions: lines.map((l) => this.function(l.name, l.file ?? '')),
        lines: lines.map((l) => l.line ?? 0),
        kind: f.kind ? this.attribute(FRAME_TYPE_ATTRIBUTE, f.kind) : undefined,
        gen: -1,
        index: 0,
      };
      this.locations.set(key, r);
    }
    this.frameLocations.set(f, r);
    return r;
  }

  private function(name: string, file: string): FunctionRec {
    const id = `${name}\0${file}`;
    let r = this.functions.get(id);
    if (!r) this.functions.set(id, (r = { name: this.string(name), file: this.string(file), gen: -1, index: 0 }));
    return r;
  }
}

/**
 * Builds one ExportProfilesServiceRequest for a flush window and writes its protobuf encoding
 * directly (no message objects): a shared dictionary with the zero entry at index 0 of every
 * table, one ResourceProfiles per workload, CPU conventions (samples/count, cpu/nanoseconds,
 * period 1e9/hz), samples with equal stack and attributes merged.
 *
 * A workload may also carry an off-CPU profile ({@link addOffCpu}): a second Profile in the
 * same ScopeProfiles, sample type `off_cpu`/`nanoseconds` with no period, each value the
 * nanoseconds a stack waited, as the OpenTelemetry eBPF profiler sends it with
 * `-off-cpu-threshold` (each sample type is its own Profile; the UI keeps the two apart).
 * Without off-CPU samples the request is exactly the CPU-only one.
 *
 * Native code is addressed as the ELF file has it, as symbolizers (Grafana Pyroscope's among
 * them) and the OpenTelemetry eBPF profiler do: a location's address is the ELF virtual
 * address, its mapping one PT_LOAD segment of the binary (memory_start/limit its virtual
 * address range, file_offset where it starts in the file) with the GNU build id. ASLR puts a
 * library at a different address in every process; ELF addresses let all processes running
 * one binary share its mappings and locations.
 *
 * A sampler passes the same {@link AssemblerCache} to every flush's assembler (one assembler at
 * a time); without one, the assembler has its own.
 */
export class RequestAssembler {
  private readonly gen: number;
  private readonly stringTable: StringRec[] = [];
  private readonly functionTable: FunctionRec[] = [];
  private readonly mappingTable: MappingRec[] = [];
  private readonly attributeTable: AttributeRec[] = [];
  private readonly locationTable: LocationRec[] = [];
  private readonly stackTable: StackRec[] = [];
  private readonly resources = new Map<string, ResourceEntry>();
  private readonly resourceOrder: ResourceEntry[] = [];
  /** samples/count and cpu/nanoseconds, numbered with the first CPU sample. */
  private profileStrings: [number, number, number, number] | undefined;
  /** off_cpu/nanoseconds, numbered with the first off-CPU sample. */
  private offCpuStrings: [number, number] | undefined;
  private readonly empty: StringRec;
  /** CPU samples added. */
  samples = 0;
  /** Nanoseconds off the CPU added. */
  offCpuNanos = 0;

  constructor(
    private readonly o: { hz: number; windowStartMs: number; windowEndMs: number },
    private readonly cache = new AssemblerCache(),
  ) {
    cache.begin();
    this.gen = cache.gen;
    this.empty = cache.string('');
    this.useString(this.empty);
  }

  /** A CPU sample: `s.count` samples of that stack. */
  add(s: ResolvedSample): void {
    const stack = this.cache.stack(s.frames);
    this.useStack(stack);
    if (!this.profileStrings) {
      const c = this.cache;
      this.profileStrings = [
        this.useString(c.string('samples')),
        this.useString(c.string('count')),
        this.useString(c.string('cpu')),
        this.useString(c.string('nanoseconds')),
      ];
    }
    const r = this.resource(s.resource);
    this.samples += s.count;
    this.merge(r.samples, r.byKey, stack, s);
  }

  /** An off-CPU sample: that stack waited `s.count` nanoseconds off the CPU. */
  addOffCpu(s: ResolvedSample): void {
    const stack = this.cache.stack(s.frames);
    this.useStack(stack);
    if (!this.offCpuStrings) {
      const c = this.cache;
      this.offCpuStrings = [this.useString(c.string('off_cpu')), this.useString(c.string('nanoseconds'))];
    }
    const r = this.resource(s.resource);
    this.offCpuNanos += s.count;
    this.merge((r.offCpu ??= []), (r.offCpuByKey ??= new Map()), stack, s);
  }

  private resource(resource: Record<string, SimpleValue>): ResourceEntry {
    const resourceKey = resourceKeyOf(resource);
    let r = this.resources.get(resourceKey);
    if (!r) {
      r = { resource, samples: [], byKey: new Map(), offCpu: undefined, offCpuByKey: undefined };
      this.resources.set(resourceKey, r);
      this.resourceOrder.push(r);
    }
    return r;
  }

  private merge(samples: SampleEntry[], byKey: Map<string, SampleEntry>, stack: StackRec, s: ResolvedSample): void {
    // Callers pass one attributes object per process and thread name, so its set is made once.
    const set = this.cache.attributeSet(s.attributes);
    const key = `${stack.id}|${set.id}`;
    const existing = byKey.get(key);
    if (existing) {
      existing.count += s.count;
      return;
    }
    for (let i = 0; i < set.attributes.length; i++) this.useAttribute(set.attributes[i]);
    const sample: SampleEntry = { stack, attributes: set.attributes, count: s.count };
    samples.push(sample);
    byKey.set(key, sample);
  }

  /** The request's protobuf encoding (ExportProfilesServiceRequest) and its counts. */
  encode(): EncodedFlush {
    const w = new MessageWriter(4096 + this.stringTable.length * 32 + this.locationTable.length * 24);
    let samples = 0;
    let profiles = 0;
    for (let i = 0; i < this.resourceOrder.length; i++) {
      const r = this.resourceOrder[i];
      samples += r.samples.length + (r.offCpu?.length ?? 0);
      profiles += (r.samples.length > 0 ? 1 : 0) + (r.offCpu ? 1 : 0);
      this.writeResourceProfiles(w, r);
    }
    const dict = w.open(REQUEST.dictionary);
    this.writeDictionary(w);
    w.close(dict);
    return { bytes: w.finish(), stats: { profiles, samples } };
  }

  // Loops here index arrays rather than use for-of: the sampler runs this code without the
  // optimizing compiler, where every for-of step allocates an iterator result.

  // Numbering: a record gets this request's next index the first time the request uses it,
  // in the order the message builder would (mapping, then each line's function, then the frame
  // type; names before files), so equal samples give byte-equal requests.

  private useString(r: StringRec): number {
    if (r.gen !== this.gen) {
      r.gen = this.gen;
      r.index = this.stringTable.push(r) - 1;
    }
    return r.index;
  }

  private useAttribute(r: AttributeRec): number {
    if (r.gen !== this.gen) {
      this.useString(r.key);
      r.gen = this.gen;
      r.index = this.attributeTable.push(r); // index 0 is the zero attribute
    }
    return r.index;
  }

  private useStack(r: StackRec): void {
    if (r.gen === this.gen) return;
    for (let i = 0; i < r.locations.length; i++) this.useLocation(r.locations[i]);
    r.gen = this.gen;
    r.index = this.stackTable.push(r); // index 0 is the empty stack
  }

  private useLocation(r: LocationRec): void {
    if (r.gen === this.gen) return;
    const m = r.mapping;
    if (m && m.gen !== this.gen) {
      this.useString(m.file);
      for (let i = 0; i < m.attributes.length; i++) this.useAttribute(m.attributes[i]);
      m.gen = this.gen;
      m.index = this.mappingTable.push(m);
    }
    for (let i = 0; i < r.functions.length; i++) {
      const f = r.functions[i];
      if (f.gen === this.gen) continue;
      this.useString(f.name);
      this.useString(f.file);
      f.gen = this.gen;
      f.index = this.functionTable.push(f);
    }
    if (r.kind) this.useAttribute(r.kind);
    r.gen = this.gen;
    r.index = this.locationTable.push(r);
  }

  private writeResourceProfiles(w: MessageWriter, r: ResourceEntry): void {
    const rp = w.open(REQUEST.resourceProfiles);
    const res = w.open(RESOURCE_PROFILES.resource);
    for (const key in r.resource) {
      const value = r.resource[key];
      const kv = w.open(RESOURCE.attributes);
      w.string(KEY_VALUE.key, key);
      const v = w.open(KEY_VALUE.value);
      w.anyValue(value);
      w.close(v);
      w.close(kv);
    }
    w.close(res);
    const sp = w.open(RESOURCE_PROFILES.scopeProfiles);
    const scope = w.open(SCOPE_PROFILES.scope);
    w.string(SCOPE.name, SCOPE_NAME);
    w.close(scope);
    if (r.samples.length > 0) {
      const [st, su, pt, pu] = this.profileStrings!;
      this.writeProfile(w, st, su, r.samples, [pt, pu]);
    }
    if (r.offCpu) {
      const [st, su] = this.offCpuStrings!;
      this.writeProfile(w, st, su, r.offCpu, undefined);
    }
    w.close(sp);
    w.close(rp);
  }

  /** One ScopeProfiles.profiles: its sample type, samples (one value each), window and, for CPU, period. */
  private writeProfile(w: MessageWriter, st: number, su: number, samples: SampleEntry[], period: [number, number] | undefined): void {
    const p = w.open(SCOPE_PROFILES.profiles);
    const sampleType = w.open(PROFILE.sampleType);
    w.uint(VALUE_TYPE.typeStrindex, st);
    w.uint(VALUE_TYPE.unitStrindex, su);
    w.close(sampleType);
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i];
      const m = w.open(PROFILE.samples);
      w.uint(SAMPLE.stackIndex, s.stack.index);
      w.packedIndices(SAMPLE.attributeIndices, s.attributes);
      w.tag(SAMPLE.values, LEN); // packed int64, one value
      w.varint(varintSize(s.count));
      w.uint64(s.count);
      w.close(m);
    }
    const startMs = Math.round(this.o.windowStartMs);
    if (startMs > 0) {
      w.tag(PROFILE.timeUnixNano, FIXED64);
      w.fixed64(BigInt(startMs) * 1_000_000n);
    }
    const durationMs = Math.max(0, Math.round(this.o.windowEndMs - this.o.windowStartMs));
    w.uint64Field(PROFILE.durationNano, durationMs * 1_000_000);
    if (period) {
      const periodType = w.open(PROFILE.periodType);
      w.uint(VALUE_TYPE.typeStrindex, period[0]);
      w.uint(VALUE_TYPE.unitStrindex, period[1]);
      w.close(periodType);
      w.uint64Field(PROFILE.period, Math.round(1e9 / this.o.hz));
    }
    w.close(p);
  }

  private writeDictionary(w: MessageWriter): void {
    w.empty(DICTIONARY.mappingTable); // the zero mapping
    for (let i = 0; i < this.mappingTable.length; i++) {
      const r = this.mappingTable[i];
      const m = w.open(DICTIONARY.mappingTable);
      w.uint64Field(MAPPING.memoryStart, r.start);
      w.uint64Field(MAPPING.memoryLimit, r.limit);
      w.uint64Field(MAPPING.fileOffset, r.offset);
      w.uint(MAPPING.filenameStrindex, r.file.index);
      w.packedIndices(MAPPING.attributeIndices, r.attributes);
      w.close(m);
    }
    w.empty(DICTIONARY.locationTable); // the zero location
    for (let i = 0; i < this.locationTable.length; i++) {
      const l = this.locationTable[i];
      const m = w.open(DICTIONARY.locationTable);
      if (l.mapping) w.uint(LOCATION.mappingIndex, l.mapping.index);
      w.uint64Field(LOCATION.address, l.address);
      for (let j = 0; j < l.functions.length; j++) {
        const line = w.open(LOCATION.lines);
        w.uint(LINE.functionIndex, l.functions[j].index);
        w.uint64Field(LINE.line, Math.max(0, l.lines[j]));
        w.close(line);
      }
      if (l.kind) w.packedIndices(LOCATION.attributeIndices, [l.kind]);
      w.close(m);
    }
    w.empty(DICTIONARY.functionTable); // the zero function
    for (let i = 0; i < this.functionTable.length; i++) {
      const f = this.functionTable[i];
      const m = w.open(DICTIONARY.functionTable);
      w.uint(FUNCTION.nameStrindex, f.name.index);
      w.uint(FUNCTION.filenameStrindex, f.file.index);
      w.close(m);
    }
    w.zeroLink();
    for (let i = 0; i < this.stringTable.length; i++) w.string(DICTIONARY.stringTable, this.stringTable[i].s, true);
    w.empty(DICTIONARY.attributeTable); // the zero attribute
    for (let i = 0; i < this.attributeTable.length; i++) {
      const a = this.attributeTable[i];
      const m = w.open(DICTIONARY.attributeTable);
      w.uint(KEY_VALUE_AND_UNIT.keyStrindex, a.key.index);
      const v = w.open(KEY_VALUE_AND_UNIT.value);
      w.anyValue(a.value);
      w.close(v);
      w.close(m);
    }
    w.empty(DICTIONARY.stackTable); // the empty stack
    for (let i = 0; i < this.stackTable.length; i++) {
      const m = w.open(DICTIONARY.stackTable);
      w.packedIndices(STACK.locationIndices, this.stackTable[i].locations);
      w.close(m);
    }
  }
}
