import { create } from '@bufbuild/protobuf';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { RequestBuilder } from '../otlp/builder.js';
import { decodeRequest, encodeRequest } from '../otlp/codec.js';
import { AnyValueSchema, KeyValueSchema, SampleSchema, type AnyValue, type ExportProfilesServiceRequest, type KeyValue, type Sample } from '../otlp/messages.js';
import { aggregateRequest } from '../profile/aggregate.js';
import { foldedStacks } from '../profile/folded.js';
import { consumerOf, type ProfilesBatch } from '../pipeline/consumer.js';
import { attributeKeyMatcher, mergeEqualSamples, RequestShaper } from './shape.js';
import { ShapingConsumer } from './shaping.js';

const PYROSCOPE = { serviceNameFromWorkload: true, drop: ['process.pid', 'thread.name', 'k8s.pod.name', 'process.environment_variable.*'] };

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
function foldedByWorkload(req: ExportProfilesServiceRequest): Record<string, string> {
  return Object.fromEntries([...aggregateRequest(req)].map(([key, p]) => [key, foldedStacks(p.tree)]));
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

describe('RequestShaper', () => {
  test('writes references out, names the Deployment as the service, drops what the policy lists and merges what became equal', () => {
    const req = twoProcesses();
    const before = encodeRequest(req);
    const { request, counts } = new RequestShaper(PYROSCOPE).shape(req);
    const back = decodeRequest(encodeRequest(request), 'protobuf'); // validates every index
    const [checkout, payments] = back.resourceProfiles;
    assert.deepEqual(plainAttributes(checkout.resource?.attributes), { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout', 'service.name': 'checkout' });
    assert.deepEqual(plainAttributes(payments.resource?.attributes), { 'service.name': 'payments', 'host.name': 'node-1' });
    assert.deepEqual(plainAttributes(payments.scopeProfiles[0].scope?.attributes), { 'scope.kind': 'ebpf' });
    // Without thread and pid the two `pay` samples are one; the stacks and their counts are unchanged.
    const samples = checkout.scopeProfiles[0].profiles[0].samples;
    assert.deepEqual(samples.map((s) => [s.values, s.attributeIndices]), [[[5n], []], [[1n], []]]);
    assert.deepEqual(foldedByWorkload(back), foldedByWorkload(req));
    // What was dropped is not sent at all, not even as an unused dictionary entry.
    for (const gone of ['worker-1', 'thread.name', 's3cret', 'checkout-5d9f-x']) assert.ok(!back.dictionary!.stringTable.includes(gone), gone);
    assert.deepEqual(counts, { dropped: { resource: 3, profile: 0, sample: 6 }, filledServiceNames: 1, mergedSamples: 1, unshapedResources: 0 });
    assert.deepEqual(encodeRequest(req), before, 'the input request is left as it was');
  });

  test('references nested in arrays and kvlists are written out too', () => {
    const b = new RequestBuilder();
    b.profile({ 'service.name': 'x' }, { periodNanos: 1 });
    const req = b.build();
    // labels = {team: [ref "perf"]}, every key and string by reference.
    const team = create(KeyValueSchema, { keyStrindex: b.string('team'), value: { value: { case: 'arrayValue', value: { values: [stringRef(b, 'perf')] } } } });
    req.resourceProfiles[0].resource!.attributes.push(create(KeyValueSchema, { keyStrindex: b.string('labels'), value: { value: { case: 'kvlistValue', value: { values: [team] } } } }));
    const shaped = decodeRequest(encodeRequest(new RequestShaper({ serviceNameFromWorkload: false, drop: [] }).shape(req).request), 'protobuf');
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

  test('a service.name that is present is kept; an empty one is replaced; a resource with nothing to name it by gets none', () => {
    const b = new RequestBuilder();
    b.profile({ 'service.name': 'api', 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout' }, { periodNanos: 1 });
    b.profile({ 'service.name': ' ', 'container.name': 'redis' }, { periodNanos: 1 });
    b.profile({ 'host.name': 'node-1' }, { periodNanos: 1 });
    const { request, counts } = new RequestShaper({ serviceNameFromWorkload: true, drop: [] }).shape(b.build());
    const names = request.resourceProfiles.map((rp) => plainAttributes(rp.resource?.attributes)['service.name']);
    assert.deepEqual(names, ['api', 'redis', undefined]);
    assert.equal(counts.filledServiceNames, 1);
  });

  test('a resource whose shaping fails goes on as it came, and the others are shaped', () => {
    const req = twoProcesses();
    // Fault injection: the first read of the checkout resource's attributes throws.
    const resource = req.resourceProfiles[0].resource!;
    const attributes = resource.attributes;
    let reads = 0;
    Object.defineProperty(resource, 'attributes', {
      get() {
        if (reads++ === 0) throw new Error('unreadable attributes');
        return attributes;
      },
    });
    const { request, counts } = new RequestShaper(PYROSCOPE).shape(req);
    const back = decodeRequest(encodeRequest(request), 'protobuf');
    assert.equal(counts.unshapedResources, 1);
    assert.match(String(counts.error), /unreadable attributes/);
    assert.ok('process.pid' in plainAttributes(back.resourceProfiles[0].resource?.attributes), 'the failed resource is as it came');
    assert.equal(back.resourceProfiles[0].scopeProfiles[0].profiles[0].samples.length, 3);
    assert.deepEqual(plainAttributes(back.resourceProfiles[1].resource?.attributes), { 'service.name': 'payments', 'host.name': 'node-1' });
  });
});

describe('mergeEqualSamples', () => {
  const sample = (init: Partial<Pick<Sample, 'stackIndex' | 'attributeIndices' | 'linkIndex' | 'values' | 'timestampsUnixNano'>>) => create(SampleSchema, init);

  test('sums single values and concatenates timestamps (with their values), one group per shape', () => {
    const input = [
      sample({ stackIndex: 1, values: [2n] }),
      sample({ stackIndex: 1, timestampsUnixNano: [10n] }),
      sample({ stackIndex: 1, values: [3n] }),
      sample({ stackIndex: 1, timestampsUnixNano: [11n, 12n] }),
      sample({ stackIndex: 2, values: [1n, 1n], timestampsUnixNano: [5n, 6n], attributeIndices: [3, 4] }),
      sample({ stackIndex: 2, values: [7n], timestampsUnixNano: [8n], attributeIndices: [4, 3] }),
      sample({ stackIndex: 1, values: [4n], linkIndex: 1 }),
    ];
    const copy = input.map((s) => create(SampleSchema, s));
    const out = mergeEqualSamples(input);
    assert.deepEqual(
      out.map((s) => [s.stackIndex, s.linkIndex, s.values, s.timestampsUnixNano]),
      [
        [1, 0, [5n], []],
        [1, 0, [], [10n, 11n, 12n]],
        [2, 0, [1n, 1n, 7n], [5n, 6n, 8n]],
        [1, 1, [4n], []],
      ],
    );
    assert.deepEqual(input, copy, 'the input samples are not modified');
  });

  test('samples of no mergeable shape stay apart', () => {
    const two = sample({ stackIndex: 1, values: [1n, 2n] });
    assert.equal(mergeEqualSamples([two, sample({ stackIndex: 1, values: [1n, 2n] })]).length, 2);
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
  test('a request that cannot be decoded goes on as it came, counted', async () => {
    const passed: ProfilesBatch[] = [];
    const registry = new Registry();
    const c = new ShapingConsumer('pyro', PYROSCOPE, consumerOf((b) => void passed.push(b)), registry, pino({ level: 'silent' }));
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
});
