import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { create } from '@bufbuild/protobuf';
import { decodeRequest, encodeRequest } from '../otlp/codec.js';
import { RequestBuilder, type FrameSpec, type SimpleValue } from '../otlp/builder.js';
import { AnyValueSchema, KeyValueSchema, LineSchema, LocationSchema, type ExportProfilesServiceRequest } from '../otlp/messages.js';
import { requestFromFolded, K8S_INVENTORY, K8S_CHECKOUT } from '../../test/helpers/fixtures.js';
import { makeChunks, makeFleetRequest } from '../../test/helpers/gen.js';
import { aggregateRequest, aggregateRequestTypes, type AggregateOptions, type WorkloadProfile, type WorkloadProfiles } from './aggregate.js';
import { aggregateEncoded, aggregateWireTypes } from './aggregate-encoded.js';
import { readWireRequest } from '../otlp/wire/request.js';
import { validateWire } from '../otlp/wire/validate.js';

/**
 * The wire fast path must be indistinguishable from decodeRequest + aggregateRequest: the same
 * workloads, trees (node for node), totals and time bounds on valid input, and the same error
 * class and message on anything else.
 */

type Outcome = { ok: unknown } | { error: string };

function summary(m: Map<string, WorkloadProfile>): unknown {
  return [...m].map(([key, p]) => ({
    key,
    workload: p.workload,
    resource: p.resource,
    samples: p.samples,
    cpuNanos: p.cpuNanos,
    periodNanos: p.periodNanos,
    startMs: p.startMs,
    endMs: p.endMs,
    skippedProfiles: p.skippedProfiles,
    parent: p.tree.parent,
    frame: p.tree.frame,
    selfSamples: p.tree.selfSamples,
    selfNanos: p.tree.selfNanos,
    frames: p.tree.frames.frames,
  }));
}

/** Every type of every workload, and the skipped profiles by reason. */
function typesSummary(m: Map<string, WorkloadProfiles>): unknown {
  return [...m].map(([key, w]) => ({
    key,
    skipped: w.skipped,
    types: [...w.types.values()].map((p) => ({ type: p.type, events: p.events, ...(summary(new Map([[key, p]])) as object[])[0] })),
  }));
}

function outcome<T>(run: () => T, sum: (x: T) => unknown = summary as (x: unknown) => unknown): Outcome {
  try {
    return { ok: sum(run()) };
  } catch (err) {
    return { error: err instanceof Error ? `${err.name}: ${err.message}` : `thrown non-error ${String(err)}` };
  }
}

function assertSame(bytes: Uint8Array, opts: AggregateOptions = {}, label = ''): Outcome {
  const slow = outcome(() => aggregateRequest(decodeRequest(bytes, 'protobuf'), opts));
  const fast = outcome(() => aggregateEncoded(bytes, opts));
  assert.deepStrictEqual(fast, slow, label);
  // Every profile type, and what was skipped, agree too.
  const allOpts = { ...opts, type: undefined };
  const slowTypes = outcome(() => aggregateRequestTypes(decodeRequest(bytes, 'protobuf'), allOpts), typesSummary);
  const fastTypes = outcome(() => {
    const wire = readWireRequest(bytes);
    validateWire(wire);
    return aggregateWireTypes(wire, allOpts);
  }, typesSummary);
  assert.deepStrictEqual(fastTypes, slowTypes, `${label} (every type)`);
  return slow;
}

const T0 = 1_700_000_000_000_000_000n;
const MS0 = Number(T0 / 1_000_000n);

test('generated fleets and chunks aggregate identically on both paths', () => {
  const requests: Uint8Array[] = [
    encodeRequest(makeFleetRequest({ processes: 60, stacksPerProgram: 120, programs: 12, seed: 11 })),
    encodeRequest(makeFleetRequest({ processes: 40, stacksPerProgram: 80, programs: 8, seed: 12, shape: 'timestamps' })),
    ...makeChunks({ totalBytes: 400_000, seed: 13, stacks: 400 }),
    ...makeChunks({ totalBytes: 200_000, seed: 14, stacks: 300, shape: 'values' }),
  ];
  for (const [i, bytes] of requests.entries()) {
    const slow = assertSame(bytes, {}, `request ${i}`);
    assert.ok('ok' in slow, `request ${i} is valid`);
  }
  // Windows and workload filters take the same samples.
  const fleet = requests[1];
  const t0 = Number(1_760_000_000_000_000_000n / 1_000_000n);
  assertSame(fleet, { from: t0 + 200, to: t0 + 700 }, 'windowed');
  assertSame(fleet, { from: t0 + 999 }, 'from only');
  const key = [...aggregateRequest(decodeRequest(fleet, 'protobuf')).keys()][3];
  assertSame(fleet, { workload: key }, 'one workload');
});

function handBuilt(): [string, ExportProfilesServiceRequest][] {
  const cases: [string, ExportProfilesServiceRequest][] = [];
  cases.push([
    'folded stacks, several workloads',
    requestFromFolded([
      { resource: K8S_INVENTORY, folded: 'main;serve;handle;parse 30\nmain;idle 45\nmain;walk;walk;walk 5' },
      { resource: K8S_CHECKOUT, folded: 'main;b;c@libc.so.6#native 4' },
      { resource: { 'service.name': 'billing' }, folded: 'main;c 5' },
      { resource: { 'process.executable.name': 'node', 'process.pid': 42 }, folded: 'main;d 6' },
      { resource: { ...K8S_INVENTORY, 'k8s.pod.name': 'inventory-2' }, folded: 'main;a 7' },
    ]),
  ]);
  cases.push([
    'timestamps, two times',
    requestFromFolded([
      { resource: K8S_INVENTORY, folded: 'main;early 5', timestampsAt: T0 },
      { resource: K8S_INVENTORY, folded: 'main;late 7', timestampsAt: T0 + 10_000_000_000n },
    ]),
  ]);
  {
    const b = new RequestBuilder();
    const p = b.profile(K8S_INVENTORY, { periodNanos: 10_000_000, timeUnixNano: T0, durationNano: 2_000_000_000n });
    b.addSample(p, b.stackOfFrames([{ name: 'main' }, { name: 'tick' }]), { timestamps: [T0 + 1n, T0 + 2_000_001n, T0 + 3n] });
    b.addSample(p, b.stackOfFrames([{ name: 'main' }, { name: 'tock' }]), {});
    b.addSample(p, b.stackOfFrames([{ name: 'main' }, { name: 'both' }]), { value: 3, timestamps: [T0 + 5n, T0 + 7n], attributes: { 'thread.name': 'w1' } });
    b.addSample(p, 0, { value: 2 });
    const alloc = b.profile(K8S_INVENTORY, { periodNanos: 1, sampleType: ['alloc_space', 'bytes'], periodType: ['space', 'bytes'] });
    b.addSample(alloc, b.stackOfFrames([{ name: 'malloc' }]), { value: 4096 });
    const nanos = b.profile(K8S_CHECKOUT, { periodNanos: 1_000_000, sampleType: ['cpu', 'nanoseconds'] });
    b.addSample(nanos, b.stackOfFrames([{ name: 'main' }, { name: 'spin' }]), { value: 5_000_000 });
    const noPeriod = b.profile({ 'service.name': 'x' }, { periodNanos: 0, sampleType: ['cpu', 'nanoseconds'] });
    b.addSample(noPeriod, b.stackOfFrames([{ name: 'zero' }]), { value: 7 });
    cases.push(['value shapes, units, skipped profiles', b.build()]);
  }
  {
    const b = new RequestBuilder();
    const p = b.profile(K8S_INVENTORY, { periodNanos: 1 });
    const mapping = b.mapping('/usr/lib/libfoo.so', 0x7f0000000000n, 0x7f0000100000n, 0x1000n);
    const unnamed = b.location({ address: 0x7f0000000a2bn }, mapping);
    const below = b.location({ address: 0x10n }, mapping);
    const bare = b.location({ address: 0xffffffffffffffffn });
    const inl = b.location({ name: 'outer', file: 'a.c', line: 10, kind: 'native', inlined: [{ name: 'helper', file: 'a.c', line: 3 }] });
    const main = b.location({ name: 'main', kind: 'go' });
    const dict = b.dictionary;
    const noFn =
      dict.locationTable.push(create(LocationSchema, { mappingIndex: mapping, address: 0x7f0000001000n, lines: [create(LineSchema, { functionIndex: 0 })] })) -
      1;
    const sysName = dict.functionTable.push({ ...dict.functionTable[1], nameStrindex: 0, systemNameStrindex: b.string('_ZN3sys4nameEv'), startLine: 42n }) - 1;
    const sysLoc = dict.locationTable.push(create(LocationSchema, { lines: [create(LineSchema, { functionIndex: sysName, line: -3n })] })) - 1;
    const startLine = dict.locationTable.push(create(LocationSchema, { lines: [create(LineSchema, { functionIndex: sysName })] })) - 1;
    for (const leaf of [unnamed, below, bare, inl, noFn, sysLoc, startLine]) b.addSample(p, b.stack([leaf, main]), { value: 1 });
    b.addSample(p, b.stack([0, main]), { value: 1 });
    cases.push(['frames: addresses, inlined, system names, start lines', b.build()]);
  }
  {
    const req = requestFromFolded([{ resource: {}, folded: 'main;x 2' }]);
    const strings = req.dictionary!.stringTable;
    const ref = (s: string): number => strings.push(s) - 1;
    const attrs = req.resourceProfiles[0].resource!.attributes;
    attrs.push(
      create(KeyValueSchema, {
        keyStrindex: ref('k8s.namespace.name'),
        value: create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: ref('prod') } }),
      }),
      create(KeyValueSchema, {
        keyStrindex: ref('k8s.deployment.name'),
        value: create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: ref('api') } }),
      }),
      create(KeyValueSchema, {
        key: 'list',
        value: create(AnyValueSchema, {
          value: { case: 'arrayValue', value: { values: [create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: ref('item') } })] } },
        }),
      }),
      create(KeyValueSchema, { key: 'raw', value: create(AnyValueSchema, { value: { case: 'bytesValue', value: Uint8Array.of(1, 2, 3) } }) }),
      create(KeyValueSchema, { key: 'big', value: create(AnyValueSchema, { value: { case: 'intValue', value: 1n << 60n } }) }),
      create(KeyValueSchema, { key: 'pi', value: create(AnyValueSchema, { value: { case: 'doubleValue', value: 3.14 } }) }),
    );
    cases.push(['attributes by reference and of every kind', req]);
  }
  {
    const req = requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main 1' }]);
    req.resourceProfiles[0].scopeProfiles[0].profiles[0].samples = [];
    req.dictionary = undefined;
    cases.push(['no dictionary and no samples', req]);
  }
  {
    const b = new RequestBuilder();
    b.profile(K8S_INVENTORY, { periodNanos: 1 });
    const req = b.build();
    req.dictionary = undefined;
    cases.push(['a sample type but no dictionary', req]);
  }
  cases.push(['empty request', new RequestBuilder().build()]);
  return cases;
}

test('hand-built requests aggregate identically, with and without windows', () => {
  for (const [name, req] of handBuilt()) {
    const bytes = encodeRequest(req);
    assertSame(bytes, {}, name);
    assertSame(bytes, { from: MS0 + 0.000001, to: MS0 + 5000 }, `${name} windowed`);
    assertSame(bytes, { workload: 'default/Deployment/inventory' }, `${name} one workload`);
  }
  assertSame(new Uint8Array(0), {}, 'zero bytes');
});

const SAMPLE0 = (r: ExportProfilesServiceRequest) => r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0];

/** The validation cases of codec.test.ts, plus the decode failures protobuf-es reports. */
const BROKEN: [string, (r: ExportProfilesServiceRequest) => void][] = [
  ['stack index past the stack table', (r) => (SAMPLE0(r).stackIndex = 913)],
  ['negative stack index', (r) => (SAMPLE0(r).stackIndex = -1)],
  ['location index in a stack', (r) => (r.dictionary!.stackTable[1].locationIndices[1] = 99)],
  ['function index in a line', (r) => (r.dictionary!.locationTable[1].lines[0].functionIndex = 500)],
  ['mapping index', (r) => (r.dictionary!.locationTable[1].mappingIndex = 7)],
  ['function name string', (r) => (r.dictionary!.functionTable[1].nameStrindex = 10_000)],
  ['sample attribute', (r) => SAMPLE0(r).attributeIndices.push(42)],
  ['link index', (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[1].linkIndex = 3)],
  ['resource attribute key by reference', (r) => r.resourceProfiles[0].resource!.attributes.push(create(KeyValueSchema, { keyStrindex: 777 }))],
  [
    'resource attribute value by reference',
    (r) =>
      r.resourceProfiles[0].resource!.attributes.push(
        create(KeyValueSchema, { key: 'x', value: create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: 888 } }) }),
      ),
  ],
  ['missing dictionary', (r) => (r.dictionary = undefined)],
  ['negative sample value', (r) => (SAMPLE0(r).values[0] = -5n)],
  ['huge negative sample value', (r) => (SAMPLE0(r).values[0] = -(1n << 62n) - 7n)],
  [
    'values and timestamps of different lengths',
    (r) => {
      SAMPLE0(r).values = [1n, 2n];
      SAMPLE0(r).timestampsUnixNano = [1n, 2n, 3n];
    },
  ],
  ['profile id of the wrong length', (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].profileId = new Uint8Array(5))],
  ['negative period', (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].period = -50n)],
  ['trace id of the wrong length', (r) => (r.dictionary!.linkTable[0].traceId = new Uint8Array(3))],
  ['span id of the wrong length', (r) => (r.dictionary!.linkTable[0].spanId = new Uint8Array(9))],
  ['sample type string', (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].sampleType!.unitStrindex = 5000)],
  ['profile attribute', (r) => r.resourceProfiles[0].scopeProfiles[0].profiles[0].attributeIndices.push(3)],
  ['mapping file name', (r) => (r.dictionary!.mappingTable[0].filenameStrindex = 999)],
  ['attribute table key', (r) => (r.dictionary!.attributeTable[0].keyStrindex = 999)],
  [
    'scope attribute value nested in a list',
    (r) =>
      r.resourceProfiles[0].scopeProfiles[0].scope!.attributes.push(
        create(KeyValueSchema, {
          key: 'k',
          value: create(AnyValueSchema, {
            value: { case: 'kvlistValue', value: { values: [create(KeyValueSchema, { keyStrindex: 1234 })] } },
          }),
        }),
      ),
  ],
];

function valid(): ExportProfilesServiceRequest {
  return requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;serve;handle 3\nmain;idle 2' }]);
}

/** Raw byte strings protobuf-es refuses (or, for the quirks, accepts) and why. */
function malformedBytes(): [string, Uint8Array][] {
  const good = encodeRequest(valid());
  const cases: [string, Uint8Array][] = [];
  for (const cut of [1, 2, 7, 50, Math.floor(good.length / 2), good.length - 1]) cases.push([`truncated at ${cut}`, good.subarray(0, cut)]);
  cases.push(['huge length', Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])]);
  cases.push(['packed values claiming a billion bytes', Uint8Array.from([0x22, 0x80, 0x94, 0xeb, 0xdc, 0x03, 1])]);
  cases.push(['wire type 7', Uint8Array.from([0x0f, 0x00])]);
  cases.push(['field number 0', Uint8Array.from([0x02, 0x00])]);
  cases.push(['end group without start', Uint8Array.from([0x1c])]);
  cases.push(['unknown group, well formed', Uint8Array.from([0x1b, 0x08, 0x01, 0x1c])]);
  cases.push(['unknown group, wrong end', Uint8Array.from([0x1b, 0x08, 0x01, 0x24])]);
  cases.push([
    'unknown fields of every wire type',
    Uint8Array.from([0x18, 0x96, 0x01, 0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x2a, 0x01, 0x00, 0x35, 1, 2, 3, 4, ...good]),
  ]);
  cases.push(['eleven-byte varint', Uint8Array.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]);
  cases.push(['tag overflowing uint32', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x7f])]);
  cases.push(['six-byte tag', Uint8Array.from([0x88, 0x80, 0x80, 0x80, 0x80, 0x00])]);
  // Dictionary with a non-UTF-8 string, and with a bare fixed64 at the end.
  cases.push(['invalid UTF-8 in the string table', Uint8Array.from([0x12, 0x04, 0x2a, 0x02, 0xc3, 0x28])]);
  cases.push(['invalid UTF-8 in a long string', Uint8Array.from([0x12, 0x2a, 0x2a, 0x28, ...Array(39).fill(0x61), 0xff])]);
  cases.push(['short fixed64 timestamp', Uint8Array.from([0x0a, 0x0b, 0x12, 0x09, 0x12, 0x07, 0x12, 0x05, 0x29, 0x01, 0x02, 0x03, 0x04])]);
  // A sub-message shorter than its content: protobuf-es reads on past its end.
  cases.push(['sub-message overrunning its length', Uint8Array.from([0x12, 0x02, 0x2a, 0x03, 0x61, 0x62, 0x63])]);
  // Attribute values nested in arrays: fine, past validation's 32 levels, past protobuf-es's
  // recursion limit of 100 messages.
  for (const levels of [20, 40, 110]) {
    let value = [0x18, 0x01];
    for (let i = 0; i < levels; i++) value = arrayOf(value);
    const kv = [0x0a, 0x01, 0x6b, 0x12, ...varint(value.length), ...value];
    const resource = [0x0a, ...varint(kv.length), ...kv];
    const rp = [0x0a, ...varint(resource.length), ...resource];
    cases.push([`attribute value nested ${levels} deep`, Uint8Array.from([0x0a, ...varint(rp.length), ...rp])]);
  }
  return cases;
}

/** An AnyValue holding an array whose one element is `inner` (an AnyValue's bytes). */
function arrayOf(inner: number[]): number[] {
  const array = [0x0a, ...varint(inner.length), ...inner];
  return [0x2a, ...varint(array.length), ...array];
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

test('malformed and invalid input is rejected the same way, with the same message', () => {
  for (const [name, breakIt] of BROKEN) {
    const req = valid();
    breakIt(req);
    const slow = assertSame(encodeRequest(req), {}, name);
    assert.ok('error' in slow, `${name}: rejected`);
  }
  for (const [name, bytes] of malformedBytes()) assertSame(bytes, {}, name);
});

// Random requests: a few frames, resources and sample shapes, built with RequestBuilder.
const frameArb: fc.Arbitrary<FrameSpec> = fc.record(
  {
    name: fc.constantFrom('main', 'serve', 'handle', 'parse', 'gc', 'walk', 'héllo'),
    file: fc.constantFrom('', 'a.go', 'src/b.rs'),
    line: fc.integer({ min: 0, max: 50 }),
    binary: fc.constantFrom('', 'app', '/usr/lib/libc.so.6'),
    kind: fc.constantFrom('', 'native', 'kernel', 'go'),
    address: fc.bigInt({ min: 0n, max: 1n << 40n }),
  },
  { requiredKeys: ['address'] },
);
const resourceArb = fc.constantFrom<Record<string, SimpleValue>>(
  K8S_INVENTORY,
  K8S_CHECKOUT,
  { 'service.name': 'billing' },
  { 'process.executable.name': 'node', 'process.pid': 7 },
  {},
);
const sampleArb = fc.record({
  stack: fc.array(frameArb, { minLength: 0, maxLength: 5 }),
  value: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  timestamps: fc.option(fc.array(fc.bigInt({ min: T0, max: T0 + 3_000_000_000n }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  thread: fc.option(fc.constantFrom('w1', 'w2'), { nil: undefined }),
});
const profileArb = fc.record({
  resource: resourceArb,
  periodNanos: fc.constantFrom(0, 1, 10_000_000, 50_000_000),
  sampleType: fc.constantFrom<[string, string] | undefined>(
    undefined,
    ['cpu', 'nanoseconds'],
    ['alloc_space', 'bytes'],
    ['off_cpu', 'nanoseconds'],
    ['', ''],
    ['alloc_space', ''],
  ),
  periodType: fc.constantFrom<[string, string] | null | undefined>(undefined, null, ['wall', 'nanoseconds']),
  shareScope: fc.boolean(),
  timeUnixNano: fc.constantFrom(0n, T0),
  samples: fc.array(sampleArb, { maxLength: 4 }),
});
const requestArb = fc.array(profileArb, { minLength: 1, maxLength: 3 }).map((profiles) => {
  const b = new RequestBuilder();
  for (const p of profiles) {
    const profile = b.profile(p.resource, {
      periodNanos: p.periodNanos,
      sampleType: p.sampleType,
      periodType: p.periodType,
      shareScope: p.shareScope,
      timeUnixNano: p.timeUnixNano,
      durationNano: 1_000_000_000n,
    });
    for (const s of p.samples) {
      b.addSample(profile, b.stackOfFrames(s.stack), {
        value: s.value,
        timestamps: s.timestamps,
        attributes: s.thread ? { 'thread.name': s.thread } : undefined,
      });
    }
  }
  return encodeRequest(b.build());
});
const optsArb = fc.constantFrom<AggregateOptions>({}, { from: MS0 + 500 }, { from: MS0, to: MS0 + 1000 }, { workload: 'shop/StatefulSet/checkout' });

test('property: random requests and random mutations of them agree on both paths', () => {
  fc.assert(
    fc.property(requestArb, optsArb, (bytes, opts) => {
      assertSame(bytes, opts);
    }),
    { seed: 20261124, numRuns: 600 },
  );
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), byte: fc.constant(0) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  );
  fc.assert(
    fc.property(requestArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (bytes, mutations) => {
      let b = Uint8Array.from(bytes);
      for (const m of mutations) {
        if (b.length === 0) break;
        const at = m.at % b.length;
        if (m.kind === 'set') b[at] = m.byte;
        else if (m.kind === 'cut') b = b.subarray(0, at);
        else b = Uint8Array.from([...b.subarray(0, at), m.byte, ...b.subarray(at)]);
      }
      assertSame(b);
    }),
    { seed: 424242, numRuns: 2500 },
  );
});
