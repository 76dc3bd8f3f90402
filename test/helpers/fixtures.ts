import { RequestBuilder, type FrameSpec, type SimpleValue } from '../../src/otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../../src/otlp/messages.js';

export interface FoldedWorkload {
  resource: Record<string, SimpleValue>;
  /** `root;caller;leaf count` lines. A frame may be written `name@binary` or `name@binary#kind`. */
  folded: string;
  periodNanos?: number;
  timeUnixNano?: bigint;
  /** Give each sample timestamps (count of them = the line's count) instead of a value. */
  timestampsAt?: bigint;
}

export const K8S_INVENTORY = { 'k8s.namespace.name': 'default', 'k8s.deployment.name': 'inventory', 'k8s.pod.name': 'inventory-7d9f-abc' };
export const K8S_CHECKOUT = { 'k8s.namespace.name': 'shop', 'k8s.statefulset.name': 'checkout' };

export function parseFrame(text: string): FrameSpec {
  const [nameBinary, kind] = text.split('#');
  const at = nameBinary.lastIndexOf('@');
  if (at > 0) return { name: nameBinary.slice(0, at), binary: nameBinary.slice(at + 1), kind };
  return { name: nameBinary, kind };
}

/** Builds a request (one shared dictionary) from folded stacks per workload. */
export function requestFromFolded(workloads: FoldedWorkload[], builder = new RequestBuilder()): ExportProfilesServiceRequest {
  for (const w of workloads) {
    const profile = builder.profile(w.resource, {
      periodNanos: w.periodNanos ?? 50_000_000,
      timeUnixNano: w.timeUnixNano ?? 1_700_000_000_000_000_000n,
      durationNano: 1_000_000_000n,
    });
    for (const line of w.folded.split('\n')) {
      const trimmed = line.trim();
      if (!trimmed) continue;
      const sp = trimmed.lastIndexOf(' ');
      const count = Number(trimmed.slice(sp + 1));
      const stack = builder.stackOfFrames(trimmed.slice(0, sp).split(';').map(parseFrame));
      if (w.timestampsAt !== undefined) {
        const ts = Array.from({ length: count }, (_, i) => w.timestampsAt! + BigInt(i) * 1_000_000n);
        builder.addSample(profile, stack, { timestamps: ts });
      } else {
        builder.addSample(profile, stack, { value: count });
      }
    }
  }
  return builder.build();
}

/** Sorts and normalizes folded text for comparison. */
export function folded(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
  return lines.length ? lines.join('\n') + '\n' : '';
}
