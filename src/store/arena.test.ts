import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkRing } from './arena.js';
import { ProfileStore } from './store.js';
import { DEFAULT_LIMITS } from './config.js';
import { parseWorkloadKey } from '../profile/workload.js';
import { foldedStacks } from '../profile/folded.js';
import { aggregateEncoded } from '../profile/aggregate-encoded.js';
import { requestFromFolded } from '../../test/helpers/fixtures.js';
import { ingest } from '../../test/helpers/ingest.js';

/** Bytes that say where they came from: chunk `id`, byte `i`. */
function bytesOf(id: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (id * 31 + i * 7) & 0xff;
  return out;
}

/** A ring used as a slot uses it: drop oldest until the new chunk fits, then append. */
class Model {
  readonly held: { id: number; pos: number; n: number }[] = [];
  constructor(readonly ring: ChunkRing) {}
  add(id: number, n: number): void {
    while (!this.ring.fits(n)) this.ring.dropOldest(this.held.shift()!.n);
    this.held.push({ id, pos: this.ring.append(bytesOf(id, n)), n });
  }
  check(what: string): void {
    assert.ok(this.ring.used <= this.ring.maxBytes, `${what}: ${this.ring.used} bytes held > cap ${this.ring.maxBytes}`);
    assert.equal(
      this.ring.used,
      this.held.reduce((s, c) => s + c.n, 0),
      `${what}: bytes held`,
    );
    for (const c of this.held) assert.deepEqual(this.ring.read(c.pos, c.n), bytesOf(c.id, c.n), `${what}: chunk ${c.id}`);
  }
}

for (const wasm of [true, false]) {
  const kind = wasm ? 'WebAssembly memory' : 'ArrayBuffer';

  test(`ring (${kind}): a chunk that wraps the end reads back exactly`, () => {
    const ring = new ChunkRing(1000, { initialBytes: 1000, wasm });
    assert.equal(ring.inMemory, wasm);
    const m = new Model(ring);
    m.add(1, 400);
    m.add(2, 400);
    m.add(3, 400); // drops chunk 1; 200 bytes at the end, 200 at the start
    assert.deepEqual(
      m.held.map((c) => c.id),
      [2, 3],
    );
    const wrapped = ring.read(m.held[1].pos, 400);
    assert.equal(wrapped.buffer.byteLength, 400, 'a wrapped chunk is read as a copy of its two pieces');
    assert.deepEqual(wrapped, bytesOf(3, 400));
    assert.notEqual(ring.read(m.held[0].pos, 400).buffer.byteLength, 400, 'a contiguous chunk is read as a view');
    m.check('after the wrap');
    assert.throws(() => ring.read(0, 400), /not held/);
  });

  test(`ring (${kind}): random chunk sizes never exceed the cap and every chunk held reads back`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 60 }), (max, sizes) => {
        const ring = new ChunkRing(max, { initialBytes: 64, wasm });
        const m = new Model(ring);
        sizes.forEach((n, id) => {
          if (n > max) {
            assert.throws(() => ring.append(bytesOf(id, n)), /do not fit/);
            return;
          }
          m.add(id, n);
          m.check(`after chunk ${id}`);
        });
      }),
      { numRuns: wasm ? 60 : 200 },
    );
  });

  test(`ring (${kind}): grows by doubling up to the cap`, () => {
    const ring = new ChunkRing(300_000, { initialBytes: 65536, wasm });
    assert.equal(ring.capacity, 65536);
    const m = new Model(ring);
    m.add(1, 60_000);
    assert.equal(ring.capacity, 65536);
    m.add(2, 60_000);
    assert.equal(ring.capacity, 131072);
    for (let id = 3; id < 12; id++) m.add(id, 60_000);
    assert.ok(ring.capacity >= 300_000 && ring.capacity < 300_000 + 65536, `capacity ${ring.capacity}`);
    m.check('full');
  });

  test(`ring (${kind}): resize keeps the newest chunks, exactly, smaller and larger`, () => {
    const ring = new ChunkRing(10_000, { initialBytes: 10_000, wasm });
    const m = new Model(ring);
    for (let id = 0; id < 13; id++) m.add(id, 1500); // wrapped several times
    m.check('before');
    // Smaller: the slot drops oldest first, then resizes.
    while (ring.used > 4000) ring.dropOldest(m.held.shift()!.n);
    ring.resize(4000);
    assert.deepEqual(
      m.held.map((c) => c.id),
      [11, 12],
    );
    m.check('after shrinking');
    assert.ok(ring.capacity <= (wasm ? 65536 : 4000), `capacity ${ring.capacity}`);
    // Larger: what is held moves intact and the ring fills to the new cap.
    ring.resize(20_000);
    m.check('after growing');
    for (let id = 13; id < 40; id++) m.add(id, 1500);
    assert.equal(ring.used, 13 * 1500);
    m.check('full at the new cap');
    assert.throws(() => ring.resize(100), /exceed the new limit/);
  });
}

test('a slot keeps its chunks in its arena: wrapped chunks decode, the cap holds, resize keeps the newest', () => {
  const key = 'host/Service/api';
  const probe = new ProfileStore(DEFAULT_LIMITS);
  probe.open(parseWorkloadKey(key)!);
  ingest(probe, requestFromFolded([{ resource: { 'service.name': 'api' }, folded: 'main;f0 1' }]));
  const one = probe.slot(key)!.bytes;
  // Room for 3.5 chunks, so the ring wraps inside a chunk.
  const cap = Math.floor(one * 3.5);
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: cap });
  store.open(parseWorkloadKey(key)!);
  for (let i = 0; i < 12; i++) {
    ingest(store, requestFromFolded([{ resource: { 'service.name': 'api' }, folded: `main;f${i % 10} ${i + 1}` }]));
    const slot = store.slot(key)!;
    assert.ok(slot.bytes <= cap, `after chunk ${i}: ${slot.bytes} > ${cap}`);
    for (const chunk of slot.chunks) assert.equal(aggregateEncoded(chunk.bytes, { workload: key }).get(key)?.samples, chunk.samples);
  }
  const slot = store.slot(key)!;
  assert.equal(foldedStacks(store.profile(key).tree), 'main;f0 11\nmain;f1 12\nmain;f9 10\n');
  const dropped = slot.chunks[0];
  store.setLimits({ slotMaxBytes: slot.chunks.at(-1)!.byteLength });
  assert.equal(slot.chunks.length, 1);
  assert.equal(foldedStacks(store.profile(key).tree), 'main;f1 12\n');
  assert.throws(() => dropped.bytes, /dropped/);
  assert.equal(aggregateEncoded(slot.chunks[0].bytes, { workload: key }).get(key)?.samples, 12);
});
