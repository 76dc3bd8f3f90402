import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { buildUiApp } from '../ui/app.js';
import { ProfileStore } from '../store/store.js';
import { DEFAULT_LIMITS } from '../store/config.js';
import { makeFleetRequest } from '../../test/helpers/gen.js';
import { processResource } from '../../test/helpers/gen.js';
import { parseWorkloadKey } from '../profile/workload.js';
import { workloadOf } from '../profile/workload.js';
import { cpuAndOffCpuRequest } from '../../test/profile-types-fixture.js';
import { PROFILE_MEDIA_TYPE, decodeProfile, decodeProfileAsync, encodeProfile } from './profile-codec.js';
import type { ProfileResponse } from './types.js';
import type { FlameGraph } from '../profile/flame.js';
import { ingest } from '../../test/helpers/ingest.js';

const BINARY = { accept: PROFILE_MEDIA_TYPE, 'accept-encoding': 'gzip' };

/** The binary answer's bytes, un-gzip'd when the server gzip'd them. */
function body(res: { headers: Record<string, unknown>; rawPayload: Buffer }): Buffer {
  return res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.rawPayload) : res.rawPayload;
}

/** generatedAt is the time of the answer, the one field two answers of one profile differ in. */
function sameProfile(actual: ProfileResponse, expected: ProfileResponse, what: string): void {
  assert.deepStrictEqual({ ...actual, generatedAt: 0 }, { ...expected, generatedAt: 0 }, what);
}

test('the binary form decodes to exactly the JSON form, on profiles aggregated from a fleet request', async () => {
  // 200 processes of 40 programs, samples with timestamps: real aggregation through the store,
  // thousands of nodes per workload, unnamed frames (binary+0x…), inlined frames, kernel frames.
  const req = makeFleetRequest({ seed: 4, processes: 60, shape: 'timestamps' });
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: 64 << 20 });
  const keys = [...new Set(Array.from({ length: 60 }, (_, p) => workloadOf(processResource(p)).key))].slice(0, 6);
  for (const key of keys) store.open(parseWorkloadKey(key)!);
  ingest(store, req);
  // A second type in one slot: the type list and the type shown come through too.
  ingest(store, cpuAndOffCpuRequest(undefined, processResource(0)));
  const app = await buildUiApp({ store });
  let nodes = 0;
  for (const key of keys) {
    for (const query of ['', '?search=%2Fparse%7Crender%2Fi', '?type=off_cpu']) {
      if (query === '?type=off_cpu' && key !== keys[0]) continue;
      const url = `/api/sources/${encodeURIComponent(key)}/profile${query}`;
      const json = await app.inject({ method: 'GET', url, headers: { accept: 'application/json' } });
      assert.equal(json.statusCode, 200, json.body);
      assert.match(String(json.headers['content-type']), /^application\/json/);
      const bin = await app.inject({ method: 'GET', url, headers: BINARY });
      assert.equal(bin.statusCode, 200);
      assert.equal(bin.headers['content-type'], PROFILE_MEDIA_TYPE);
      const expected = json.json() as ProfileResponse;
      const decoded = decodeProfile(body(bin));
      sameProfile(decoded.profile, expected, `${key}${query}`);
      // The browser's sliced decoder is the same decoder.
      sameProfile((await decodeProfileAsync(body(bin), null, async () => undefined)).profile, expected, `${key}${query}, sliced`);
      nodes += expected.flame.frame.length;
    }
  }
  assert.ok(nodes > 20_000, `a real-sized test: ${nodes} nodes`);
  await app.close();
});

test('after new data, an answer with only the new frames continues the frames the client holds', async () => {
  const key = workloadOf(processResource(0)).key;
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: 64 << 20 });
  store.open(parseWorkloadKey(key)!);
  ingest(store, makeFleetRequest({ seed: 1, processes: 40 }));
  const app = await buildUiApp({ store });
  const url = `/api/sources/${encodeURIComponent(key)}/profile`;
  const first = decodeProfile(body(await app.inject({ method: 'GET', url, headers: BINARY })));
  const heldFrames = first.profile.flame.frames.name.length;
  // More of the same programs, and stacks of another seed: new frames and new nodes.
  ingest(store, makeFleetRequest({ seed: 1, processes: 40 }));
  ingest(store, makeFleetRequest({ seed: 2, processes: 40 }));
  const res = await app.inject({ method: 'GET', url: `${url}?frames=${encodeURIComponent(`${first.framesTable}:${heldFrames}`)}`, headers: BINARY });
  const full = await app.inject({ method: 'GET', url, headers: BINARY });
  assert.ok(body(res).byteLength < body(full).byteLength, 'the frames held are not sent again');
  const next = decodeProfile(body(res), { table: first.framesTable, frames: first.profile.flame.frames });
  assert.ok(next.profile.flame.frames.name.length > heldFrames, 'new frames arrived');
  const json = (await app.inject({ method: 'GET', url, headers: { accept: 'application/json' } })).json() as ProfileResponse;
  sameProfile(next.profile, json, 'continued frames');
  assert.equal(first.profile.flame.frames.name.length, heldFrames, 'the held frames are not changed');
  // Without the held frames the answer cannot be read; a wrong table is not continued.
  assert.throws(() => decodeProfile(body(res)), /frames table this client does not hold/);
  const other = await app.inject({ method: 'GET', url: `${url}?frames=${encodeURIComponent(`nope.1:${heldFrames}`)}`, headers: BINARY });
  sameProfile(decodeProfile(body(other)).profile, json, 'an unknown table gets every frame');
  await app.close();
});

test('values the narrow columns cannot hold, and strings JSON escapes, round-trip exactly', () => {
  const frames: FlameGraph['frames'] = {
    name: ['main', 'lone \ud800 surrogate', 'emoji 🔥', 'nul \u0000 and "quotes"', ''],
    file: ['a.c', '', 'b.c', 'a.c', ''],
    line: [1, 0, 70000, 3, 0],
    binary: ['app', 'app', 'libc.so.6', '', ''],
    kind: ['native', 'native', 'native', 'v8js', ''],
  };
  const flame: FlameGraph = {
    frames,
    frame: [-1, 0, 1, 2, 3, 4],
    depth: [0, 1, 2, 2, 3, 1],
    // Nanosecond-valued types: fractions, values past 2^32, a rounding residue.
    total: [1e13 + 0.5, 1e13, 2 ** 40, 1e-9, 3.25, 0.5],
    self: [0, -0, 2 ** 40, 1e-9, 3.25, 0.5],
  };
  const response: ProfileResponse = {
    key: 'default/Deployment/x',
    type: { key: 'off_cpu', label: 'Off-CPU', unit: 'nanoseconds', samples: 1, events: 1 },
    profileTypes: [],
    samples: 1e13 + 0.5,
    cpuNanos: 0,
    periodNanos: 0,
    startMs: null,
    endMs: 1.5,
    from: null,
    to: null,
    flame,
    symbols: [
      { name: 'main', file: 'a.c', binary: 'app', kind: 'native', self: 0, total: 1e13, selfNanos: 0, totalNanos: 1e13 },
      { name: 'emoji 🔥', file: 'b.c', binary: 'libc.so.6', kind: 'native', self: 1e-9, total: 1e-9, selfNanos: 7, totalNanos: 3 },
    ],
    unsymbolized: [{ binary: 'app', samples: 2 }],
    search: { query: 'x', matchedSamples: 1, totalSamples: 2, matchedFrames: 1 },
    generatedAt: 5,
  };
  const expected = JSON.parse(JSON.stringify(response)) as ProfileResponse;
  const bytes = encodeProfile({ response, symbolFrames: [0, 2], framesTable: 't' });
  assert.deepStrictEqual(decodeProfile(bytes).profile, expected);
  // At an odd offset (a Node Buffer from the pool): copied, then read the same.
  const shifted = new Uint8Array(bytes.byteLength + 3);
  shifted.set(bytes, 3);
  assert.deepStrictEqual(decodeProfile(shifted.subarray(3)).profile, expected);
  assert.throws(() => decodeProfile(new Uint8Array(16)), /bad magic/);
  assert.throws(() => decodeProfile(bytes.subarray(0, bytes.byteLength - 8)), /truncated/);
});

test('CPU nanoseconds sent as samples × period take no bytes', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => ({
    name: `f${i}`,
    file: '',
    binary: '',
    kind: '',
    self: i,
    total: 2 * i + 1,
    selfNanos: i * 50_000_000,
    totalNanos: (2 * i + 1) * 50_000_000,
  }));
  const frames = { name: rows.map((r) => r.name), file: rows.map(() => ''), line: rows.map(() => 0), binary: rows.map(() => ''), kind: rows.map(() => '') };
  const flame: FlameGraph = { frames, frame: [-1], depth: [0], total: [1], self: [0] };
  const response = { key: 'k', flame, symbols: rows } as unknown as ProfileResponse;
  const scaled = encodeProfile({ response, symbolFrames: rows.map((_, i) => i), framesTable: 't', framesFrom: rows.length });
  const odd = { ...response, symbols: rows.map((r, i) => (i === 500 ? { ...r, selfNanos: r.selfNanos + 1 } : r)) };
  const unscaled = encodeProfile({ response: odd, symbolFrames: rows.map((_, i) => i), framesTable: 't', framesFrom: rows.length });
  assert.ok(unscaled.byteLength - scaled.byteLength >= 1000 * 4, `${scaled.byteLength} vs ${unscaled.byteLength}`);
  const held = { table: 't', frames };
  assert.deepStrictEqual(decodeProfile(scaled, held).profile.symbols, rows);
  assert.deepStrictEqual(decodeProfile(unscaled, held).profile.symbols, odd.symbols);
  // Nothing new: the held frames object itself is reused.
  assert.equal(decodeProfile(scaled, held).profile.flame.frames, frames);
});
