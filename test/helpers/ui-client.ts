import assert from 'node:assert/strict';
import type { ProfileResponse } from '../../src/api/types.js';
import { waitFor } from './wait.js';

/** A running UI's HTTP API, as a test reads it. */
export class UiClient {
  constructor(readonly url: string) {}

  async enable(key: string): Promise<void> {
    const res = await fetch(`${this.url}/api/sources/${encodeURIComponent(key)}/profiling`, { method: 'POST' });
    assert.equal(res.status, 200, `enable ${key}: ${await res.text()}`);
  }

  async profile(key: string, query = ''): Promise<ProfileResponse> {
    const res = await fetch(`${this.url}/api/sources/${encodeURIComponent(key)}/profile${query}`);
    assert.equal(res.status, 200, `profile of ${key}: ${res.status}`);
    return (await res.json()) as ProfileResponse;
  }

  /** Polls the profile until `done` holds (a hang guard, not a speed check). */
  async profileWhen(key: string, done: (p: ProfileResponse) => boolean, what: string, limitMs = 60_000, query = ''): Promise<ProfileResponse> {
    let last: ProfileResponse | undefined;
    const detail = (): string => (last ? `last profile of ${key}: ${last.samples} samples\n${foldedOf(last).slice(0, 2000)}` : `no profile of ${key} yet`);
    return waitFor(
      what,
      async () => {
        last = await this.profile(key, query);
        return done(last) ? last : undefined;
      },
      { timeoutMs: limitMs, intervalMs: 250, detail },
    );
  }
}

/** The flame graph as folded stacks, root first (`a;b;c self` lines, heaviest first). */
export function foldedOf(p: ProfileResponse): string {
  const { frame, depth, self } = p.flame;
  const names = p.flame.frames.name;
  const path: string[] = [];
  const lines: [string, number][] = [];
  for (let i = 0; i < frame.length; i++) {
    const d = depth[i];
    if (d === 0) continue; // the root
    path.length = d - 1;
    path.push(names[frame[i]]);
    if (self[i] > 0) lines.push([path.join(';'), self[i]]);
  }
  return lines
    .sort((a, b) => b[1] - a[1])
    .map(([s, n]) => `${s} ${n}`)
    .join('\n');
}

/** Samples on stacks that contain `chain` (`a;b;c`, adjacent frames in this order). */
export function samplesThrough(p: ProfileResponse, chain: string): number {
  let n = 0;
  for (const line of foldedOf(p).split('\n')) {
    const sp = line.lastIndexOf(' ');
    if (`;${line.slice(0, sp)};`.includes(`;${chain};`)) n += Number(line.slice(sp + 1));
  }
  return n;
}
