import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Float64List, Int32List } from './lists.js';

test('columns that take over arrays other columns outgrew hold exactly what was pushed', () => {
  // Each round grows fresh columns through the same sizes, so later rounds reuse the arrays
  // earlier rounds outgrew (with their old contents still in them).
  for (let round = 0; round < 6; round++) {
    const ints = new Int32List();
    const floats = new Float64List();
    const n = 1000 + round * 37;
    for (let i = 0; i < n; i++) {
      ints.push(round * 100_000 + i);
      floats.push(round + i / 8);
    }
    assert.equal(ints.n, n);
    assert.deepEqual(Array.from(ints.a.subarray(0, n)), Array.from({ length: n }, (_, i) => round * 100_000 + i));
    assert.deepEqual(Array.from(floats.a.subarray(0, n)), Array.from({ length: n }, (_, i) => round + i / 8));
  }
});
