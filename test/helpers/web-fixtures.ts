import { RequestBuilder, type FrameSpec } from '../../src/otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../../src/otlp/messages.js';
import { K8S_CHECKOUT, K8S_INVENTORY, requestFromFolded } from './fixtures.js';

/** A function name that would run script if any view put profile text into HTML. */
export const XSS_NAME = '<img src=x onerror=window.__pwned=1>';

const f = (name: string, kind: string, file = '', line = 0, binary = ''): FrameSpec => ({ name, kind, file, line, binary });
const MAIN = f('main', 'native', 'src/main.c', 12, 'inventory');
const SERVE = f('serve', 'native', 'src/server.c', 88, 'inventory');
const HANDLE = f('handle', 'native', 'src/handler.c', 140, 'inventory');
const PARSE = f('parse', 'native', 'src/parse.c', 31, 'inventory');
const RENDER = f('render', 'v8js', 'app/render.js', 7, '');
const GC = f('gc', 'native', '', 0, 'libc.so.6');
const READ = f('sys_read', 'kernel', '', 0, 'vmlinux');
const IDLE = f('idle', 'native', '', 0, 'inventory');
const EVIL = f(XSS_NAME, 'native', '', 0, 'inventory');

/** The inventory workload's stacks (root first) and sample counts, times `scale`. */
export function inventoryRequest(scale = 1, extra: [FrameSpec[], number][] = []): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  const p = b.profile(K8S_INVENTORY, { periodNanos: 10_000_000, timeUnixNano: BigInt(Date.now()) * 1_000_000n, durationNano: 1_000_000_000n });
  const stacks: [FrameSpec[], number][] = [
    [[MAIN, SERVE, HANDLE, PARSE], 30],
    [[MAIN, SERVE, HANDLE, RENDER, PARSE], 5],
    [[MAIN, SERVE, HANDLE, RENDER], 15],
    [[MAIN, SERVE, HANDLE, READ], 6],
    [[MAIN, SERVE, GC], 5],
    [[MAIN, EVIL], 4],
    [[MAIN, IDLE], 35],
    ...extra,
  ];
  for (const [frames, count] of stacks) b.addSample(p, b.stackOfFrames(frames), { value: count * scale });
  return b.build();
}

export function otherSourcesRequest(): ExportProfilesServiceRequest {
  return requestFromFolded([
    { resource: K8S_CHECKOUT, folded: 'main;checkout;charge 9\nmain;checkout;render 3' },
    { resource: { 'service.name': 'billing' }, folded: 'main;bill 5' },
  ]);
}

export { PARSE, RENDER, MAIN, SERVE, HANDLE };
