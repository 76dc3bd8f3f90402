import { fromBinary } from '@bufbuild/protobuf';
import { gzipSync } from 'node:zlib';
import { makeFleetRequest, rng } from './helpers/gen.js';
import { RequestBuilder } from '../src/otlp/builder.js';
import { decodeRequest, encodeRequest, gunzipBoundedSync, requestToJson, type Encoding } from '../src/otlp/codec.js';
import { OtlpInputError, OtlpValidationError } from '../src/otlp/errors.js';
import { ExportProfilesServiceRequestSchema, type AnyValue, type ExportProfilesServiceRequest, type KeyValue } from '../src/otlp/messages.js';
import { readRequest, wireStats } from '../src/otlp/read-request.js';
import type { WireRequest } from '../src/otlp/wire/request.js';
import { encodedBatch } from '../src/pipeline/consumer.js';
import { aggregateEncoded, aggregateWire } from '../src/profile/aggregate-encoded.js';
import { aggregateRequest, isCpuProfile, type WorkloadProfile } from '../src/profile/aggregate.js';
import { ProfileStore } from '../src/store/store.js';
import { K8S_CHECKOUT, K8S_INVENTORY, requestFromFolded } from './helpers/fixtures.js';

/**
 * The fuzzing harness shared by test/fuzz.test.ts and bench/fuzz.bench.ts: valid seed requests,
 * mutators (bytes, protobuf structure, dictionary indices, JSON, gzip), and an oracle that runs
 * one input through the receiver's path — gunzip (bounded) → read and validate (OTLP/JSON
 * encoded to protobuf first) → aggregate on the wire → the profile store's consume — and says
 * whether it was accepted or rejected with which reason. Anything else (another exception, the
 * path and protobuf-es decoding disagreeing, totals that do not add up, a stored chunk that
 * does not decode) is a FuzzBug.
 */

export interface FuzzInput {
  bytes: Uint8Array;
  encoding: Encoding;
  /** The bytes are gzip (Content-Encoding: gzip). */
  gzip: boolean;
  /** Which mutators made it, for the counts. */
  mutator: string;
}

export type Verdict = { accepted: true; workloads: number; samples: number } | { accepted: false; reason: string; message: string };

export class FuzzBug extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly input: FuzzInput,
  ) {
    super(`${kind}: ${message}`);
    this.name = 'FuzzBug';
  }
}

export interface OracleOptions {
  /** gunzip refuses to produce more (the receiver's maxDecompressedBytes). */
  maxDecompressedBytes: number;
  /** Also push accepted requests through a ProfileStore and check its chunks (default true). */
  store?: boolean;
}

export const FUZZ_LIMITS: OracleOptions = { maxDecompressedBytes: 1 << 20, store: true };

/**
 * Runs one input through the receive path; returns the verdict or throws FuzzBug. The path is
 * the one Pilotlight runs (`readRequest`: protobuf read and validated on the wire, OTLP/JSON
 * encoded to protobuf once first; then wire aggregation and the store's `consume`); protobuf-es
 * decoding and message aggregation (`decodeRequest`, `aggregateRequest`) are its oracle.
 */
export async function checkInput(input: FuzzInput, opts: OracleOptions = FUZZ_LIMITS): Promise<Verdict> {
  let body = input.bytes;
  if (input.gzip) {
    try {
      body = gunzipBoundedSync(body, opts.maxDecompressedBytes);
    } catch (err) {
      return rejected(err, input, 'gunzip');
    }
  } else if (body.byteLength > opts.maxDecompressedBytes) {
    return { accepted: false, reason: 'too large', message: 'body exceeds the limit' };
  }

  const read = attempt(() => readRequest(body, input.encoding));
  const oracle = attempt(() => decodeRequest(body, input.encoding));
  if ('error' in read) {
    const verdict = rejected(read.error, input, 'readRequest');
    const theirs = 'error' in oracle ? oracle.error : undefined;
    if (theirs !== undefined && !(theirs instanceof OtlpInputError))
      throw new FuzzBug('unexpected exception', `decodeRequest threw ${describe(theirs)}`, input);
    if (theirs?.message === verdict.message) return verdict;
    const what = theirs ? `rejects with ${JSON.stringify(theirs.message)}` : 'accepts';
    throw new FuzzBug('paths disagree', `readRequest rejects with ${JSON.stringify(verdict.message)}, decodeRequest ${what}`, input);
  }
  if ('error' in oracle) throw new FuzzBug('paths disagree', `readRequest accepts but decodeRequest throws ${describe(oracle.error)}`, input);
  const { encoded, wire } = read.ok;
  const req = oracle.ok;
  // For OTLP/JSON this compares the JSON decoded to messages with what its protobuf encoding gives.
  const fast = attempt(() => aggregateWire(wire));
  if ('error' in fast) throw new FuzzBug('unexpected exception', `aggregateWire threw ${describe(fast.error)}`, input);
  const slow = attempt(() => aggregateRequest(req));
  if ('error' in slow) throw new FuzzBug('paths disagree', `readRequest accepts but aggregateRequest throws ${describe(slow.error)}`, input);
  comparePaths(slow.ok, fast.ok, input);
  checkTotals(req, fast.ok, input);
  if (opts.store !== false) await checkStore(encoded, wire, fast.ok, input);

  let samples = 0;
  for (const p of fast.ok.values()) samples += p.samples;
  return { accepted: true, workloads: fast.ok.size, samples };
}

function rejected(err: unknown, input: FuzzInput, where: string): Verdict & { accepted: false } {
  if (!(err instanceof OtlpInputError)) throw new FuzzBug('unexpected exception', `${where} threw ${describe(err)}`, input);
  if (!err.message || /undefined|\[object /.test(err.message)) throw new FuzzBug('unclear message', `${where}: ${JSON.stringify(err.message)}`, input);
  return { accepted: false, reason: reasonOf(err), message: err.message };
}

/** A short, bounded key for counting rejections: error class plus the message without numbers. */
export function reasonOf(err: OtlpInputError): string {
  if (err instanceof OtlpValidationError) {
    const field = err.path.replace(/\[\d+\]/g, '[]').replace(/^resource_profiles\[\]\.scope_profiles\[\]\.profiles\[\]\./, 'profile.');
    const problem = err.problem.replace(/-?\d+/g, 'N').replace(/ \(.*\)$/, '');
    return `invalid: ${field} ${problem}`.slice(0, 100);
  }
  const m = err.message
    .replace(/^malformed protobuf ExportProfilesServiceRequest: /, 'protobuf: ')
    .replace(/^malformed OTLP\/JSON ExportProfilesServiceRequest: /, 'json: ')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/-?\d+/g, 'N');
  return `${err.name}: ${m}`.slice(0, 100);
}

type Attempt<T> = { ok: T } | { error: unknown };

function attempt<T>(fn: () => T): Attempt<T> {
  try {
    return { ok: fn() };
  } catch (error) {
    return { error };
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 300);
  return `non-error ${String(err)}`.slice(0, 300);
}

function same(a: number, b: number): boolean {
  if (Object.is(a, b)) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function comparePaths(slow: Map<string, WorkloadProfile>, fast: Map<string, WorkloadProfile>, input: FuzzInput): void {
  const keys = (m: Map<string, WorkloadProfile>): string => JSON.stringify([...m.keys()]);
  if (keys(slow) !== keys(fast)) throw new FuzzBug('paths disagree', `workloads ${keys(slow)} vs ${keys(fast)}`, input);
  for (const [key, a] of slow) {
    const b = fast.get(key)!;
    for (const field of ['samples', 'cpuNanos', 'startMs', 'endMs', 'periodNanos', 'skippedProfiles'] as const) {
      if (!Object.is(a[field], b[field])) throw new FuzzBug('paths disagree', `${key}.${field}: ${a[field]} vs ${b[field]}`, input);
    }
    if (a.tree.size !== b.tree.size) throw new FuzzBug('paths disagree', `${key}: tree of ${a.tree.size} vs ${b.tree.size} nodes`, input);
  }
}

/**
 * A reference model of what aggregation must add up to, written from the data model rather
 * than from aggregate.ts: a sample counts the sum of its values, else its number of
 * timestamps, else 1; nanosecond-valued profiles (sample type `cpu`/`nanoseconds`; a profile
 * without a sample type name counts samples whatever its unit) count value / period samples.
 */
function checkTotals(req: ExportProfilesServiceRequest, aggs: Map<string, WorkloadProfile>, input: FuzzInput): void {
  const strings = req.dictionary?.stringTable ?? [];
  let expectSamples = 0;
  let expectNanos = 0;
  for (const rp of req.resourceProfiles) {
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        if (!isCpuProfile(p, strings)) continue;
        const period = Number(p.period);
        const nanosValued = p.sampleType !== undefined && strings[p.sampleType.typeStrindex] === 'cpu' && strings[p.sampleType.unitStrindex] === 'nanoseconds';
        for (const s of p.samples) {
          let count = 0;
          if (s.values.length > 0) for (const v of s.values) count += Number(v);
          else count = Math.max(1, s.timestampsUnixNano.length);
          expectSamples += nanosValued ? (period > 0 ? count / period : 0) : count;
          expectNanos += nanosValued ? count : count * period;
        }
      }
    }
  }
  let samples = 0;
  let nanos = 0;
  for (const [key, agg] of aggs) {
    samples += agg.samples;
    nanos += agg.cpuNanos;
    let treeSamples = 0;
    let treeNanos = 0;
    const selfNanos = agg.tree.selfNanos;
    for (let n = 0; n < agg.tree.size; n++) {
      treeSamples += agg.tree.selfSamples[n];
      treeNanos += selfNanos[n];
    }
    if (!same(treeSamples, agg.samples) || !same(treeNanos, agg.cpuNanos)) {
      throw new FuzzBug(
        'inconsistent profile',
        `${key}: tree holds ${treeSamples} samples / ${treeNanos} ns, totals say ${agg.samples} / ${agg.cpuNanos}`,
        input,
      );
    }
    if (agg.samples < 0 || agg.cpuNanos < 0) throw new FuzzBug('inconsistent profile', `${key}: negative totals ${agg.samples} / ${agg.cpuNanos}`, input);
  }
  if (!same(samples, expectSamples) || !same(nanos, expectNanos)) {
    throw new FuzzBug(
      'inconsistent profile',
      `aggregates total ${samples} samples / ${nanos} ns, the request's samples add up to ${expectSamples} / ${expectNanos}`,
      input,
    );
  }
}

/**
 * The store's chunking: open a slot for every workload, consume the request, and check that
 * each slot holds what aggregation found, and that every stored chunk is itself a valid
 * request giving the same profile (chunks are subsets of the request, cut on the wire).
 */
async function checkStore(encoded: Uint8Array, wire: WireRequest, aggs: Map<string, WorkloadProfile>, input: FuzzInput): Promise<void> {
  const store = new ProfileStore({ maxSlots: 1000, slotTtlSeconds: 3600, slotMaxBytes: 64 << 20, cleanupIntervalSeconds: 3600, maxSources: 1000 }, () => 1_000);
  for (const agg of aggs.values()) store.open(agg.workload);
  let result;
  try {
    // As the receiver hands it on: the bytes and their WireRequest (`batch.request` is not read).
    result = await store.consume(encodedBatch(encoded, wire, wireStats(wire)));
  } catch (err) {
    throw new FuzzBug('store', `consume threw ${describe(err)}`, input);
  }
  if (result.rejectedProfiles !== 0) throw new FuzzBug('store', `rejected ${result.rejectedProfiles} profiles: ${result.errorMessage}`, input);
  for (const [key, agg] of aggs) {
    const slot = store.slot(key);
    if (!slot) throw new FuzzBug('store', `no slot for ${key}`, input);
    const held = attempt(() => store.profile(key));
    if ('error' in held) throw new FuzzBug('store', `profile(${key}) threw ${describe(held.error)}`, input);
    if (!same(held.ok.samples, agg.samples) || !same(held.ok.cpuNanos, agg.cpuNanos)) {
      throw new FuzzBug(
        'store',
        `${key}: slot holds ${held.ok.samples} samples / ${held.ok.cpuNanos} ns, aggregation found ${agg.samples} / ${agg.cpuNanos}`,
        input,
      );
    }
    let chunkSamples = 0;
    for (const chunk of slot.chunks) {
      const again = attempt(() => aggregateEncoded(chunk.bytes, { workload: key }));
      if ('error' in again) throw new FuzzBug('store', `${key}: a stored chunk does not decode: ${describe(again.error)}`, input);
      chunkSamples += again.ok.get(key)?.samples ?? 0;
    }
    if (!same(chunkSamples, agg.samples)) throw new FuzzBug('store', `${key}: chunks hold ${chunkSamples} samples, aggregation found ${agg.samples}`, input);
  }
}

// ---------------------------------------------------------------------------------------------
// Seeds: valid requests of every shape the receiver sees.

export interface Seed {
  name: string;
  request: ExportProfilesServiceRequest;
  bytes: Uint8Array;
  json: string;
  /** Length-delimited fields and varints found by walking the bytes as protobuf. */
  fields: WireField[];
  varints: WireSpan[];
}

export interface WireSpan {
  pos: number;
  size: number;
}

export interface WireField extends WireSpan {
  /** Start and end of the field's data (after the length varint at pos/size). */
  start: number;
  end: number;
  tagPos: number;
}

export function makeSeeds(): Seed[] {
  const requests: [string, ExportProfilesServiceRequest][] = [
    ['folded', requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;serve;handle;parse 30\nmain;idle 45\nmain;walk;walk;walk 5' }])],
    [
      'two workloads, timestamps',
      requestFromFolded([
        { resource: K8S_INVENTORY, folded: 'main;early 5', timestampsAt: 1_700_000_000_000_000_000n },
        { resource: K8S_CHECKOUT, folded: 'main;b;c@libc.so.6#native 4\nmain;d 2', timestampsAt: 1_700_000_010_000_000_000n },
      ]),
    ],
    ['fleet', makeFleetRequest({ processes: 3, programs: 2, stacksPerProgram: 6, functions: 30, locations: 40, hotStacks: 2, seed: 5 })],
    [
      'fleet timestamps',
      makeFleetRequest({ processes: 2, programs: 2, stacksPerProgram: 4, functions: 20, locations: 25, hotStacks: 1, seed: 6, shape: 'timestamps' }),
    ],
  ];
  {
    const b = new RequestBuilder();
    const p = b.profile(
      { 'service.name': 'billing', 'host.name': 'h1' },
      { periodNanos: 10_000_000, timeUnixNano: 1_700_000_000_000_000_000n, durationNano: 2_000_000_000n },
    );
    const mapping = b.mapping('/usr/lib/libfoo.so', 0x7f0000000000n, 0x7f0000100000n, 0x1000n, { 'process.executable.build_id.gnu': 'abc' });
    const unnamed = b.location({ address: 0x7f0000000a2bn }, mapping);
    const inl = b.location({ name: 'outer', file: 'a.c', line: 10, kind: 'native', inlined: [{ name: 'helper', file: 'a.c', line: 3 }] });
    const main = b.location({ name: 'main', kind: 'go' });
    b.addSample(p, b.stack([unnamed, main]), { value: 3, attributes: { 'thread.name': 'w1' } });
    b.addSample(p, b.stack([inl, main]), { timestamps: [1_700_000_000_000_000_001n, 1_700_000_000_500_000_000n], value: 2 });
    b.addSample(p, 0, {});
    const nanos = b.profile(K8S_CHECKOUT, { periodNanos: 1_000_000, sampleType: ['cpu', 'nanoseconds'] });
    b.addSample(nanos, b.stackOfFrames([{ name: 'main' }, { name: 'spin' }]), { value: 5_000_000 });
    const alloc = b.profile(K8S_INVENTORY, { periodNanos: 1, sampleType: ['alloc_space', 'bytes'], periodType: ['space', 'bytes'] });
    b.addSample(alloc, b.stackOfFrames([{ name: 'malloc' }]), { value: 4096 });
    requests.push(['mappings, inlining, units', b.build()]);
  }
  requests.push(['empty', new RequestBuilder().build()]);
  return requests.map(([name, request]) => seedOf(name, request));
}

export function seedOf(name: string, request: ExportProfilesServiceRequest): Seed {
  const bytes = encodeRequest(request);
  const fields: WireField[] = [];
  const varints: WireSpan[] = [];
  walk(bytes, 0, bytes.length, 0, fields, varints);
  return { name, request, bytes, json: JSON.stringify(requestToJson(request)), fields, varints };
}

/** Walks bytes as protobuf, recording every length field and varint; stops quietly where they do not parse. */
function walk(buf: Uint8Array, start: number, end: number, depth: number, fields: WireField[], varints: WireSpan[]): boolean {
  let pos = start;
  while (pos < end) {
    const tagPos = pos;
    const tag = readVarint(buf, pos, end);
    if (!tag || tag.value === 0) return false;
    pos += tag.size;
    const wt = tag.value % 8;
    if (wt === 0) {
      const v = readVarint(buf, pos, end);
      if (!v) return false;
      varints.push({ pos, size: v.size });
      pos += v.size;
    } else if (wt === 1) {
      pos += 8;
    } else if (wt === 5) {
      pos += 4;
    } else if (wt === 2) {
      const len = readVarint(buf, pos, end);
      if (!len || pos + len.size + len.value > end) return false;
      const field = { pos, size: len.size, start: pos + len.size, end: pos + len.size + len.value, tagPos };
      fields.push(field);
      if (depth < 12 && len.value > 0) {
        const f = fields.length;
        const v = varints.length;
        // Not every length field is a message (strings, packed numbers): undo a failed walk.
        if (!walk(buf, field.start, field.end, depth + 1, fields, varints)) {
          fields.length = f;
          varints.length = v;
        }
      }
      pos = field.end;
    } else {
      return false;
    }
  }
  return pos === end;
}

function readVarint(buf: Uint8Array, pos: number, end: number): { value: number; size: number } | undefined {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10 && pos + i < end; i++) {
    const b = buf[pos + i];
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return { value, size: i + 1 };
  }
  return undefined;
}

export function varint(n: bigint): number[] {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutators. Each takes a random source and returns new bytes (never changes its input).

export type Rand = () => number;

const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, xs: readonly T[]): T => xs[int(rand, xs.length)];

const EDGE_VARINTS: bigint[] = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0x3fffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  (1n << 53n) + 1n,
  (1n << 63n) - 1n,
  -1n,
  -(1n << 31n),
  -(1n << 63n),
];
const INTERESTING_BYTES = [0x00, 0x01, 0x02, 0x08, 0x0a, 0x10, 0x12, 0x1a, 0x22, 0x7f, 0x80, 0xff];

function splice(bytes: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(bytes.length - remove + insert.length);
  out.set(bytes.subarray(0, at), 0);
  out.set(insert, at);
  out.set(bytes.subarray(at + remove), at + insert.length);
  return out;
}

/** Byte-level mutations that need no structure. */
const byteMutators: Record<string, (b: Uint8Array, rand: Rand) => Uint8Array> = {
  flip(b, rand) {
    if (b.length === 0) return b;
    const out = b.slice();
    out[int(rand, b.length)] ^= 1 << int(rand, 8);
    return out;
  },
  setByte(b, rand) {
    if (b.length === 0) return b;
    const out = b.slice();
    out[int(rand, b.length)] = rand() < 0.5 ? pick(rand, INTERESTING_BYTES) : int(rand, 256);
    return out;
  },
  truncate(b, rand) {
    return b.slice(0, int(rand, b.length + 1));
  },
  insert(b, rand) {
    const n = 1 + int(rand, 8);
    return splice(
      b,
      int(rand, b.length + 1),
      0,
      Array.from({ length: n }, () => int(rand, 256)),
    );
  },
  delete(b, rand) {
    if (b.length === 0) return b;
    const at = int(rand, b.length);
    return splice(b, at, 1 + int(rand, Math.min(16, b.length - at)), []);
  },
  duplicate(b, rand) {
    if (b.length === 0) return b;
    const at = int(rand, b.length);
    const len = 1 + int(rand, Math.min(64, b.length - at));
    return splice(b, int(rand, b.length + 1), 0, b.slice(at, at + len));
  },
};

/** Mutations guided by the seed's protobuf structure (positions are the seed's). */
const structureMutators: Record<string, (s: Seed, rand: Rand, all: Seed[]) => Uint8Array> = {
  varintEdge(s, rand) {
    if (s.varints.length === 0) return s.bytes;
    const v = pick(rand, s.varints);
    return splice(s.bytes, v.pos, v.size, varint(pick(rand, EDGE_VARINTS)));
  },
  lengthField(s, rand) {
    if (s.fields.length === 0) return s.bytes;
    const f = pick(rand, s.fields);
    const len = f.end - f.start;
    const choices = [0, len - 1, len + 1, len + 2, s.bytes.length - f.start, s.bytes.length - f.start + 1, 0x7fffffff, 0xffffffff, 2 ** 40];
    return splice(s.bytes, f.pos, f.size, varint(BigInt(Math.max(0, pick(rand, choices)))));
  },
  wireType(s, rand) {
    if (s.fields.length === 0) return s.bytes;
    const f = pick(rand, s.fields);
    const out = s.bytes.slice();
    out[f.tagPos] = (out[f.tagPos] & ~7) | pick(rand, [0, 1, 3, 4, 5, 6, 7]);
    return out;
  },
  dropField(s, rand) {
    if (s.fields.length === 0) return s.bytes;
    const f = pick(rand, s.fields);
    return splice(s.bytes, f.tagPos, f.end - f.tagPos, []);
  },
  repeatField(s, rand) {
    if (s.fields.length === 0) return s.bytes;
    const f = pick(rand, s.fields);
    return splice(s.bytes, f.end, 0, s.bytes.slice(f.tagPos, f.end));
  },
  concat(s, rand, all) {
    // Protobuf concatenation merges: two valid requests make one with both dictionaries appended.
    const other = pick(rand, all);
    return splice(s.bytes, s.bytes.length, 0, other.bytes);
  },
  graft(s, rand, all) {
    const other = pick(rand, all);
    if (s.fields.length === 0 || other.fields.length === 0) return s.bytes;
    const into = pick(rand, s.fields);
    const from = pick(rand, other.fields);
    return splice(s.bytes, into.tagPos, into.end - into.tagPos, other.bytes.slice(from.tagPos, from.end));
  },
  indexOutOfRange(s, rand) {
    return encodeRequest(breakIndex(fromBinary(ExportProfilesServiceRequestSchema, s.bytes), rand));
  },
};

/** Sets one reference (index into a dictionary table) or one checked number to an edge value. */
export function breakIndex(req: ExportProfilesServiceRequest, rand: Rand): ExportProfilesServiceRequest {
  const d = req.dictionary;
  const sites: [Record<string, unknown>, string, number][] = [];
  const size = {
    str: d?.stringTable.length ?? 0,
    stack: d?.stackTable.length ?? 0,
    loc: d?.locationTable.length ?? 0,
    fn: d?.functionTable.length ?? 0,
    map: d?.mappingTable.length ?? 0,
    attr: d?.attributeTable.length ?? 0,
    link: d?.linkTable.length ?? 0,
  };
  const kv = (x: KeyValue): void => {
    sites.push([x, 'keyStrindex', size.str]);
    if (x.value) any(x.value);
  };
  const any = (v: AnyValue): void => {
    if (v.value.case === 'stringValueStrindex') sites.push([v.value as Record<string, unknown>, 'value', size.str]);
    else if (v.value.case === 'arrayValue') v.value.value.values.forEach(any);
    else if (v.value.case === 'kvlistValue') v.value.value.values.forEach(kv);
  };
  const indices = (xs: number[], n: number): void => xs.forEach((_, i) => sites.push([xs as unknown as Record<string, unknown>, String(i), n]));
  for (const rp of req.resourceProfiles) {
    rp.resource?.attributes.forEach(kv);
    for (const sp of rp.scopeProfiles) {
      for (const p of sp.profiles) {
        if (p.sampleType) sites.push([p.sampleType, 'typeStrindex', size.str], [p.sampleType, 'unitStrindex', size.str]);
        indices(p.attributeIndices, size.attr);
        for (const sample of p.samples) {
          sites.push([sample, 'stackIndex', size.stack], [sample, 'linkIndex', size.link]);
          indices(sample.attributeIndices, size.attr);
        }
      }
    }
  }
  if (d) {
    d.stackTable.forEach((st) => indices(st.locationIndices, size.loc));
    d.locationTable.forEach((l) => {
      sites.push([l, 'mappingIndex', size.map]);
      l.lines.forEach((line) => sites.push([line, 'functionIndex', size.fn]));
      indices(l.attributeIndices, size.attr);
    });
    d.functionTable.forEach((f) => sites.push([f, 'nameStrindex', size.str], [f, 'systemNameStrindex', size.str], [f, 'filenameStrindex', size.str]));
    d.mappingTable.forEach((m) => sites.push([m, 'filenameStrindex', size.str]));
    d.attributeTable.forEach((a) => {
      sites.push([a, 'keyStrindex', size.str], [a, 'unitStrindex', size.str]);
      if (a.value) any(a.value);
    });
  }
  if (sites.length === 0) return req;
  const [obj, key, n] = pick(rand, sites);
  obj[key] = pick(rand, [-1, n, n + 1, n - 1, 0, 2 ** 31 - 1, -(2 ** 31)]);
  return req;
}

// JSON mutations work on the parsed tree, then (sometimes) on the text.

const HOSTILE_JSON: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  1e300,
  '',
  '-1',
  '1e3',
  '0x10',
  'NaN',
  'Infinity',
  '18446744073709551616',
  '\u0000',
  '\ud800',
  'a'.repeat(5000),
  '<script>alert(1)</script>',
  [],
  {},
  [1, 2, 3],
  { '': 1 },
  { __proto__: null, constructor: 1 },
];

function jsonNodes(root: unknown): [Record<string, unknown> | unknown[], string | number][] {
  const out: [Record<string, unknown> | unknown[], string | number][] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push([v, i]);
        visit(x);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push([v as Record<string, unknown>, k]);
        visit((v as Record<string, unknown>)[k]);
      }
    }
  };
  visit(root);
  return out;
}

function deepNest(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

const jsonMutators: Record<string, (s: Seed, rand: Rand) => string> = {
  replace(s, rand) {
    const root = JSON.parse(s.json) as unknown;
    const nodes = jsonNodes(root);
    if (nodes.length === 0) return s.json;
    const [parent, key] = pick(rand, nodes);
    (parent as Record<string, unknown>)[key] = structuredClone(pick(rand, HOSTILE_JSON));
    return JSON.stringify(root);
  },
  removeKey(s, rand) {
    const root = JSON.parse(s.json) as unknown;
    const nodes = jsonNodes(root).filter(([p]) => !Array.isArray(p));
    if (nodes.length === 0) return s.json;
    const [parent, key] = pick(rand, nodes);
    delete (parent as Record<string, unknown>)[key];
    return JSON.stringify(root);
  },
  renameKey(s, rand) {
    const root = JSON.parse(s.json) as unknown;
    const nodes = jsonNodes(root).filter(([p]) => !Array.isArray(p));
    if (nodes.length === 0) return s.json;
    const [parent, key] = pick(rand, nodes) as [Record<string, unknown>, string];
    const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const to = pick(rand, [snake, '__proto__', 'constructor', key.toUpperCase(), `${key}x`]);
    const v = parent[key];
    delete parent[key];
    Object.defineProperty(parent, to, { value: v, enumerable: true, writable: true, configurable: true });
    return JSON.stringify(root);
  },
  numberEdge(s, rand) {
    // Numbers as JSON numbers or strings at their limits (int64 fields accept both).
    const edges = [
      '-1',
      '2147483648',
      '-2147483649',
      '4294967296',
      '9223372036854775808',
      '-9223372036854775809',
      '1e400',
      '1.0',
      '"1"',
      '"-5"',
      '"0x1"',
      '" 1"',
      '1e2',
    ];
    const matches = [...s.json.matchAll(/(?<=:|\[|,)(-?\d+|"-?\d+")(?=[,\]}])/g)];
    if (matches.length === 0) return s.json;
    const m = pick(rand, matches);
    return s.json.slice(0, m.index) + pick(rand, edges) + s.json.slice(m.index! + m[0].length);
  },
  nest(s, rand) {
    const depth = pick(rand, [40, 200, 300, 20_000]);
    const value = rand() < 0.5 ? deepNest(depth, '[', ']') : deepNest(depth, '{"a":', '}');
    const at = s.json.lastIndexOf('}');
    return `${s.json.slice(0, at)}${s.json.length > 2 ? ',' : ''}"deep":${value}}`;
  },
  nestValue(s, rand) {
    // Nested AnyValue arrays in a resource attribute: past validation's 32 levels and beyond.
    const depth = pick(rand, [31, 34, 120, 2000]);
    const value = deepNest(depth, '{"arrayValue":{"values":[', ']}}', '{"intValue":"1"}');
    const attr = `{"key":"deep","value":${value}}`;
    return `{"resourceProfiles":[{"resource":{"attributes":[${attr}]},"scopeProfiles":[]}],"dictionary":{"stringTable":[""]}}`;
  },
  hexId(s, rand) {
    const root = JSON.parse(s.json) as { resourceProfiles?: { scopeProfiles?: { profiles?: Record<string, unknown>[] }[] }[] };
    const p = root.resourceProfiles?.[0]?.scopeProfiles?.[0]?.profiles?.[0];
    if (!p) return s.json;
    p.profileId = pick(rand, ['0', 'zz', 'ABCDEF0123456789', 'abcdef0123456789abcdef0123456789', '0'.repeat(34), '==', 'qg==', 12]);
    return JSON.stringify(root);
  },
  text(s, rand) {
    const t = s.json;
    const at = int(rand, t.length + 1);
    switch (int(rand, 4)) {
      case 0:
        return t.slice(0, at);
      case 1:
        return t.slice(0, at) + pick(rand, ['"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', '\ufeff', 'null', '\\ud800']) + t.slice(at);
      case 2:
        return t.slice(0, at) + t.slice(at + 1 + int(rand, 8));
      default:
        return pick(rand, ['', 'null', '[]', '1', '"x"', 'true', '\ufeff{}', '{}', '{"resourceProfiles":null}', '{"dictionary":[]}']);
    }
  },
};

const utf8 = new TextEncoder();

/** Draws one fuzz input: mostly mutated protobuf, some JSON, some gzip-wrapped, a few random. */
export function nextInput(seeds: Seed[], rand: Rand, gzipBombs: Uint8Array[] = []): FuzzInput {
  const seed = pick(rand, seeds);
  const roll = rand();
  let input: FuzzInput;
  if (roll < 0.02) {
    const n = int(rand, 64);
    input = { bytes: Uint8Array.from({ length: n }, () => int(rand, 256)), encoding: rand() < 0.8 ? 'protobuf' : 'json', gzip: false, mutator: 'random' };
  } else if (roll < 0.75) {
    const names: string[] = [];
    let bytes = seed.bytes;
    if (rand() < 0.6) {
      const [name, m] = pick(rand, Object.entries(structureMutators));
      bytes = m(seed, rand, seeds);
      names.push(name);
    }
    const extra = names.length === 0 ? 1 + int(rand, 3) : int(rand, 3);
    for (let i = 0; i < extra; i++) {
      const [name, m] = pick(rand, Object.entries(byteMutators));
      bytes = m(bytes, rand);
      names.push(name);
    }
    input = { bytes, encoding: 'protobuf', gzip: false, mutator: names.join('+') };
  } else {
    // OTLP/JSON costs several times what protobuf does per byte: mutate the smaller seeds.
    const small = seed.bytes.length <= 4096 ? seed : seeds[0];
    const [name, m] = pick(rand, Object.entries(jsonMutators));
    input = { bytes: utf8.encode(m(small, rand)), encoding: 'json', gzip: false, mutator: `json.${name}` };
  }
  const g = rand();
  if (g < 0.1) {
    input = { ...input, bytes: gzipSync(input.bytes, { level: 1 }), gzip: true, mutator: `gzip(${input.mutator})` };
  } else if (g < 0.13) {
    const zipped = gzipSync(input.bytes, { level: 1 });
    const broken = pick(rand, Object.values(byteMutators))(zipped, rand);
    input = { ...input, bytes: broken, gzip: true, mutator: `gzip-corrupt(${input.mutator})` };
  } else if (g < 0.135 && gzipBombs.length > 0) {
    input = { bytes: pick(rand, gzipBombs), encoding: input.encoding, gzip: true, mutator: 'gzip-bomb' };
  }
  return input;
}

/** Gzip bodies that inflate far past `limit` (zeros, and a repeated valid request). */
export function makeGzipBombs(seeds: Seed[], limit: number): Uint8Array[] {
  const zeros = gzipSync(Buffer.alloc(limit * 16), { level: 9 });
  const req = seeds[0].bytes;
  const repeated = Buffer.alloc(limit * 4);
  for (let i = 0; i + req.length <= repeated.length; i += req.length) repeated.set(req, i);
  return [zeros, gzipSync(repeated, { level: 9 })];
}

export { rng };
