import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutFlame, resolveKeyPath } from './layout.js';
import { moveFrame, type FrameMove } from './keyboard.js';
import { flameFromFolded } from './testing.js';

const L = layoutFlame(
  flameFromFolded(`
main;serve;handle;parse 30
main;serve;handle;render 20
main;serve;gc 5
main;idle 45
`),
);

const at = (path: string): number => {
  if (path === 'all') return 0;
  const keys = path.split(';').map((n) => `${n}\0\0\0`);
  const r = resolveKeyPath(L, keys);
  assert.ok(r.complete, path);
  return r.node;
};
const name = (n: number): string => (L.graph.frame[n] < 0 ? 'all' : L.graph.frames.name[L.graph.frame[n]]);
const walk = (from: string, moves: FrameMove[], zoom = 'all'): string[] => {
  let n = at(from);
  return moves.map((m) => name((n = moveFrame(L, n, m, at(zoom)))));
};

test('arrows walk the drawn frames: Down to the largest callee, Up to the caller, sideways among siblings', () => {
  assert.deepEqual(
    walk('all', ['child', 'child', 'child', 'child', 'child']),
    ['main', 'serve', 'handle', 'parse', 'parse'],
    'largest callee first; a leaf stays',
  );
  // main's callees by name: idle (45) then serve (55).
  assert.deepEqual(walk('main;idle', ['next', 'next', 'prev', 'prev', 'parent', 'parent', 'parent']), ['serve', 'serve', 'idle', 'idle', 'main', 'all', 'all']);
  assert.deepEqual(walk('main', ['next', 'prev']), ['main', 'main'], 'an only child has no siblings');
});

test('zoomed: the zoomed frame and its ancestors have no sideways steps, and Down from an ancestor leads back to it', () => {
  assert.deepEqual(walk('main;serve;handle', ['prev', 'next', 'parent', 'next', 'parent', 'child', 'child', 'child'], 'main;serve;handle'), [
    'handle',
    'handle',
    'serve',
    'serve',
    'main',
    'serve',
    'handle',
    'parse',
  ]);
  assert.deepEqual(walk('main;serve;handle;render', ['prev', 'prev', 'next'], 'main;serve;handle'), ['parse', 'parse', 'render']);
});
