import { RequestBuilder } from '../../src/otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../../src/otlp/messages.js';
import { K8S_INVENTORY, requestFromFolded } from './fixtures.js';

/**
 * Two known time windows of one workload, 60 s apart. Each line's samples carry timestamps
 * 1 ms apart from the window's start (a line of count 4 has samples at +0, +1, +2, +3 ms).
 */
export const T_A = 1_700_000_000_000; // ms, a multiple of 10 s
export const T_B = T_A + 60_000;
export const PERIOD = 50_000_000;

export const WINDOW_A = 'main;walk;walk;leaf 4\nmain;walk;leaf 2\nmain;idle 4\nmain;gc 2';
export const WINDOW_B = 'main;walk;leaf 3\nmain;parse;leaf 5\nmain;idle 2';

const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;

export function windowRequest(folded: string, startMs: number, resource: Record<string, string> = K8S_INVENTORY): ExportProfilesServiceRequest {
  return requestFromFolded([{ resource, folded, periodNanos: PERIOD, timeUnixNano: ns(startMs), timestampsAt: ns(startMs) }]);
}

/** Both windows in one request (two profiles of one resource). */
export function bothWindows(resource: Record<string, string> = K8S_INVENTORY): ExportProfilesServiceRequest {
  return requestFromFolded([
    { resource, folded: WINDOW_A, periodNanos: PERIOD, timeUnixNano: ns(T_A), timestampsAt: ns(T_A) },
    { resource, folded: WINDOW_B, periodNanos: PERIOD, timeUnixNano: ns(T_B), timestampsAt: ns(T_B) },
  ]);
}

/**
 * Frames the sampler could not name (mapping + address, no function), in two binaries plus
 * one bare address: libfoo.so is on 5 samples' stacks, libbar.so on 2, no binary on 1.
 */
export function unnamedRequest(resource: Record<string, string> = K8S_INVENTORY): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  const p = b.profile(resource, { periodNanos: PERIOD, timeUnixNano: ns(T_A), durationNano: 1_000_000_000n });
  const main = { name: 'main', binary: '/usr/bin/app' };
  const foo = (address: bigint) => ({ binary: '/usr/lib/libfoo.so', address });
  const bar = (address: bigint) => ({ binary: '/usr/lib/libbar.so', address });
  b.addSample(p, b.stackOfFrames([main, foo(0x10n), foo(0x20n)]), { value: 3 });
  b.addSample(p, b.stackOfFrames([main, bar(0x1n), foo(0x30n)]), { value: 2 });
  b.addSample(p, b.stackOfFrames([main, { name: 'named', binary: '/usr/lib/libfoo.so' }]), { value: 5 });
  b.addSample(p, b.stackOfFrames([main, { address: 0xdeadn }]), { value: 1 });
  return b.build();
}
