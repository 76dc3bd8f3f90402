import { RequestBuilder, type SimpleValue } from '../src/otlp/builder.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { makeUniverse, rng, type Universe } from '../test/helpers/gen.js';

/**
 * What one simulated node of the fleet bench sends: one request per flush holding every
 * process that ran, with one shared dictionary, as src/node/assemble.ts builds it. Requests are
 * made once as templates whose names and times are fixed-width placeholders, then patched in
 * place per node and per send (no encoding on the sending path, so thousands of nodes fit in
 * one sender process).
 *
 * The shape follows the real sampler's output (a few processes per flush, nearly every sample
 * its own stack, a few to tens of frames deep; README, Sizing, gives its sizes), scaled to a
 * Kubernetes node: by default 64 samples per flush (8 CPUs 40 % busy at 20 Hz) over 12
 * processes: three DaemonSets and the kubelet (the same workloads on every node) and eight
 * Deployment pods (each Deployment has pods on a few nodes).
 */

export interface NodeShape {
  /** Processes per flush (each its own Resource). */
  processes: number;
  /** Samples per flush, over all processes (besides one marker sample per process). */
  samples: number;
}

/** The workloads on every node: DaemonSets, then a host service. */
export const DAEMONSETS = ['fluent-bit', 'kube-proxy', 'node-exporter'] as const;
export const HOST_SERVICE = 'kubelet';
const FIXED_SLOTS = DAEMONSETS.length + 1;

/** Workload keys as the UI names them. */
export const daemonSetKey = (name: string): string => `kube-system/DaemonSet/${name}`;
export const deploymentKey = (d: number): string => `${namespaceOf(d)}/Deployment/${deploymentName(d)}`;

const deploymentName = (d: number): string => `svc-${pad(d, 6)}`;
const namespaceOf = (d: number): string => `team-${pad(d % 50, 3)}`;
const nodeName = (n: number): string => `node-${pad(n, 6)}`;

function pad(n: number, width: number): string {
  const s = String(n);
  if (s.length > width) throw new Error(`${n} does not fit in ${width} digits`);
  return s.padStart(width, '0');
}

/** Where node n's Deployment pods come from: `replicas` pods per Deployment, on different nodes. */
export class FleetLayout {
  readonly deploymentSlots: number;
  readonly deployments: number;
  constructor(
    readonly nodes: number,
    readonly shape: NodeShape,
    readonly replicas: number,
  ) {
    this.deploymentSlots = shape.processes - FIXED_SLOTS;
    if (this.deploymentSlots < 1) throw new Error(`a node needs more than ${FIXED_SLOTS} processes`);
    this.deployments = Math.max(1, Math.ceil((nodes * this.deploymentSlots) / replicas));
  }

  /** The Deployment in slot j (0-based among the Deployment slots) of node n. */
  deployment(n: number, j: number): number {
    return (n * this.deploymentSlots + j) % this.deployments;
  }

  /** Nodes running a pod of Deployment d, with the slot. */
  hostsOf(d: number): { node: number; slot: number }[] {
    const out: { node: number; slot: number }[] = [];
    for (let p = d; p < this.nodes * this.deploymentSlots; p += this.deployments)
      out.push({ node: Math.floor(p / this.deploymentSlots), slot: p % this.deploymentSlots });
    return out;
  }

  /** Distinct workloads the UI will list: every Deployment, the DaemonSets and the host service. */
  get workloads(): number {
    return this.deployments + FIXED_SLOTS;
  }
}

/** Fixed-width placeholders: written into the template, found in its bytes, overwritten per send. */
const PH = {
  node: (slot: number) => `~N${pad(slot, 2)}~~~~~~~`, // node-000123 (11)
  pod: (slot: number) => `~P${pad(slot, 2)}`.padEnd(podName(slot, 0, () => 0).length, '~'), // svc-000123-node-000123, fluent-bit-node-000123
  deployment: (slot: number) => `~D${pad(slot, 2)}~~~~~~`, // svc-000123 (10)
  namespace: (slot: number) => `~S${pad(slot, 2)}~~~~`, // team-042 (8)
};
const MARK_PREFIX = 'plmark_';
/** A marker function: `plmark_<slot>_<id>`; id 0 means "no probe in this request". */
const markName = (slot: number, id: number): string => `${MARK_PREFIX}${pad(slot, 2)}_${pad(id, 8)}`;
export function parseMark(name: string): { slot: number; id: number } | undefined {
  const m = /^plmark_(\d\d)_(\d{8})$/.exec(name);
  return m ? { slot: Number(m[1]), id: Number(m[2]) } : undefined;
}
/** fixed64 time_unix_nano of every profile, found by its bytes. */
const TIME_PLACEHOLDER = 0x0123456789abcdefn;

interface Field {
  at: number[];
  width: number;
  value: (node: number, layout: FleetLayout) => string;
}

export interface NodeTemplate {
  bytes: Buffer;
  samples: number;
  fields: Field[];
  times: number[];
  /** Per process slot: offsets of the 8 digits of its marker's id. */
  marks: number[][];
}

function offsetsOf(buf: Buffer, s: string): number[] {
  const needle = Buffer.from(s, 'latin1');
  const out: number[] = [];
  for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) out.push(at);
  if (out.length === 0) throw new Error(`placeholder ${s} is not in the template`);
  return out;
}

/** Universe locations → one builder's dictionary, as the sampler's mappings and frames. */
function materialize(b: RequestBuilder, u: Universe): (rootFirst: Int32Array) => number[] {
  const maps = new Map<number, number>();
  const locs = new Map<number, number>();
  const location = (i: number): number => {
    let id = locs.get(i);
    if (id === undefined) {
      const spec = u.locations[i];
      let m = maps.get(spec.binary);
      if (m === undefined) {
        const bin = u.binaries[spec.binary];
        const buildId = (0x9e3779b97f4a7c15n * BigInt(spec.binary + 1)).toString(16).padStart(16, '0').slice(-16);
        m = b.mapping(
          bin.path,
          bin.start,
          bin.limit,
          bin.offset,
          spec.binary === 0 ? {} : { 'process.executable.build_id.gnu': buildId.repeat(2).slice(0, 40) },
        );
        maps.set(spec.binary, m);
      }
      id = b.location(spec.frame, m);
      locs.set(i, id);
    }
    return id;
  };
  return (rootFirst) => {
    const leafFirst: number[] = [];
    for (let i = rootFirst.length - 1; i >= 0; i--) leafFirst.push(location(rootFirst[i]));
    return leafFirst;
  };
}

let universe: Universe | undefined;

/** The code every node runs: 48 programs sharing libraries and a kernel, as bench/gen.ts makes them. */
function fleetUniverse(): Universe {
  universe ??= makeUniverse({ seed: 11, programs: 48, functions: 6000, locations: 12_000, stacksPerProgram: 400, minDepth: 4, maxDepth: 24 });
  return universe;
}

/**
 * Template `variant` of a node's request: `shape.samples` samples spread over its processes
 * (busier processes first), each drawn from the process's program (popular stacks more
 * often), one value each with the sampler's thread attributes, plus one marker sample per
 * process. `shape.samples = 0` makes the small request used to introduce a node's workloads.
 */
export function nodeTemplate(shape: NodeShape, variant: number): NodeTemplate {
  const u = fleetUniverse();
  const rand = rng(1000 + variant);
  const b = new RequestBuilder();
  const stack = materialize(b, u);
  const programs = u.programs.length;
  // Busier processes get more samples: weights 1/(k+1) over a shuffled order.
  const order = Array.from({ length: shape.processes }, (_, k) => k).sort(() => rand() - 0.5);
  const weights = order.map((k) => 1 / (k + 1));
  const weightSum = weights.reduce((a, x) => a + x, 0);
  let samples = 0;
  for (let slot = 0; slot < shape.processes; slot++) {
    const program = u.programs[(variant * 7 + slot * 5) % programs];
    const resource = resourceOf(slot);
    const profile = b.profile(resource, { periodNanos: 50_000_000, timeUnixNano: TIME_PLACEHOLDER, durationNano: 1_000_000_000n });
    const n = Math.round((shape.samples * weights[slot]) / weightSum);
    for (let i = 0; i < n; i++) {
      const s = program.stacks[program.pick()];
      b.addSample(profile, b.stack(stack(s)), {
        value: 1,
        attributes: { 'thread.name': `worker-${Math.floor(rand() * 4)}`, 'thread.id': 4000 + slot * 16 + Math.floor(rand() * 4) },
      });
      samples++;
    }
    // The marker: the program's root frame calling a function named for a probe.
    const root = stack(program.stacks[0].subarray(0, 1));
    const mark = b.location({ name: markName(slot, 0), file: 'bench/fleet.ts', line: 1, kind: 'native' });
    b.addSample(profile, b.stack([mark, ...root]), { value: 1, attributes: { 'thread.name': 'main', 'thread.id': 4000 + slot * 16 } });
  }
  const bytes = Buffer.from(encodeRequest(b.build()));
  const fields: Field[] = [];
  for (let slot = 0; slot < shape.processes; slot++) {
    const j = slot - FIXED_SLOTS;
    fields.push({ at: offsetsOf(bytes, PH.node(slot)), width: 11, value: (n) => nodeName(n) });
    if (slot === DAEMONSETS.length) continue;
    fields.push({ at: offsetsOf(bytes, PH.pod(slot)), width: PH.pod(slot).length, value: (n, l) => podName(slot, n, (k) => l.deployment(n, k)) });
    if (j >= 0) {
      fields.push({ at: offsetsOf(bytes, PH.deployment(slot)), width: 10, value: (n, l) => deploymentName(l.deployment(n, j)) });
      fields.push({ at: offsetsOf(bytes, PH.namespace(slot)), width: 8, value: (n, l) => namespaceOf(l.deployment(n, j)) });
    }
  }
  const time = Buffer.alloc(8);
  time.writeBigUInt64LE(TIME_PLACEHOLDER);
  const marks = Array.from({ length: shape.processes }, (_, slot) => offsetsOf(bytes, markName(slot, 0)).map((at) => at + MARK_PREFIX.length + 3));
  return { bytes, samples: samples + shape.processes, fields, times: offsetsOf(bytes, time.toString('latin1')), marks };
}

/** The pod of process slot `slot` on node n: a DaemonSet's or a Deployment's (`deployment(j)`). */
function podName(slot: number, n: number, deployment: (j: number) => number): string {
  return slot < DAEMONSETS.length ? `${DAEMONSETS[slot]}-${nodeName(n)}` : `${deploymentName(deployment(slot - FIXED_SLOTS))}-${nodeName(n)}`;
}

function resourceOf(slot: number): Record<string, SimpleValue> {
  if (slot < DAEMONSETS.length) {
    return {
      'k8s.namespace.name': 'kube-system',
      'k8s.daemonset.name': DAEMONSETS[slot],
      'k8s.pod.name': PH.pod(slot),
      'k8s.node.name': PH.node(slot),
      'service.name': DAEMONSETS[slot],
      'process.pid': 100 + slot,
    };
  }
  if (slot === DAEMONSETS.length)
    return { 'service.name': HOST_SERVICE, 'process.executable.name': HOST_SERVICE, 'host.name': PH.node(slot), 'process.pid': 100 + slot };
  return {
    'k8s.namespace.name': PH.namespace(slot),
    'k8s.deployment.name': PH.deployment(slot),
    'k8s.pod.name': PH.pod(slot),
    'k8s.node.name': PH.node(slot),
    'service.name': PH.deployment(slot),
    'process.pid': 1000 + slot,
  };
}

/**
 * Node n's request from a template: names and times written in, and `marks` (process slot →
 * probe id) stamped into the marker functions. Returns a fresh buffer.
 */
export function nodeRequest(t: NodeTemplate, layout: FleetLayout, n: number, timeUnixNano: bigint, marks?: ReadonlyMap<number, number>): Buffer {
  const b = Buffer.from(t.bytes);
  for (const f of t.fields) {
    const v = f.value(n, layout);
    if (v.length !== f.width) throw new Error(`"${v}" is not ${f.width} characters`);
    for (const at of f.at) b.write(v, at, 'latin1');
  }
  for (const at of t.times) b.writeBigUInt64LE(timeUnixNano, at);
  if (marks) for (const [slot, id] of marks) for (const at of t.marks[slot]) b.write(pad(id, 8), at, 'latin1');
  return b;
}

/** The process slot that Deployment slot j occupies in a request. */
export const deploymentProcessSlot = (j: number): number => FIXED_SLOTS + j;
