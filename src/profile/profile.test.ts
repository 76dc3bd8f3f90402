import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Profile as PprofProfile } from 'pprof-format';
import { create } from '@bufbuild/protobuf';
import { encodeRequest, decodeRequest } from '../otlp/codec.js';
import { RequestBuilder } from '../otlp/builder.js';
import { LineSchema, LocationSchema } from '../otlp/messages.js';
import { requestFromFolded, folded, K8S_INVENTORY, K8S_CHECKOUT } from '../../test/helpers/fixtures.js';
import { aggregateRequest, mergeWorkloadProfile, emptyWorkloadProfile } from './aggregate.js';
import { foldedStacks } from './folded.js';
import { symbolsTable } from './symbols.js';
import { flameGraph } from './flame.js';
import { toPprof } from './pprof.js';
import { workloadOf } from './workload.js';
import { CallTree } from './calltree.js';
import type { Frame } from './frames.js';

const STACKS = `
main;serve;handle;parse 30
main;serve;handle;render 20
main;serve;gc 5
main;idle 45
`;

function only<T>(m: Map<string, T>): T {
  assert.equal(m.size, 1, `expected one workload, got ${[...m.keys()].join(', ')}`);
  return [...m.values()][0];
}

test('aggregation reproduces the folded stacks it was given, exactly', () => {
  const req = requestFromFolded([{ resource: K8S_INVENTORY, folded: STACKS }]);
  const p = only(aggregateRequest(req));
  assert.equal(p.workload.key, 'default/Deployment/inventory');
  assert.equal(foldedStacks(p.tree), folded(STACKS));
  assert.equal(p.samples, 100);
  assert.equal(p.cpuNanos, 100 * 50_000_000);
});

test('symbols: self is leaf samples, total counts a recursive function once per sample', () => {
  const req = requestFromFolded([
    {
      resource: K8S_INVENTORY,
      folded: `
main;walk;walk;walk 5
main;walk;visit 3
main;walk;walk;visit 4
main;visit 2
`,
    },
  ]);
  const rows = symbolsTable(only(aggregateRequest(req)).tree);
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  assert.deepEqual(
    { self: byName.walk.self, total: byName.walk.total },
    { self: 5, total: 12 },
    'walk appears up to three times per stack but its total is 5 + 3 + 4',
  );
  assert.deepEqual({ self: byName.visit.self, total: byName.visit.total }, { self: 9, total: 9 });
  assert.deepEqual({ self: byName.main.self, total: byName.main.total }, { self: 0, total: 14 });
  assert.equal(rows[0].name, 'visit', 'sorted by self, descending');
  assert.equal(byName.walk.totalNanos, 12 * 50_000_000);
});

test('a request with several resources is split by workload key', () => {
  const req = requestFromFolded([
    { resource: K8S_INVENTORY, folded: 'main;a 3' },
    { resource: K8S_CHECKOUT, folded: 'main;b 4' },
    { resource: { 'service.name': 'billing' }, folded: 'main;c 5' },
    { resource: { 'process.executable.name': 'node', 'process.pid': 42 }, folded: 'main;d 6' },
    // A second pod of the same Deployment shares its workload.
    { resource: { ...K8S_INVENTORY, 'k8s.pod.name': 'inventory-7d9f-xyz' }, folded: 'main;a 7' },
  ]);
  const byKey = aggregateRequest(req);
  assert.deepEqual([...byKey.keys()].sort(), ['default/Deployment/inventory', 'host/Process/node', 'host/Service/billing', 'shop/StatefulSet/checkout']);
  assert.equal(foldedStacks(byKey.get('default/Deployment/inventory')!.tree), 'main;a 10\n');
  assert.equal(foldedStacks(byKey.get('host/Process/node')!.tree), 'main;d 6\n');
  const one = aggregateRequest(req, { workload: 'shop/StatefulSet/checkout' });
  assert.deepEqual([...one.keys()], ['shop/StatefulSet/checkout']);
});

test('workload keys follow DESIGN.md precedence', () => {
  const cases: [Record<string, string>, string][] = [
    [{ 'k8s.namespace.name': 'ns', 'k8s.statefulset.name': 's', 'k8s.job.name': 'j' }, 'ns/StatefulSet/s'],
    [{ 'k8s.namespace.name': 'ns', 'k8s.daemonset.name': 'd' }, 'ns/DaemonSet/d'],
    [{ 'k8s.namespace.name': 'ns', 'k8s.cronjob.name': 'c', 'k8s.job.name': 'c-123' }, 'ns/CronJob/c'],
    [{ 'k8s.namespace.name': 'ns', 'k8s.job.name': 'j' }, 'ns/Job/j'],
    [{ 'k8s.namespace.name': 'ns', 'k8s.pod.name': 'p' }, 'ns/Pod/p'],
    [{ 'service.name': 'nginx', 'process.executable.name': 'nginx-worker' }, 'host/Service/nginx'],
    [{ 'service.name': 'nginx' }, 'host/Service/nginx'],
    // A service.name that repeats the executable's or container's name is a sampler's fill-in.
    [{ 'service.name': 'python3.11', 'process.executable.name': 'python3.11' }, 'host/Process/python3.11'],
    [{ 'service.name': '0123456789ab', 'container.id': '0123456789abcdef0123' }, 'host/Container/0123456789ab'],
    [{ 'service.name': 'api', 'service.namespace': 'prod' }, 'prod/Service/api'],
    [{ 'service.name': 'unknown_service:node', 'process.executable.name': 'node' }, 'host/Process/node'],
    [{ 'container.id': '0123456789abcdef0123' }, 'host/Container/0123456789ab'],
    [{ 'process.executable.path': '/usr/bin/python3.11' }, 'host/Process/python3.11'],
    [{}, 'host/Process/unknown'],
  ];
  for (const [attrs, key] of cases) assert.equal(workloadOf(attrs).key, key, JSON.stringify(attrs));
});

test('resource attributes given by string-table reference resolve like plain ones', () => {
  const req = requestFromFolded([{ resource: {}, folded: 'main;x 2' }]);
  const strings = req.dictionary!.stringTable;
  const attrs = req.resourceProfiles[0].resource!.attributes;
  const ref = (s: string): number => strings.push(s) - 1;
  attrs.push(
    {
      $typeName: 'opentelemetry.proto.common.v1.KeyValue',
      key: '',
      keyStrindex: ref('k8s.namespace.name'),
      value: { $typeName: 'opentelemetry.proto.common.v1.AnyValue', value: { case: 'stringValueStrindex', value: ref('prod') } },
    },
    {
      $typeName: 'opentelemetry.proto.common.v1.KeyValue',
      key: '',
      keyStrindex: ref('k8s.deployment.name'),
      value: { $typeName: 'opentelemetry.proto.common.v1.AnyValue', value: { case: 'stringValueStrindex', value: ref('api') } },
    },
  );
  const decoded = decodeRequest(encodeRequest(req), 'protobuf');
  assert.deepEqual([...aggregateRequest(decoded).keys()], ['prod/Deployment/api']);
});

test('JSON and protobuf encodings of one request aggregate identically', () => {
  const req = requestFromFolded([
    { resource: K8S_INVENTORY, folded: STACKS },
    { resource: K8S_CHECKOUT, folded: 'main;b;c 4' },
  ]);
  req.resourceProfiles[0].scopeProfiles[0].profiles[0].profileId = Uint8Array.from({ length: 16 }, (_, i) => i);
  const viaPb = aggregateRequest(decodeRequest(encodeRequest(req, 'protobuf'), 'protobuf'));
  const jsonBytes = encodeRequest(req, 'json');
  assert.match(Buffer.from(jsonBytes).toString(), /"profileId":"000102030405060708090a0b0c0d0e0f"/, 'ids are hex in OTLP/JSON');
  const viaJson = aggregateRequest(decodeRequest(jsonBytes, 'json'));
  assert.deepEqual([...viaJson.keys()], [...viaPb.keys()]);
  for (const [key, p] of viaPb) {
    assert.equal(foldedStacks(viaJson.get(key)!.tree), foldedStacks(p.tree));
    assert.equal(viaJson.get(key)!.cpuNanos, p.cpuNanos);
  }
});

test('a sample without values counts its timestamps; one with neither counts 1', () => {
  const b = new RequestBuilder();
  const profile = b.profile(K8S_INVENTORY, { periodNanos: 10_000_000 });
  const s1 = b.stackOfFrames([{ name: 'main' }, { name: 'tick' }]);
  const s2 = b.stackOfFrames([{ name: 'main' }, { name: 'tock' }]);
  b.addSample(profile, s1, { timestamps: [1n, 2n, 3n] });
  b.addSample(profile, s2, {});
  const p = only(aggregateRequest(b.build()));
  assert.equal(foldedStacks(p.tree), 'main;tick 3\nmain;tock 1\n');
  assert.equal(p.cpuNanos, 4 * 10_000_000);
});

test('the time window keeps only samples inside [from, to)', () => {
  const t0 = 1_700_000_000_000n * 1_000_000n; // ns
  const req = requestFromFolded([
    { resource: K8S_INVENTORY, folded: 'main;early 5', timestampsAt: t0 },
    { resource: K8S_INVENTORY, folded: 'main;late 7', timestampsAt: t0 + 10_000_000_000n },
  ]);
  const ms0 = Number(t0 / 1_000_000n);
  const early = only(aggregateRequest(req, { from: ms0, to: ms0 + 5000 }));
  assert.equal(foldedStacks(early.tree), 'main;early 5\n');
  const late = only(aggregateRequest(req, { from: ms0 + 5000 }));
  assert.equal(foldedStacks(late.tree), 'main;late 7\n');
  const all = only(aggregateRequest(req));
  assert.equal(all.samples, 12);
  assert.equal(all.startMs, ms0);
  assert.equal(all.endMs, ms0 + 10_000 + 6);
});

test('inlined lines expand to frames, callee first within a location', () => {
  const b = new RequestBuilder();
  const profile = b.profile(K8S_INVENTORY, { periodNanos: 1 });
  const leaf = b.location({ name: 'outer', file: 'a.c', line: 10, inlined: [{ name: 'inlined_helper', file: 'a.c', line: 3 }] });
  const root = b.location({ name: 'main' });
  b.addSample(profile, b.stack([leaf, root]), { value: 2 });
  assert.equal(foldedStacks(only(aggregateRequest(b.build())).tree), 'main;outer;inlined_helper 2\n');
});

test('frames without a function are named binary+0xoffset, never dropped', () => {
  const b = new RequestBuilder();
  const profile = b.profile(K8S_INVENTORY, { periodNanos: 1 });
  const mapping = b.mapping('/usr/lib/libfoo.so', 0x7f0000000000n, 0x7f0000100000n, 0x1000n);
  const unnamed = b.location({ address: 0x7f0000000a2bn }, mapping);
  const bare = b.location({ address: 0xdeadn });
  const main = b.location({ name: 'main' });
  b.addSample(profile, b.stack([unnamed, main]), { value: 1 });
  b.addSample(profile, b.stack([bare, main]), { value: 1 });
  assert.equal(foldedStacks(only(aggregateRequest(b.build())).tree), 'main;0xdead 1\nmain;libfoo.so+0x1a2b 1\n');
});

test('a location with a line whose function is unset falls back to binary+offset', () => {
  const b = new RequestBuilder();
  const profile = b.profile(K8S_INVENTORY, { periodNanos: 1 });
  const mapping = b.mapping('app', 0x400000n, 0x500000n, 0n);
  const dict = b.dictionary;
  const loc =
    dict.locationTable.push(create(LocationSchema, { mappingIndex: mapping, address: 0x401000n, lines: [create(LineSchema, { functionIndex: 0 })] })) - 1;
  b.addSample(profile, b.stack([loc]), { value: 1 });
  assert.equal(foldedStacks(only(aggregateRequest(b.build())).tree), 'app+0x1000 1\n');
});

test('flame graph: pre-order with depth, children by name, totals and self exact', () => {
  const p = only(aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: STACKS }])));
  const fg = flameGraph(p.tree);
  const rows = fg.frame.map((f, i) => `${'  '.repeat(fg.depth[i])}${f < 0 ? 'all' : fg.frames.name[f]} ${fg.total[i]}/${fg.self[i]}`);
  assert.deepEqual(rows, [
    'all 100/0',
    '  main 100/0',
    '    idle 45/45',
    '    serve 55/0',
    '      gc 5/5',
    '      handle 50/0',
    '        parse 30/30',
    '        render 20/20',
  ]);
});

test('flame graph and symbols are cached per tree until the tree changes', () => {
  const p = only(aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 1\nmain;b 2' }])));
  const fg = flameGraph(p.tree);
  const rows = symbolsTable(p.tree);
  assert.equal(flameGraph(p.tree), fg, 'an unchanged tree gives the same graph object');
  assert.equal(symbolsTable(p.tree), rows);
  p.tree.add(p.tree.path([p.tree.frames.intern({ name: 'main', file: '', line: 0, binary: '', kind: '' })]), 4, 0);
  assert.deepEqual(flameGraph(p.tree).total.slice(0, 2), [7, 7], 'new samples show in the next graph');
  assert.equal(symbolsTable(p.tree).find((r) => r.name === 'main')!.self, 4);
  const other = only(aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;c 5' }])));
  mergeWorkloadProfile(p, other);
  assert.ok(
    flameGraph(p.tree).frame.some((f) => f >= 0 && flameGraph(p.tree).frames.name[f] === 'c'),
    'a merge shows in the next graph',
  );
});

test('merging chunks of one workload adds their trees', () => {
  const a = only(aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 1\nmain;b 2' }])));
  const b = only(aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;b 3\nmain;c;d 4' }])));
  const merged = emptyWorkloadProfile(a.workload);
  mergeWorkloadProfile(merged, a);
  mergeWorkloadProfile(merged, b);
  assert.equal(foldedStacks(merged.tree), 'main;a 1\nmain;b 5\nmain;c;d 4\n');
  assert.equal(merged.samples, 10);
});

test('other profile types are kept apart, never mixed into CPU time', () => {
  const b = new RequestBuilder();
  const cpu = b.profile(K8S_INVENTORY, { periodNanos: 1 });
  const alloc = b.profile(K8S_INVENTORY, { periodNanos: 1, sampleType: ['alloc_space', 'bytes'], periodType: ['space', 'bytes'] });
  b.addSample(cpu, b.stackOfFrames([{ name: 'main' }]), { value: 2 });
  b.addSample(alloc, b.stackOfFrames([{ name: 'malloc' }]), { value: 4096 });
  const p = only(aggregateRequest(b.build()));
  assert.equal(foldedStacks(p.tree), 'main 2\n');
  assert.equal(p.skippedProfiles, 0, 'an allocation profile is a type of its own, not a skipped one');
  const a = only(aggregateRequest(b.build(), { type: 'alloc_space:bytes' }));
  assert.equal(foldedStacks(a.tree), 'malloc 4096\n');
  assert.deepEqual([a.samples, a.cpuNanos], [4096, 0]);
});

test('pprof export decodes with pprof-format to the same totals and stacks', () => {
  const p = only(aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: STACKS.replace('parse', 'parse@libapp.so') }])));
  const pprof = PprofProfile.decode(toPprof(p));
  const strings = pprof.stringTable.strings;
  assert.deepEqual(
    pprof.sampleType.map((t) => `${strings[Number(t.type)]}/${strings[Number(t.unit)]}`),
    ['samples/count', 'cpu/nanoseconds'],
  );
  assert.equal(Number(pprof.period), 50_000_000);
  const fnName = new Map(pprof.function.map((f) => [Number(f.id), strings[Number(f.name)]]));
  const locFn = new Map(pprof.location.map((l) => [Number(l.id), fnName.get(Number(l.line[0].functionId))!]));
  const lines = pprof.sample.map(
    (s) =>
      `${s.locationId
        .map((id) => locFn.get(Number(id)))
        .reverse()
        .join(';')} ${s.value[0]}`,
  );
  assert.equal(folded(lines.join('\n')), folded(STACKS));
  const cpu = pprof.sample.reduce((sum, s) => sum + Number(s.value[1]), 0);
  assert.equal(cpu, p.cpuNanos);
  const mappingNames = pprof.mapping.map((m) => strings[Number(m.filename)]);
  assert.deepEqual(mappingNames, ['libapp.so']);
});

test('a tree keeps nanoseconds exact whether it derives them from samples or keeps its own', () => {
  const one = new CallTree();
  const a = one.path([one.frames.intern(frame('main')), one.frames.intern(frame('work'))]);
  const b = one.path([one.frames.intern(frame('main'))]);
  // One period (50 ms): nanos follow from samples, also when a chunk is taken back out.
  one.add(a, 3, 3 * 50e6);
  one.add(b, 2, 2 * 50e6);
  one.add(a, -1, -1 * 50e6);
  assert.deepEqual([...one.selfNanos.subarray(0, one.size)], [0, 100e6, 100e6]);
  assert.deepEqual([...one.totals('nanos').subarray(0, one.size)], [200e6, 200e6, 100e6]);
  // A second period (10 ms) breaks the rule: from then on the tree keeps its own column,
  // and what it had derived carries over.
  one.add(b, 4, 4 * 10e6);
  one.add(a, 0.5, 7);
  assert.deepEqual([...one.selfNanos.subarray(0, one.size)], [0, 100e6 + 40e6, 100e6 + 7]);
  assert.deepEqual([...one.selfSamples.subarray(0, one.size)], [0, 6, 2.5]);
  // Nanoseconds with no samples (a period of 0) are kept, not lost to a derived zero.
  const zero = new CallTree();
  zero.add(zero.path([zero.frames.intern(frame('idle'))]), 0, 1234);
  assert.equal(zero.totals('nanos')[0], 1234);
});

function frame(name: string): Frame {
  return { name, file: '', line: 0, binary: '', kind: '' };
}
