import { RequestBuilder, type FrameSpec, type SimpleValue } from '../src/otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { K8S_INVENTORY } from './helpers/fixtures.js';

/**
 * Requests shaped as the OpenTelemetry eBPF profiler sends them: one ScopeProfiles holding a
 * CPU profile (samples/count, period type cpu/nanoseconds, period 1e9 / 20 Hz, samples with
 * timestamps only) and an off-CPU profile (off_cpu/nanoseconds, no period type, period 0,
 * values paired with timestamps).
 */
export const CPU_PERIOD = 50_000_000;
export const T0 = 1_700_000_000_000_000_000n;
const MS = 1_000_000n;
const SCOPE = { name: 'go.opentelemetry.io/ebpf-profiler', version: '0.0.1' };

const f = (name: string, kind = 'native', binary = 'inventory'): FrameSpec => ({ name, kind, binary });

/** One stack (root first) and its samples: timestamps only for CPU, values (ns) for off-CPU. */
export interface TypedStack {
  frames: FrameSpec[];
  /** CPU: one event per entry (ms after `at`). Off-CPU: [ms after `at`, nanoseconds waited]. */
  cpu?: number[];
  offCpu?: [number, number][];
}

/** The stacks of `cpuAndOffCpuRequest`: CPU main;work 3 samples, main;idle 1; off-CPU main;read;sys_read 2+3 ms, main;wait 7 ms. */
export const EBPF_STACKS: TypedStack[] = [
  { frames: [f('main'), f('work')], cpu: [1, 2, 3] },
  { frames: [f('main'), f('idle')], cpu: [5] },
  {
    frames: [f('main'), f('read'), f('sys_read', 'kernel', 'vmlinux')],
    offCpu: [
      [1, 2_000_000],
      [4, 3_000_000],
    ],
  },
  { frames: [f('main'), f('wait')], offCpu: [[6, 7_000_000]] },
];

/** The request; `more` may add other profiles with the same builder. */
export function cpuAndOffCpuRequest(
  stacks: TypedStack[] = EBPF_STACKS,
  resource: Record<string, SimpleValue> = K8S_INVENTORY,
  at: bigint = T0,
  more?: (b: RequestBuilder) => void,
): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  const cpu = b.profile(resource, { periodNanos: CPU_PERIOD, timeUnixNano: at, durationNano: 1_000_000_000n, scope: SCOPE, shareScope: true });
  const off = b.profile(resource, {
    periodNanos: 0,
    sampleType: ['off_cpu', 'nanoseconds'],
    periodType: null,
    timeUnixNano: at,
    durationNano: 1_000_000_000n,
    scope: SCOPE,
    shareScope: true,
  });
  for (const s of stacks) {
    const stack = b.stackOfFrames(s.frames);
    if (s.cpu) b.addSample(cpu, stack, { timestamps: s.cpu.map((ms) => at + BigInt(ms) * MS) });
    if (s.offCpu) b.addSample(off, stack, { timestamps: s.offCpu.map(([ms]) => at + BigInt(ms) * MS), values: s.offCpu.map(([, ns]) => ns) });
  }
  more?.(b);
  return b.build();
}
