import { create } from '@bufbuild/protobuf';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { makeFleetRequest } from '../../test/helpers/gen.js';
import { makeSeeds } from '../../test/fuzz-harness.js';
import { MessageShaper } from '../../test/helpers/shape-oracle.js';
import { RequestBuilder } from '../otlp/builder.js';
import { decodeRequest, encodeRequest } from '../otlp/codec.js';
import { AnyValueSchema, KeyValueSchema, LinkSchema, SampleSchema, type AnyValue, type ExportProfilesServiceRequest, type KeyValue } from '../otlp/messages.js';
import { readRequest } from '../otlp/read-request.js';
import { aggregateEncoded } from '../profile/aggregate-encoded.js';
import { foldedStacks } from '../profile/folded.js';
import { consumerOf, type ProfilesBatch } from '../pipeline/consumer.js';
import { attributeKeyMatcher, RequestShaper, type ShapePolicy } from './shape.js';
import { ShapingConsumer } from './shaping.js';

const PYROSCOPE = { serviceNameFromWorkload: true, drop: ['process.pid', 'thread.name', 'k8s.pod.name', 'process.environment_variable.*'] };

/** Shapes a built request the way the gateway does: its protobuf bytes, read and validated. */
function shape(policy: ShapePolicy, req: ExportProfilesServiceRequest | Uint8Array) {
  const bytes = req instanceof Uint8Array ? req : encodeRequest(req);
  const result = new RequestShaper(policy).shape(bytes, readRequest(bytes, 'protobuf').wire);
  // Decoding validates every index of the result.
  return { ...result, request: decodeRequest(result.encoded, 'protobuf') };
}

/** Resource attributes as a record, failing on any key or string value given by reference. */
function plainAttributes(kvs: readonly KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) {
    assert.equal(kv.keyStrindex, 0, `${kv.key}: no key_strindex`);
    assert.notEqual(kv.key, '', 'a plain key');
    assert.notEqual(kv.value?.value.case, 'stringValueStrindex', `${kv.key}: no string_value_strindex`);
    out[kv.key] = kv.value?.value.value;
  }
  return out;
}

/** Folded stacks per workload: what a profile backend would show. */
function foldedByWorkload(bytes: Uint8Array): Record<string, string> {
  return Object.fromEntries([...aggregateEncoded(bytes)].map(([key, p]) => [key, foldedStacks(p.tree)]));
}

function stringRef(b: RequestBuilder, s: string): AnyValue {
  return create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: b.string(s) } });
}

/** A Deployment's process with per-thread samples, and a process described by references only. */
function twoProcesses(): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  const opts = { periodNanos: 50_000_000, timeUnixNano: 1_700_000_000_000_000_000n };
  const checkout = b.profile({ 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout', 'k8s.pod.name': 'checkout-5d9f-x', 'process.pid': 4242 }, opts);
  const pay = b.stackOfFrames([{ name: 'main' }, { name: 'pay' }]);
  const idle = b.stackOfFrames([{ name: 'main' }, { name: 'idle' }]);
  b.addSample(checkout, pay, { value: 3, attributes: { 'process.pid': 4242, 'thread.name': 'worker-1' } });
  b.addSample(checkout, pay, { value: 2, attributes: { 'process.pid': 4242, 'thread.name': 'worker-2' } });
  b.addSample(checkout, idle, { value: 1, attributes: { 'thread.name': 'worker-1', 'process.environment_variable.TOKEN': 's3cret' } });
  const other = b.profile({ 'process.executable.name': 'placeholder' }, opts);
  b.addSample(other, b.stackOfFrames([{ name: 'serve' }]), { value: 4 });
  const req = b.build();
  // As the Collector's marshaler writes them: every key and string value by reference.
  const byRef = (key: string, value: string): KeyValue => create(KeyValueSchema, { keyStrindex: b.string(key), value: stringRef(b, value) });
  req.resourceProfiles[1].resource!.attributes = [byRef('service.name', 'payments'), byRef('process.pid', '77'), byRef('host.name', 'node-1')];
  req.resourceProfiles[1].scopeProfiles[0].scope!.attributes = [byRef('scope.kind', 'ebpf')];
  return decodeRequest(encodeRequest(req), 'protobuf');
}

/**
 * A request with every index replaced by what it points at: two requests that resolve equal
 * hold the same data, whatever order their dictionaries keep.
 */
function resolved(req: ExportProfilesServiceRequest): unknown {
  const d = req.dictionary;
  const str = (i: number): string | undefined => d?.stringTable[i];
  const any = (v: AnyValue | undefined): unknown => {
    if (!v) return undefined;
    const x = v.value;
    if (x.case === 'stringValueStrindex') return { strindex: str(x.value) };
    if (x.case === 'arrayValue') return { array: x.value.values.map(any) };
    if (x.case === 'kvlistValue') return { kvlist: x.value.values.map(kv) };
    return { [String(x.case)]: x.value };
  };
  const kv = (k: KeyValue): unknown => ({ key: k.key, keyStr: k.keyStrindex === 0 ? undefined : str(k.keyStrindex), value: any(k.value) });
  const attr = (i: number): unknown => {
    const a = d?.attributeTable[i];
    return a && { key: str(a.keyStrindex), unit: str(a.unitStrindex), value: any(a.value) };
  };
  const fn = (i: number): unknown => {
    const f = d?.functionTable[i];
    return f && [str(f.nameStrindex), str(f.systemNameStrindex), str(f.filenameStrindex), f.startLine];
  };
  const loc = (i: number): unknown => {
    const l = d?.locationTable[i];
    const m = l && d?.mappingTable[l.mappingIndex];
    return (
      l && {
        mapping: m && [m.memoryStart, m.memoryLimit, m.fileOffset, str(m.filenameStrindex), m.attributeIndices.map(attr)],
        address: l.address,
        lines: l.lines.map((x) => [fn(x.functionIndex), x.line, x.column]),
        attrs: l.attributeIndices.map(attr),
      }
    );
  };
  const stack = (i: number): unknown => d?.stackTable[i]?.locationIndices.map(loc);
  const link = (i: number): unknown => d?.linkTable[i] && [d.linkTable[i].traceId, d.linkTable[i].spanId];
  return req.resourceProfiles.map((rp) => ({
    resource: rp.resource && { attrs: rp.resource.attributes.map(kv), dropped: rp.resource.droppedAttributesCount, refs: rp.resource.entityRefs },
    schemaUrl: rp.schemaUrl,
    scopes: rp.scopeProfiles.map((sp) => ({
      scope: sp.scope && { name: sp.scope.name, version: sp.scope.version, attrs: sp.scope.attributes.map(kv) },
      schemaUrl: sp.schemaUrl,
      profiles: sp.profiles.map((p) => ({
        sampleType: p.sampleType && [str(p.sampleType.typeStrindex), str(p.sampleType.unitStrindex)],
        periodType: p.periodType && [str(p.periodType.typeStrindex), str(p.periodType.unitStrindex)],
        time: [p.timeUnixNano, p.durationNano, p.period, p.profileId, p.droppedAttributesCount, p.originalPayloadFormat, p.originalPayload],
        attrs: p.attributeIndices.map(attr),
        samples: p.samples.map((s) => ({
          stack: stack(s.stackIndex),
          link: link(s.linkIndex),
          attrs: s.attributeIndices.map(attr),
          values: s.values,
          ts: s.timestampsUnixNano,
        })),
      })),
    })),
  }));
}

describe('RequestShaper', () => {
  test('writes references out, names the Deployment as the service, drops what the policy lists and merges what became equal', () => {
    const req = twoProcesses();
    const bytes = encodeRequest(req);
    const before = Buffer.from(bytes);
    const { request: back, encoded, counts, stats } = shape(PYROSCOPE, bytes);
    const [checkout, payments] = back.resourceProfiles;
    assert.deepEqual(plainAttributes(checkout.resource?.attributes), {
      'k8s.namespace.name': 'shop',
      'k8s.deployment.name': 'checkout',
      'service.name': 'checkout',
    });
    assert.deepEqual(plainAttributes(payments.resource?.attributes), { 'service.name': 'payments', 'host.name': 'node-1' });
    assert.deepEqual(plainAttributes(payments.scopeProfiles[0].scope?.attributes), { 'scope.kind': 'ebpf' });
    // Without thread and pid the two `pay` samples are one; the stacks and their counts are unchanged.
    const samples = checkout.scopeProfiles[0].profiles[0].samples;
    assert.deepEqual(
      samples.map((s) => [s.values, s.attributeIndices]),
      [
        [[5n], []],
        [[1n], []],
      ],
    );
    assert.deepEqual(foldedByWorkload(encoded), foldedByWorkload(bytes));
    // What was dropped is not sent at all, not even as an unused dictionary entry.
    for (const gone of ['worker-1', 'thread.name', 's3cret', 'checkout-5d9f-x']) assert.ok(!back.dictionary!.stringTable.includes(gone), gone);
    assert.deepEqual(counts, { dropped: { resource: 3, profile: 0, sample: 6 }, filledServiceNames: 1, mergedSamples: 1, unshapedResources: 0 });
    assert.deepEqual(stats, { profiles: 2, samples: 3 });
    assert.deepEqual(Buffer.from(bytes), before, 'the received bytes are left as they were');
  });

  test('references nested in arrays and kvlists are written out too', () => {
    const b = new RequestBuilder();
    b.profile({ 'service.name': 'x' }, { periodNanos: 1 });
    const req = b.build();
    // labels = {team: [ref "perf"]}, every key and string by reference.
    const team = create(KeyValueSchema, { keyStrindex: b.string('team'), value: { value: { case: 'arrayValue', value: { values: [stringRef(b, 'perf')] } } } });
    req.resourceProfiles[0].resource!.attributes.push(
      create(KeyValueSchema, { keyStrindex: b.string('labels'), value: { value: { case: 'kvlistValue', value: { values: [team] } } } }),
    );
    const shaped = shape({ serviceNameFromWorkload: false, drop: [] }, req).request;
    const labels = shaped.resourceProfiles[0].resource!.attributes[1];
    assert.equal(labels.key, 'labels');
    assert.equal(labels.keyStrindex, 0);
    const x = labels.value!.value;
    assert.equal(x.case, 'kvlistValue');
    const teamOut = x.value.values[0];
    assert.deepEqual([teamOut.key, teamOut.keyStrindex], ['team', 0]);
    assert.equal(teamOut.value!.value.case, 'arrayValue');
    assert.deepEqual(teamOut.value!.value.value.values[0].value, { case: 'stringValue', value: 'perf' });
  });

  test('string values of the attribute table are written out; its keys stay references', () => {
    const b = new RequestBuilder();
    const p = b.profile({ 'service.name': 'x' }, { periodNanos: 1 });
    b.addSample(p, b.stackOfFrames([{ name: 'main' }]), { value: 1, attributes: { 'thread.name': 'w' } });
    const req = b.build();
    const d = req.dictionary!;
    const i = d.attributeTable.findIndex((a) => d.stringTable[a.keyStrindex] === 'thread.name');
    d.attributeTable[i].value = stringRef(b, 'worker-9');
    const back = shape({ serviceNameFromWorkload: false, drop: [] }, req).request;
    const entry = back.dictionary!.attributeTable[back.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].attributeIndices[0]];
    assert.equal(back.dictionary!.stringTable[entry.keyStrindex], 'thread.name');
    assert.deepEqual(entry.value?.value, { case: 'stringValue', value: 'worker-9' });
    assert.ok(!back.dictionary!.stringTable.includes('worker-9'), 'the string is no longer referenced');
  });

  test('a service.name that is present is kept; an empty one is replaced; a resource with nothing to name it by gets none', () => {
    const b = new RequestBuilder();
    b.profile({ 'service.name': 'api', 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout' }, { periodNanos: 1 });
    b.profile({ 'service.name': ' ', 'container.name': 'redis' }, { periodNanos: 1 });
    b.profile({ 'host.name': 'node-1' }, { periodNanos: 1 });
    const { request, counts } = shape({ serviceNameFromWorkload: true, drop: [] }, b.build());
    const names = request.resourceProfiles.map((rp) => plainAttributes(rp.resource?.attributes)['service.name']);
    assert.deepEqual(names, ['api', 'redis', undefined]);
    assert.equal(counts.filledServiceNames, 1);
  });

  test('a resource whose shaping fails goes on as it came, and the others are shaped', () => {
    const bytes = encodeRequest(twoProcesses());
    const wire = readRequest(bytes, 'protobuf').wire;
    // Fault injection: the first read of the checkout resource's attributes throws.
    const rp = wire.resourceProfiles[0];
    const attributes = rp.resourceAttributes;
    let reads = 0;
    Object.defineProperty(rp, 'resourceAttributes', {
      get() {
        if (reads++ === 0) throw new Error('unreadable attributes');
        return attributes;
      },
    });
    const { encoded, counts } = new RequestShaper(PYROSCOPE).shape(bytes, wire);
    const back = decodeRequest(encoded, 'protobuf');
    assert.equal(counts.unshapedResources, 1);
    assert.match(String(counts.error), /unreadable attributes/);
    assert.ok('process.pid' in plainAttributes(back.resourceProfiles[0].resource?.attributes), 'the failed resource is as it came');
    assert.equal(back.resourceProfiles[0].scopeProfiles[0].profiles[0].samples.length, 3);
    assert.deepEqual(plainAttributes(back.resourceProfiles[1].resource?.attributes), { 'service.name': 'payments', 'host.name': 'node-1' });
    assert.deepEqual(foldedByWorkload(encoded), foldedByWorkload(bytes));
  });

  test('gives what the message-based oracle gives, on every fuzz seed and fleet request, for each policy', () => {
    const requests: [string, ExportProfilesServiceRequest][] = [
      ['two processes', twoProcesses()],
      ...makeSeeds().map((s): [string, ExportProfilesServiceRequest] => [s.name, s.request]),
      ['fleet', makeFleetRequest({ processes: 20, functions: 200, locations: 400, programs: 4, stacksPerProgram: 20, seed: 3 })],
      ['fleet timestamps', makeFleetRequest({ processes: 6, programs: 2, stacksPerProgram: 10, functions: 50, locations: 80, seed: 4, shape: 'timestamps' })],
    ];
    const policies: ShapePolicy[] = [
      PYROSCOPE,
      { serviceNameFromWorkload: false, drop: [] },
      { serviceNameFromWorkload: true, drop: ['host.*', 'thread.name'] },
    ];
    for (const [name, req] of requests) {
      for (const policy of policies) {
        const bytes = encodeRequest(req);
        const ours = shape(policy, bytes);
        const oracle = new MessageShaper(policy).shape(decodeRequest(bytes, 'protobuf'));
        const what = `${name}, drop ${JSON.stringify(policy.drop)}`;
        assert.deepEqual(resolved(ours.request), resolved(oracle.request), what);
        assert.deepEqual(ours.counts, oracle.counts, what);
        assert.deepEqual([...ours.request.dictionary!.stringTable].sort(), [...oracle.request.dictionary!.stringTable].sort(), `${what}: the strings kept`);
      }
    }
  });
});

describe('merging samples left equal', () => {
  /** One profile's samples, each given as (stack, link, attribute keys, values, timestamps), every one with an attribute the policy drops. */
  function mergeCase(samples: { stack: number; link?: number; attrs?: string[]; values?: bigint[]; ts?: bigint[] }[]) {
    const b = new RequestBuilder();
    const p = b.profile({ 'service.name': 'x' }, { periodNanos: 1 });
    const stacks = [0, b.stackOfFrames([{ name: 'one' }]), b.stackOfFrames([{ name: 'two' }])];
    const dropped = b.attribute('drop', 'me');
    for (const s of samples) {
      const attributeIndices = [...(s.attrs ?? []).map((k) => b.attribute(k, 1)), dropped];
      p.samples.push(
        create(SampleSchema, { stackIndex: stacks[s.stack], linkIndex: s.link ?? 0, attributeIndices, values: s.values ?? [], timestampsUnixNano: s.ts ?? [] }),
      );
    }
    const req = b.build();
    req.dictionary!.linkTable.push(create(LinkSchema, { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2) }));
    const policy = { serviceNameFromWorkload: false, drop: ['drop'] };
    const ours = shape(policy, req);
    const oracle = new MessageShaper(policy).shape(decodeRequest(encodeRequest(req), 'protobuf'));
    assert.deepEqual(resolved(ours.request), resolved(oracle.request), 'as the oracle merges');
    const d = ours.request.dictionary!;
    const name = (stackIndex: number): string => {
      const loc = d.locationTable[d.stackTable[stackIndex].locationIndices[0]];
      return d.stringTable[d.functionTable[loc.lines[0].functionIndex].nameStrindex];
    };
    return ours.request.resourceProfiles[0].scopeProfiles[0].profiles[0].samples.map((s) => [
      name(s.stackIndex),
      s.linkIndex,
      s.attributeIndices.map((i) => d.stringTable[d.attributeTable[i].keyStrindex]),
      s.values,
      s.timestampsUnixNano,
    ]);
  }

  test('sums single values and concatenates timestamps (with their values), one group per shape', () => {
    const out = mergeCase([
      { stack: 1, values: [2n] },
      { stack: 1, ts: [10n] },
      { stack: 1, values: [3n] },
      { stack: 1, ts: [11n, 12n] },
      { stack: 2, values: [1n, 1n], ts: [5n, 6n], attrs: ['a', 'b'] },
      { stack: 2, values: [7n], ts: [8n], attrs: ['b', 'a'] },
      { stack: 1, values: [4n], link: 1 },
    ]);
    assert.deepEqual(out, [
      ['one', 0, [], [5n], []],
      ['one', 0, [], [], [10n, 11n, 12n]],
      ['two', 0, ['a', 'b'], [1n, 1n, 7n], [5n, 6n, 8n]],
      ['one', 1, [], [4n], []],
    ]);
  });

  test('samples of no mergeable shape stay apart', () => {
    assert.equal(
      mergeCase([
        { stack: 1, values: [1n, 2n] },
        { stack: 1, values: [1n, 2n] },
      ]).length,
      2,
    );
  });

  test('sums stay exact past 2^53', () => {
    const big = 2n ** 53n + 1n;
    assert.deepEqual(
      mergeCase([
        { stack: 1, values: [big] },
        { stack: 1, values: [big] },
        { stack: 1, values: [1n] },
      ]),
      [['one', 0, [], [2n * big + 1n], []]],
    );
  });
});

test('attributeKeyMatcher: exact keys, and * for any run of characters', () => {
  const m = attributeKeyMatcher(['process.pid', 'process.environment_variable.*', 'k8s.*.uid']);
  assert.deepEqual(
    ['process.pid', 'process.pid2', 'process.environment_variable.HOME', 'process.environment_variable.', 'k8s.pod.uid', 'k8s.uid', 'processXpid'].map(m),
    [true, false, true, true, true, false, false],
  );
  assert.equal(attributeKeyMatcher([])('anything'), false);
});

describe('ShapingConsumer', () => {
  test('a request that cannot be read goes on as it came, counted', async () => {
    const passed: ProfilesBatch[] = [];
    const registry = new Registry();
    const c = new ShapingConsumer(
      'pyro',
      PYROSCOPE,
      consumerOf((b) => void passed.push(b)),
      registry,
      pino({ level: 'silent' }),
    );
    const batch: ProfilesBatch = {
      get request(): ExportProfilesServiceRequest {
        throw new Error('malformed');
      },
      encoded: new Uint8Array([1, 2, 3]),
    };
    await c.consume(batch);
    assert.equal(passed[0], batch);
    assert.match(await registry.metrics(), /pilotlight_gateway_unshaped_requests_total\{exporter="pyro",reason="undecodable"\} 1/);
  });

  test('hands on the reshaped bytes with their counts, never building the messages of the request', async () => {
    const passed: ProfilesBatch[] = [];
    const c = new ShapingConsumer(
      'pyro',
      PYROSCOPE,
      consumerOf((b) => void passed.push(b)),
      new Registry(),
      pino({ level: 'silent' }),
    );
    const bytes = encodeRequest(twoProcesses());
    const { wire } = readRequest(bytes, 'protobuf');
    const batch: ProfilesBatch = {
      get request(): ExportProfilesServiceRequest {
        throw new Error('the messages were built');
      },
      encoded: bytes,
      wire,
    };
    await c.consume(batch);
    assert.deepEqual(passed[0].stats, { profiles: 2, samples: 3 });
    assert.deepEqual(foldedByWorkload(passed[0].encoded!), foldedByWorkload(bytes));
  });
});
