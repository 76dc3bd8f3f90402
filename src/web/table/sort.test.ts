import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SymbolRow } from '../../profile/symbols.js';
import { NameOrder, filterRows, radixOrder, rowKey, sortRows, sortRowsAsync, sortRowsByComparator } from './sort.js';
import { flameFromFolded } from '../flame/testing.js';
import { frameKeyOf } from '../flame/layout.js';

const row = (name: string, self: number, total: number, binary = 'app'): SymbolRow => ({
  name,
  file: '',
  binary,
  kind: '',
  self,
  total,
  selfNanos: self * 10,
  totalNanos: total * 10,
});

const ROWS = [row('parse', 30, 35), row('main', 0, 100), row('render', 20, 20), row('idle', 30, 30, 'libc.so.6')];

test('sort by total or self, either way, ties by name', () => {
  assert.deepEqual(
    sortRows(ROWS, 'total', 'desc').map((r) => r.name),
    ['main', 'parse', 'idle', 'render'],
  );
  assert.deepEqual(
    sortRows(ROWS, 'self', 'desc').map((r) => r.name),
    ['idle', 'parse', 'render', 'main'],
  );
  assert.deepEqual(
    sortRows(ROWS, 'self', 'asc').map((r) => r.name),
    ['main', 'render', 'idle', 'parse'],
  );
  assert.deepEqual(
    sortRows(ROWS, 'name', 'asc').map((r) => r.name),
    ['idle', 'main', 'parse', 'render'],
  );
  assert.deepEqual(
    ROWS.map((r) => r.name),
    ['parse', 'main', 'render', 'idle'],
    'input untouched',
  );
});

test('filter by name or binary, with the search syntax', () => {
  assert.deepEqual(
    filterRows(ROWS, 'PAR').map((r) => r.name),
    ['parse'],
  );
  assert.deepEqual(
    filterRows(ROWS, 'libc').map((r) => r.name),
    ['idle'],
  );
  assert.deepEqual(
    filterRows(ROWS, '/^(main|idle)$/').map((r) => r.name),
    ['main', 'idle'],
  );
  // As in the flame search: a /regex/ is case-sensitive unless it says /…/i.
  assert.deepEqual(
    filterRows(ROWS, '/^PARSE$/').map((r) => r.name),
    [],
  );
  assert.deepEqual(
    filterRows(ROWS, '/^PARSE$/i').map((r) => r.name),
    ['parse'],
  );
  assert.deepEqual(
    filterRows(ROWS, '/(unclosed/').map((r) => r.name),
    [],
    'a half-typed regex matches nothing',
  );
  assert.equal(filterRows(ROWS, ''), ROWS);
});

test('a row and its flame graph frame share one key', () => {
  const g = flameFromFolded('main;parse#v8js 3');
  const f = g.frames.name.indexOf('parse');
  assert.equal(rowKey({ ...row('parse', 3, 3, ''), kind: 'v8js' }), frameKeyOf(g, f));
});

test('names merged in over many updates keep the order strings have', () => {
  let seed = 7;
  const rand = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const word = (): string => Array.from({ length: 1 + Math.floor(rand() * 6) }, () => 'abcdefgh'[Math.floor(rand() * 8)]).join('');
  const order = new NameOrder();
  const seen = new Set<string>();
  for (let update = 0; update < 60; update++) {
    // A few new names an update, sometimes many, always some known ones.
    const fresh = Array.from({ length: update % 10 === 0 ? 300 : 1 + Math.floor(rand() * 8) }, word);
    const known = [...seen].filter(() => rand() < 0.5);
    const rows = [...fresh, ...known].map((name) => row(name, 0, 0));
    for (const n of fresh) seen.add(n);
    const rank = order.ranks(rows);
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < rows.length; j++) {
        const a = rows[i].name;
        const b = rows[j].name;
        assert.equal(Math.sign(rank[i] - rank[j]), a < b ? -1 : a > b ? 1 : 0, `${a} vs ${b} after update ${update}`);
      }
    }
  }
});

test('a large table sorts as the comparator would, values, names and binaries tied', () => {
  const names = ['b', 'a', 'c', 'a', 'd', 'b'];
  const rows = Array.from({ length: 3000 }, (_, i) => row(names[i % 6], i % 5, (i * 7) % 11, i % 4 === 0 ? 'libc' : 'app'));
  for (const dir of ['asc', 'desc'] as const) {
    for (const key of ['self', 'total', 'name'] as const) assert.deepEqual(sortRows(rows, key, dir), sortRowsByComparator(rows, key, dir), `${key} ${dir}`);
  }
  const fractions = rows.map((r, i) => ({ ...r, self: r.self + i / 7 }));
  assert.deepEqual(sortRows(fractions, 'self', 'desc'), sortRowsByComparator(fractions, 'self', 'desc'), 'values that are not whole numbers');
});

test('radix order: stable, for keys from a few to 2^53', () => {
  let seed = 11;
  const rand = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (const max of [0, 1, 7, 2047, 2048, 70_000, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
    const keys = Float64Array.from({ length: 3000 }, () => Math.floor(rand() * (max + 1)));
    keys[0] = max;
    const expected = Array.from(keys.keys()).sort((a, b) => keys[a] - keys[b] || a - b);
    assert.deepEqual(Array.from(radixOrder(keys, max)), expected, `keys up to ${max}`);
  }
});

test('two tables sorted in slices at once, one renumbering the names under the other, both come out right', async () => {
  const big = Array.from({ length: 60_000 }, (_, i) => row(`fn${(i * 7919) % 60_000}`, i % 13, i % 17));
  const small = Array.from({ length: 50 }, (_, i) => row(`new${i % 9}`, i % 3, i % 5));
  const pause = (): Promise<void> => new Promise((r) => setImmediate(r));
  await sortRowsAsync(big, 'self', 'desc', pause);
  // The small table's new names make the order start afresh from its rows (the list is far
  // larger than it), while the big one is between slices, and then the big one's names again.
  const [a, b, c] = await Promise.all([
    sortRowsAsync(big, 'total', 'asc', pause),
    sortRowsAsync(small, 'self', 'desc', pause),
    sortRowsAsync(big, 'name', 'desc', pause),
  ]);
  assert.deepEqual(a, sortRowsByComparator(big, 'total', 'asc'));
  assert.deepEqual(b, sortRowsByComparator(small, 'self', 'desc'));
  assert.deepEqual(c, sortRowsByComparator(big, 'name', 'desc'));
});
