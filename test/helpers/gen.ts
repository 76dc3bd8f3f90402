import { RequestBuilder, type FrameSpec, type SimpleValue } from '../../src/otlp/builder.js';
import { encodeRequest } from '../../src/otlp/codec.js';
import type { ExportProfilesServiceRequest, Profile } from '../../src/otlp/messages.js';

/**
 * Deterministic, realistic OTLP Profiles requests for the engine benchmark and the fast-path
 * equivalence tests. The shape follows what a fleet sends: a few hundred processes, programs
 * whose stacks share long prefixes (a call tree, not random paths), a few thousand functions,
 * shared libraries and kernel frames across programs, and Zipf-distributed sample counts.
 */

/** mulberry32: small, fast and good enough to make benchmark inputs repeatable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws ranks 0..n-1 with P(r) ∝ 1/(r+1)^s (popular code is hit far more often). */
export function zipf(n: number, s: number, rand: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / Math.pow(r + 1, s);
  return () => {
    const u = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Binary {
  path: string;
  start: bigint;
  limit: bigint;
  offset: bigint;
}

interface LocationSpec {
  frame: FrameSpec;
  binary: number;
}

/** A program: its stacks, root first, as indices into the universe's locations. */
interface Program {
  stacks: Int32Array[];
  pick: () => number;
}

export interface Universe {
  binaries: Binary[];
  locations: LocationSpec[];
  programs: Program[];
}

export interface UniverseOptions {
  seed?: number;
  functions?: number;
  locations?: number;
  programs?: number;
  stacksPerProgram?: number;
  minDepth?: number;
  maxDepth?: number;
}

const WORDS = [
  'http',
  'parse',
  'render',
  'encode',
  'json',
  'query',
  'cache',
  'index',
  'route',
  'auth',
  'gc',
  'alloc',
  'hash',
  'sort',
  'read',
  'write',
  'flush',
  'queue',
  'poll',
  'lock',
  'scan',
  'merge',
  'compress',
  'tls',
  'proto',
  'sql',
  'batch',
  'retry',
  'stream',
  'buffer',
];
const KINDS = ['native', 'go', 'jvm', 'v8js', 'cpython'];
const SHARED_FRACTION = 0.25;
const KERNEL_FRACTION = 0.05;

/** Functions, binaries and locations shared by every program, then each program's stack pool. */
export function makeUniverse(opts: UniverseOptions = {}): Universe {
  const rand = rng(opts.seed ?? 1);
  const nFunctions = opts.functions ?? 5000;
  const nLocations = opts.locations ?? 8000;
  const nPrograms = opts.programs ?? 40;
  const binaries: Binary[] = [
    { path: '/boot/vmlinux', start: 0xffffffff81000000n, limit: 0xffffffff83000000n, offset: 0n },
    { path: '/usr/lib/x86_64-linux-gnu/libc.so.6', start: 0x7f0000000000n, limit: 0x7f0000200000n, offset: 0x28000n },
    { path: '/usr/lib/x86_64-linux-gnu/libstdc++.so.6', start: 0x7f0000400000n, limit: 0x7f0000600000n, offset: 0n },
  ];
  for (let g = 0; g < nPrograms; g++) {
    const base = 0x400000n + BigInt(g) * 0x10000000n;
    binaries.push({ path: `/app/bin/service-${g}`, start: base, limit: base + 0x4000000n, offset: 0n });
  }
  const functions: { name: string; file: string }[] = [];
  for (let f = 0; f < nFunctions; f++) {
    const a = WORDS[f % WORDS.length];
    const b = WORDS[Math.floor(f / WORDS.length) % WORDS.length];
    functions.push({ name: `pkg${f % 97}.${cap(a)}${cap(b)}.${b}_${a}_${f}`, file: `src/pkg${f % 97}/${a}_${f % 13}.go` });
  }
  // Locations: the first ones are the kernel's, then shared libraries, then each program's own
  // code. Every function appears at least once; a few locations carry inlined frames and a few
  // are bare addresses (native code without symbols).
  const locations: LocationSpec[] = [];
  const nKernel = Math.floor(nLocations * KERNEL_FRACTION);
  const nShared = Math.floor(nLocations * SHARED_FRACTION);
  for (let i = 0; i < nLocations; i++) {
    const binary = i < nKernel ? 0 : i < nKernel + nShared ? 1 + (i % 2) : 3 + (i % nPrograms);
    const fn = functions[i < nFunctions ? i : Math.floor(rand() * nFunctions)];
    const address = binaries[binary].start + BigInt(0x1000 + Math.floor(rand() * 0x3ff000));
    const kind = binary === 0 ? 'kernel' : binary < 3 ? 'native' : KINDS[(binary - 3) % KINDS.length];
    const frame: FrameSpec = { name: fn.name, file: fn.file, line: 1 + Math.floor(rand() * 2000), address, kind };
    const u = rand();
    if (u < 0.03) delete frame.name;
    else if (u < 0.08) frame.inlined = [{ name: functions[Math.floor(rand() * nFunctions)].name, file: fn.file, line: 1 + Math.floor(rand() * 500) }];
    locations.push({ frame, binary });
  }
  const universe: Universe = { binaries, locations, programs: [] };
  for (let g = 0; g < nPrograms; g++) universe.programs.push(makeProgram(universe, g, nPrograms, nKernel, nShared, opts, rand));
  return universe;
}

function makeProgram(u: Universe, g: number, nPrograms: number, nKernel: number, nShared: number, opts: UniverseOptions, rand: () => number): Program {
  const nStacks = opts.stacksPerProgram ?? 500;
  const minDepth = opts.minDepth ?? 10;
  const maxDepth = opts.maxDepth ?? 60;
  const own: number[] = [];
  for (let i = nKernel + nShared; i < u.locations.length; i++) if ((i - nKernel - nShared) % nPrograms === g) own.push(i);
  const pickOwn = zipf(own.length, 0.8, rand);
  const pickShared = zipf(nShared, 0.9, rand);
  const pickKernel = zipf(nKernel, 1, rand);
  const pickParent = zipf(nStacks, 0.7, rand);
  const stacks: Int32Array[] = [];
  const seen = new Set<string>();
  while (stacks.length < nStacks) {
    const depth = minDepth + Math.floor(rand() * (maxDepth - minDepth + 1));
    const path: number[] = [];
    // Most stacks extend a prefix of an earlier one, so stacks form a tree as in real programs.
    if (stacks.length > 0 && rand() < 0.9) {
      const parent = stacks[pickParent() % stacks.length];
      const limit = Math.min(parent.length, depth) - 1;
      const keep = Math.max(2, Math.ceil(limit * 0.6) + Math.floor(rand() * Math.ceil(limit * 0.4)));
      for (let i = 0; i < keep && i < parent.length; i++) path.push(parent[i]);
    } else {
      path.push(own[0]);
    }
    const kernelTail = rand() < 0.15 ? 2 + Math.floor(rand() * 5) : 0;
    while (path.length < depth - kernelTail) path.push(rand() < 0.8 ? own[pickOwn()] : nKernel + pickShared());
    while (path.length < depth) path.push(pickKernel());
    const key = path.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    stacks.push(Int32Array.from(path));
  }
  return { stacks, pick: zipf(nStacks, 1.1, rand) };
}

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

/** Maps universe locations into one builder's dictionary, adding only what is used. */
class Materializer {
  private readonly locs = new Map<number, number>();
  private readonly maps = new Map<number, number>();
  constructor(
    readonly b: RequestBuilder,
    private readonly u: Universe,
  ) {}

  stack(rootFirst: Int32Array): number {
    const leafFirst: number[] = [];
    for (let i = rootFirst.length - 1; i >= 0; i--) leafFirst.push(this.location(rootFirst[i]));
    return this.b.stack(leafFirst);
  }

  private location(i: number): number {
    let id = this.locs.get(i);
    if (id === undefined) {
      const spec = this.u.locations[i];
      let m = this.maps.get(spec.binary);
      if (m === undefined) {
        const bin = this.u.binaries[spec.binary];
        m = this.b.mapping(bin.path, bin.start, bin.limit, bin.offset);
        this.maps.set(spec.binary, m);
      }
      id = this.b.location(spec.frame, m);
      this.locs.set(i, id);
    }
    return id;
  }
}

export type SampleShape = 'values' | 'timestamps';

export interface FleetOptions extends UniverseOptions {
  processes?: number;
  /** Extra Zipf-chosen stacks per process on top of its share of its program's stacks. */
  hotStacks?: number;
  shape?: SampleShape;
  periodNanos?: number;
  timeUnixNano?: bigint;
}

export const T0 = 1_760_000_000_000_000_000n;

/** The resource of process p: k8s pods (some deployments with two replicas) or host processes. */
export function processResource(p: number): Record<string, SimpleValue> {
  const w = p < 100 ? p >> 1 : p;
  if (p % 4 === 3) {
    return p % 8 === 3
      ? { 'service.name': `svc-${w}`, 'process.pid': 1000 + p, 'host.name': `vm-${p % 7}` }
      : { 'process.executable.name': `daemon-${w}`, 'process.pid': 1000 + p, 'host.name': `vm-${p % 7}` };
  }
  const owner = w % 5 === 0 ? 'k8s.statefulset.name' : w % 7 === 0 ? 'k8s.daemonset.name' : 'k8s.deployment.name';
  return {
    'k8s.namespace.name': `ns-${w % 9}`,
    [owner]: `app-${w}`,
    'k8s.pod.name': `app-${w}-5d8f7-${p.toString(36)}`,
    'container.id': (0xabcdef012345n * BigInt(p + 1)).toString(16).padStart(16, '0'),
  };
}

/** One big export request: every process of the fleet, one shared dictionary. */
export function makeFleetRequest(opts: FleetOptions = {}): ExportProfilesServiceRequest {
  const u = makeUniverse(opts);
  const rand = rng((opts.seed ?? 1) * 7919 + 17);
  const nProcesses = opts.processes ?? 200;
  const shape = opts.shape ?? 'values';
  const period = opts.periodNanos ?? 50_000_000;
  const t0 = opts.timeUnixNano ?? T0;
  const m = new Materializer(new RequestBuilder(), u);
  const perProgram = Math.ceil(nProcesses / u.programs.length);
  for (let p = 0; p < nProcesses; p++) {
    const g = p % u.programs.length;
    const program = u.programs[g];
    const profile = m.b.profile(processResource(p), { periodNanos: period, timeUnixNano: t0, durationNano: 10_000_000_000n });
    // Each process samples its share of the program's stacks (so every stack is used) plus
    // the program's hot stacks.
    const chosen = new Set<number>();
    const slot = Math.floor(p / u.programs.length);
    for (let s = slot; s < program.stacks.length; s += perProgram) chosen.add(s);
    for (let k = 0; k < (opts.hotStacks ?? 30); k++) chosen.add(program.pick());
    for (const s of chosen) {
      const count = zipfCount(rand, s);
      addSamples(m, profile, program.stacks[s], count, shape, t0, rand);
    }
  }
  return m.b.build();
}

/** Sample counts fall off with a stack's popularity rank, with noise. */
function zipfCount(rand: () => number, rank: number): number {
  return 1 + Math.floor((200 * rand()) / Math.pow(rank + 1, 1.1));
}

function addSamples(m: Materializer, profile: Profile, stack: Int32Array, count: number, shape: SampleShape, t0: bigint, rand: () => number): void {
  const stackIndex = m.stack(stack);
  if (shape === 'values') {
    m.b.addSample(profile, stackIndex, { value: count });
    return;
  }
  const timestamps: bigint[] = [];
  for (let i = 0; i < count; i++) timestamps.push(t0 + BigInt(Math.floor(rand() * 1e9)));
  timestamps.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  m.b.addSample(profile, stackIndex, { timestamps, attributes: { 'thread.name': `worker-${Math.floor(rand() * 4)}` } });
}

export interface ChunkOptions {
  seed?: number;
  /** Stop once the chunks add up to at least this many bytes. */
  totalBytes?: number;
  /** Sampled events per chunk (one chunk is about one second of one workload). */
  eventsPerChunk?: number;
  stacks?: number;
  shape?: SampleShape;
}

/**
 * Per-workload chunks as the profile store holds them: each a self-contained request for one
 * workload and about one second, with only the dictionary entries it uses.
 */
export function makeChunks(opts: ChunkOptions = {}): Uint8Array[] {
  // One program with less code than the whole fleet: a chunk's dictionary is what one
  // second of one service touches.
  const u = makeUniverse({ seed: opts.seed ?? 3, programs: 1, functions: 2000, locations: 3000, stacksPerProgram: opts.stacks ?? 3000 });
  const rand = rng((opts.seed ?? 3) * 31 + 5);
  const program = u.programs[0];
  const total = opts.totalBytes ?? 8 * 1024 * 1024;
  const events = opts.eventsPerChunk ?? 160;
  const shape = opts.shape ?? 'timestamps';
  const resource = processResource(0);
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (let i = 0; bytes < total; i++) {
    const t = T0 + BigInt(i) * 1_000_000_000n;
    const m = new Materializer(new RequestBuilder(), u);
    const profile = m.b.profile(resource, { periodNanos: 50_000_000, timeUnixNano: t, durationNano: 1_000_000_000n });
    const counts = new Map<number, number>();
    for (let e = 0; e < events; e++) {
      const s = program.pick();
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    for (const [s, count] of counts) addSamples(m, profile, program.stacks[s], count, shape, t, rand);
    const chunk = encodeRequest(m.b.build());
    chunks.push(chunk);
    bytes += chunk.byteLength;
  }
  return chunks;
}

/** The benchmark's standard ~2 MB request, encoded. */
export function makeFleetBytes(opts: FleetOptions = {}): Uint8Array {
  return encodeRequest(makeFleetRequest(opts));
}
