import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameTable } from './frames.js';
import { CallTree } from './calltree.js';
import { frameNameOrder } from './name-order.js';
import { symbolRowFrames, symbolsTable } from './symbols.js';

test('a growing frame table keeps its frames in name order, ties by id', () => {
  let seed = 3;
  const rand = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const table = new FrameTable();
  for (let round = 0; round < 40; round++) {
    // A few frames a round, sometimes many; names repeat across binaries.
    const n = round % 8 === 0 ? 200 : Math.floor(rand() * 6);
    for (let i = 0; i < n; i++) {
      const name = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => 'abcde'[Math.floor(rand() * 5)]).join('');
      table.intern({ name, file: '', line: 0, binary: `b${Math.floor(rand() * 3)}`, kind: '' });
    }
    const { order, rank } = frameNameOrder(table);
    const names = table.frames.map((f) => f.name);
    const expected = Array.from(names.keys()).sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : a - b));
    assert.deepEqual(Array.from(order), expected, `round ${round}`);
    for (let r = 0; r < order.length; r++) assert.equal(rank[order[r]], r);
  }
});

test('symbols rows: by self, total, then name as strings compare, and each row names its frame', () => {
  const tree = new CallTree();
  const f = (name: string, binary = 'app'): number => tree.frames.intern({ name, file: '', line: 0, binary, kind: '' });
  const stacks: [string[], number][] = [
    [['main', 'b', 'x'], 2],
    [['main', 'a', 'x@lib'], 2],
    [['main', 'c'], 1],
    [['main', 'a'], 1],
    [['main', 'B'], 1],
    [['main', 'b', 'a'], 3],
  ];
  for (const [names, count] of stacks) {
    tree.add(tree.path(names.map((n) => (n.includes('@') ? f(n.split('@')[0], n.split('@')[1]) : f(n)))), count, 0);
    // The order is kept between builds while the table grows.
    symbolsTable(tree);
  }
  const rows = symbolsTable(tree);
  const byComparator = [...rows].sort((p, q) => q.self - p.self || q.total - p.total || (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
  assert.deepEqual(rows, byComparator);
  assert.deepEqual(
    rows.map((r) => `${r.name}@${r.binary}:${r.self}/${r.total}`),
    ['a@app:4/6', 'x@app:2/2', 'x@lib:2/2', 'B@app:1/1', 'c@app:1/1', 'main@app:0/10', 'b@app:0/5'],
  );
  const ids = symbolRowFrames(rows)!;
  assert.deepEqual(
    rows.map((r, i) => tree.frames.get(ids[i])),
    rows.map((r) => tree.frames.get(tree.frames.find(r.name, r.file, r.binary, r.kind))),
  );
});
