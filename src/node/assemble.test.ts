import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestBuilder, type SimpleValue } from '../otlp/builder.js';
import { decodeRequest } from '../otlp/codec.js';
import type { ExportProfilesServiceRequest, Profile, Sample } from '../otlp/messages.js';
import { validateRequest } from '../otlp/validate.js';
import { readWireRequest } from '../otlp/wire/request.js';
import { aggregateRequest } from '../profile/aggregate.js';
import { foldedStacks } from '../profile/folded.js';
import { AssemblerCache, BUILD_ID_ATTRIBUTE, RequestAssembler, type ResolvedSample } from './assemble.js';
import type { SymFrame } from './symbolize/symbolizer.js';

/**
 * The reference: the same request built as messages with the RequestBuilder (what the sampler
 * sent before it wrote the encoding itself).
 */
function referenceRequest(o: { hz: number; windowStartMs: number; windowEndMs: number }, samples: ResolvedSample[]): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  const merged = new Map<string, Sample>();
  for (const s of samples) {
    const locs = s.frames.map((f) => b.location(f, f.binary ? b.mapping(f.binary, 0n, 0n, 0n, f.buildId ? { [BUILD_ID_ATTRIBUTE]: f.buildId } : {}) : 0));
    const stack = b.stack(locs);
    const profile: Profile = b.profile(s.resource, {
      periodNanos: 1e9 / o.hz,
      timeUnixNano: BigInt(Math.round(o.windowStartMs)) * 1_000_000n,
      durationNano: BigInt(Math.max(0, Math.round(o.windowEndMs - o.windowStartMs))) * 1_000_000n,
    });
    const attrKey = Object.entries(s.attributes)
      .map(([k, v]) => `${k}=${typeof v}:${v}`)
      .sort()
      .join('\0');
    const key = `${JSON.stringify(Object.entries(s.resource).sort())}|${stack}|${attrKey}`;
    const existing = merged.get(key);
    if (existing) {
      existing.values[0] += BigInt(s.count);
      continue;
    }
    b.addSample(profile, stack, { value: s.count, attributes: s.attributes });
    merged.set(key, profile.samples[profile.samples.length - 1]);
  }
  return b.build();
}

const window = { hz: 20, windowStartMs: 1_764_000_000_123, windowEndMs: 1_764_000_001_123 };

function burnerSamples(): ResolvedSample[] {
  const libc: SymFrame = {
    name: '__libc_start_call_main',
    binary: '/usr/lib/x86_64-linux-gnu/libc.so.6',
    address: 0x29d90n,
    kind: 'native',
    buildId: 'c289da5071a3399de893d2af81d6a30c62646e1e',
  };
  const main: SymFrame = { name: 'main', binary: '/tmp/plburn', address: 0x1234n, kind: 'native', buildId: 'aa' };
  const hot: SymFrame = { name: 'burn_hot', binary: '/tmp/plburn', address: 0x1180n, kind: 'native', buildId: 'aa' };
  const kernel: SymFrame = { name: 'asm_sysvec_apic_timer_interrupt', binary: '[kernel.kallsyms]', kind: 'kernel' };
  const js: SymFrame = { name: 'checkout', file: '/srv/shop.js', line: 42, address: 0x7f00_0000_1000n, kind: 'v8js' };
  const unicode: SymFrame = { name: 'prüfen 計算 <script>', file: 'ünï.js', line: 1, kind: 'v8js' };
  const unnamed: SymFrame = { binary: 'libfoo.so', address: 0x1a2bn, kind: 'native' };
  const inlined: SymFrame = { name: 'outer', binary: '/tmp/plburn', address: 0x1300n, kind: 'native', inlined: [{ name: 'inner', file: 'a.c', line: 7 }] };
  // Beyond 2^53: a broken frame-pointer chain, kept as it is.
  const huge: SymFrame = { address: 0xffff_ffff_ffff_fff0n };
  const shop = { 'service.name': 'shop', 'host.name': 'node-1' };
  // Equal content, another object (each pid's resolution makes its own).
  const shopAgain = { 'host.name': 'node-1', 'service.name': 'shop' };
  const burner = { 'service.name': 'burner', 'host.name': 'node-1' };
  const attrs = (pid: number, thread: string, extra: Record<string, SimpleValue> = {}) => ({ 'process.pid': pid, 'thread.name': thread, ...extra });
  const a1 = attrs(100, 'plburn');
  const a2 = attrs(101, 'plburn', { ratio: 0.5, ok: true, negative: -3 });
  const a3 = attrs(200, 'node', { 'process.executable.name': 'node' });
  return [
    { resource: burner, frames: [kernel, hot, main, libc], attributes: a1, count: 3 },
    { resource: burner, frames: [hot, main, libc], attributes: a1, count: 1 },
    { resource: burner, frames: [hot, main, libc], attributes: a2, count: 2 },
    // Same stack and attributes again: merged into the first.
    { resource: burner, frames: [kernel, hot, main, libc], attributes: a1, count: 4 },
    { resource: shop, frames: [js, unicode, unnamed], attributes: a3, count: 5 },
    { resource: shopAgain, frames: [js, unicode, unnamed], attributes: a3, count: 1 },
    { resource: shop, frames: [inlined, huge, { ...main }], attributes: a3, count: 1 },
    { resource: shop, frames: [], attributes: a3, count: 2 },
  ];
}

test('the written request decodes to what the message builder makes of the same samples', () => {
  const samples = burnerSamples();
  const asm = new RequestAssembler(window);
  for (const s of samples) asm.add(s);
  const { bytes, stats } = asm.encode();
  const got = decodeRequest(bytes, 'protobuf');
  const want = referenceRequest(window, samples);
  assert.deepEqual(got, want);
  assert.deepEqual(stats, { profiles: 2, samples: 6 });
  assert.equal(asm.samples, 19);
  validateRequest(got);
  readWireRequest(bytes);
});

test('what the profile engine reads from it: merged counts, names as given, one resource per workload', () => {
  const asm = new RequestAssembler(window);
  for (const s of burnerSamples()) asm.add(s);
  const req = decodeRequest(asm.encode().bytes, 'protobuf');
  assert.equal(req.resourceProfiles.length, 2);
  const profiles = aggregateRequest(req);
  const burner = [...profiles.values()].find((p) => p.workload.key.endsWith('/burner'));
  const shop = [...profiles.values()].find((p) => p.workload.key.endsWith('/shop'));
  assert.ok(burner && shop);
  assert.equal(burner.samples, 10);
  assert.equal(shop.samples, 9);
  const p = req.resourceProfiles[0].scopeProfiles[0].profiles[0];
  assert.equal(p.period, 50_000_000n);
  assert.equal(p.timeUnixNano, 1_764_000_000_123_000_000n);
  assert.equal(p.durationNano, 1_000_000_000n);
  const names = req.dictionary!.stringTable;
  assert.ok(names.includes('prüfen 計算 <script>'));
  assert.ok(names.includes('burn_hot'));
});

test('a flush with many samples of one binary across processes shares its locations', () => {
  const asm = new RequestAssembler(window);
  const resource = { 'service.name': 'burner' };
  for (let pid = 1; pid <= 100; pid++) {
    // Every process has its own frame objects for the same code (the symbolizer caches per process).
    const frames: SymFrame[] = [0x1180n, 0x1234n].map((address) => ({ name: `f${address}`, binary: '/tmp/plburn', address, kind: 'native' }));
    asm.add({ resource, frames, attributes: { 'process.pid': pid }, count: 1 });
  }
  const req = decodeRequest(asm.encode().bytes, 'protobuf');
  assert.equal(req.dictionary!.locationTable.length, 3, 'the zero location and two shared ones');
  assert.equal(req.dictionary!.stackTable.length, 2);
  assert.equal(req.resourceProfiles[0].scopeProfiles[0].profiles[0].samples.length, 100);
});

test('flushes sharing one cache write each request as a fresh assembler would, whatever came before', () => {
  const cache = new AssemblerCache();
  const fresh = (samples: ResolvedSample[]): Uint8Array => {
    const asm = new RequestAssembler(window);
    for (const s of samples) asm.add(s);
    return asm.encode().bytes;
  };
  const cached = (samples: ResolvedSample[]): Uint8Array => {
    const asm = new RequestAssembler(window, cache);
    for (const s of samples) asm.add(s);
    return asm.encode().bytes;
  };
  const all = burnerSamples();
  // The same frame and attribute objects flush after flush (as the sampler's row cache hands
  // them out), in other orders and subsets, so entries are numbered afresh per request.
  const flushes = [all, all.slice(4), [...all].reverse(), all.slice(0, 2), all];
  for (let round = 0; round < 30; round++) {
    for (const samples of flushes) assert.deepEqual(cached(samples), fresh(samples));
  }
  // A request using a subset holds only what that subset uses.
  const req = decodeRequest(cached(all.slice(0, 1)), 'protobuf');
  assert.deepEqual(req.dictionary!.functionTable.length, 1 + 4);
  assert.deepEqual(req.dictionary!.locationTable.length, 1 + 4);
});

test("off-CPU samples: a second profile (off_cpu/nanoseconds, no period) beside the workload's CPU one, never mixed into it", () => {
  const cpuOnly = new RequestAssembler(window);
  for (const s of burnerSamples()) cpuOnly.add(s);
  const cpuBytes = cpuOnly.encode().bytes;

  const samples = burnerSamples();
  const wait: SymFrame = { name: 'schedule', binary: '[kernel.kallsyms]', kind: 'kernel' };
  const burner = samples[0];
  const asm = new RequestAssembler(window);
  for (const s of samples) asm.add(s);
  // Off-CPU of the burner (same resource and attributes), merged by stack as CPU samples are,
  // and of a workload with no CPU samples at all.
  asm.addOffCpu({ ...burner, frames: [wait, ...burner.frames.slice(1)], count: 2_000_000 });
  asm.addOffCpu({ ...burner, frames: [wait, ...burner.frames.slice(1)], count: 3_000_000 });
  asm.addOffCpu({ ...burner, frames: burner.frames, count: 7 });
  asm.addOffCpu({ resource: { 'service.name': 'sleeper', 'host.name': 'node-1' }, frames: [wait], attributes: burner.attributes, count: 1_000_000_000_000 });
  const { bytes, stats } = asm.encode();
  assert.deepEqual(stats, { profiles: 4, samples: 9 });
  assert.equal(asm.samples, 19, 'CPU samples only');
  assert.equal(asm.offCpuNanos, 1_000_005_000_007);
  const req = decodeRequest(bytes, 'protobuf');
  validateRequest(req);
  readWireRequest(bytes);

  const strings = req.dictionary!.stringTable;
  const shape = req.resourceProfiles.map((rp) =>
    rp.scopeProfiles[0].profiles.map((p) => ({
      type: `${strings[p.sampleType!.typeStrindex]}/${strings[p.sampleType!.unitStrindex]}`,
      period: p.period,
      periodType: p.periodType ? `${strings[p.periodType.typeStrindex]}/${strings[p.periodType.unitStrindex]}` : undefined,
      values: p.samples.map((s) => s.values.map(Number)),
      time: [p.timeUnixNano, p.durationNano],
    })),
  );
  const time = [1_764_000_000_123_000_000n, 1_000_000_000n];
  assert.deepEqual(shape, [
    [
      { type: 'samples/count', period: 50_000_000n, periodType: 'cpu/nanoseconds', values: [[7], [1], [2]], time },
      { type: 'off_cpu/nanoseconds', period: 0n, periodType: undefined, values: [[5_000_000], [7]], time },
    ],
    [{ type: 'samples/count', period: 50_000_000n, periodType: 'cpu/nanoseconds', values: [[6], [1], [2]], time }],
    [{ type: 'off_cpu/nanoseconds', period: 0n, periodType: undefined, values: [[1_000_000_000_000]], time }],
  ]);

  // What the UI makes of it: the CPU profile exactly as without off-CPU, off-CPU its own type.
  const key = (p: Map<string, { workload: { key: string } }>, name: string) => [...p.keys()].find((k) => k.endsWith(`/${name}`))!;
  const cpuAlone = aggregateRequest(decodeRequest(cpuBytes, 'protobuf'));
  const cpu = aggregateRequest(req);
  const b = key(cpu, 'burner');
  assert.equal(cpu.get(b)!.samples, cpuAlone.get(b)!.samples);
  assert.equal(foldedStacks(cpu.get(b)!.tree), foldedStacks(cpuAlone.get(b)!.tree));
  assert.equal(cpu.get(key(cpu, 'sleeper'))?.samples ?? 0, 0, 'a workload with off-CPU only has no CPU samples');
  const off = aggregateRequest(req, { type: 'off_cpu' });
  assert.equal(off.get(b)!.type.key, 'off_cpu');
  assert.equal(off.get(b)!.samples, 5_000_007);
  assert.equal(
    foldedStacks(off.get(b)!.tree),
    '__libc_start_call_main;main;burn_hot;asm_sysvec_apic_timer_interrupt 7\n__libc_start_call_main;main;burn_hot;schedule 5000000\n',
  );
  assert.equal(off.get(key(off, 'sleeper'))!.samples, 1_000_000_000_000);
});
