import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Float64List, Int32List } from './lists.js';

test('columns cut from the shared slab hold exactly what was pushed, each its own', () => {
  // Columns growing in turns take room one after the other from the same slab (and a big one
  // gets a buffer of its own): none may see another's values.
  for (let round = 0; round < 6; round++) {
    const ints = new Int32List();
    const others = new Int32List();
    const floats = new Float64List();
    const n = 1000 + round * 37 + (round === 5 ? 200_000 : 0);
    for (let i = 0; i < n; i++) {
      ints.push(round * 100_000 + i);
      others.push(-i - 1);
      floats.push(round + i / 8);
    }
    assert.equal(ints.n, n);
    assert.deepEqual(
      Array.from(ints.a.subarray(0, n)),
      Array.from({ length: n }, (_, i) => round * 100_000 + i),
    );
    assert.deepEqual(
      Array.from(others.a.subarray(0, n)),
      Array.from({ length: n }, (_, i) => -i - 1),
    );
    assert.deepEqual(
      Array.from(floats.a.subarray(0, n)),
      Array.from({ length: n }, (_, i) => round + i / 8),
    );
  }
});
