import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutFlame, nodeAt, childrenOf, keyPath, resolveKeyPath, ancestry } from './layout.js';
import { visibleNodes, depthAt, contentHeight, type Viewport } from './viewport.js';
import { flameFromFolded, syntheticFlame } from './testing.js';

const STACKS = `
main;serve;handle;parse 30
main;serve;handle;render 20
main;serve;gc 5
main;idle 45
`;

const names = (g: ReturnType<typeof flameFromFolded>, nodes: Iterable<number>): string[] =>
  [...nodes].map((n) => (g.frame[n] < 0 ? 'all' : g.frames.name[g.frame[n]]));

test('layout: x is the parent x plus the totals of earlier siblings', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  const at = (name: string): number => g.frame.findIndex((f) => f >= 0 && g.frames.name[f] === name);
  assert.deepEqual(
    ['main', 'idle', 'serve', 'gc', 'handle', 'parse', 'render'].map((n) => [n, l.x[at(n)], g.total[at(n)]]),
    [
      ['main', 0, 100],
      ['idle', 0, 45],
      ['serve', 45, 55],
      ['gc', 45, 5],
      ['handle', 50, 50],
      ['parse', 50, 30],
      ['render', 80, 20],
    ],
  );
  assert.equal(l.maxDepth, 4);
  assert.deepEqual(names(g, l.rows[2]), ['idle', 'serve']);
  assert.deepEqual(names(g, childrenOf(l, at('serve'))), ['gc', 'handle']);
  assert.deepEqual(names(g, ancestry(l, at('render'))), ['all', 'main', 'serve', 'handle', 'render']);
  assert.equal(l.end[at('serve')], g.frame.length, 'serve subtree runs to the end of pre-order');
  assert.equal(l.end[at('idle')], at('serve'));
});

test('hit testing finds the node under a sample offset in a row', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  assert.deepEqual(names(g, [nodeAt(l, 3, 47), nodeAt(l, 3, 50), nodeAt(l, 4, 99.9)]), ['gc', 'handle', 'render']);
  assert.equal(nodeAt(l, 3, 10), -1, 'nothing under idle at depth 3');
  assert.equal(nodeAt(l, 9, 10), -1);
});

test('zoom survives a new flame graph by its frame path, and falls back to the nearest ancestor', () => {
  const g1 = flameFromFolded(STACKS);
  const l1 = layoutFlame(g1);
  const handle = g1.frame.findIndex((f) => f >= 0 && g1.frames.name[f] === 'handle');
  const path = keyPath(l1, handle);
  // New data adds a frame that sorts first and renumbers every frame id.
  const g2 = flameFromFolded('aaa;x 7\n' + STACKS + '\nmain;serve;handle;parse 10');
  const l2 = layoutFlame(g2);
  const r = resolveKeyPath(l2, path);
  assert.equal(r.complete, true);
  assert.deepEqual(names(g2, ancestry(l2, r.node)), ['all', 'main', 'serve', 'handle']);
  assert.equal(g2.total[r.node], 60);
  const g3 = flameFromFolded('main;serve;gc 5');
  const r3 = resolveKeyPath(layoutFlame(g3), path);
  assert.equal(r3.complete, false);
  assert.deepEqual(names(g3, [r3.node]), ['serve']);
});

function view(over: Partial<Viewport>): Viewport {
  return { x0: 0, span: 100, width: 1000, height: 400, rowHeight: 20, scrollTop: 0, inverted: false, ...over };
}

test('culling: only nodes in the view and at least half a pixel wide are visited', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  const out = new Int32Array(l.size);
  const all = visibleNodes(l, view({}), out);
  assert.equal(all, l.size);
  // Zoomed on handle (x 50, span 50): ancestors and the handle subtree; idle and gc are off-screen.
  const zoomed = visibleNodes(l, view({ x0: 50, span: 50 }), out);
  assert.deepEqual(names(g, out.subarray(0, zoomed)), ['all', 'main', 'serve', 'handle', 'parse', 'render']);
  // 100 samples on a 100 px canvas at 0.5 px minimum: all; on 5 px, gc (0.25 px) goes.
  const tiny = visibleNodes(l, view({ width: 5 }), out);
  assert.ok(!names(g, out.subarray(0, tiny)).includes('gc'));
  // A view two rows tall sees only the root and main.
  const short = visibleNodes(l, view({ height: 40 }), out);
  assert.deepEqual(names(g, out.subarray(0, short)), ['all', 'main']);
  // Scrolled down by three rows: handle's row (depth 3) and below.
  const scrolled = visibleNodes(l, view({ scrollTop: 60, height: 40 }), out);
  assert.deepEqual(names(g, out.subarray(0, scrolled)), ['gc', 'handle', 'parse', 'render']);
});

test('inverted views put the root at the bottom', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  const v = view({ inverted: true, height: contentHeight(l, 20) });
  assert.equal(depthAt(l, v, v.height - 1), 0);
  assert.equal(depthAt(l, v, 0), l.maxDepth);
  const out = new Int32Array(l.size);
  const bottomTwo = visibleNodes(l, { ...v, scrollTop: v.height - 40, height: 40 }, out);
  assert.deepEqual(names(g, out.subarray(0, bottomTwo)), ['all', 'main']);
});

test('culling a 100k-node graph visits far fewer nodes than it has when zoomed', () => {
  const g = syntheticFlame(100_000, 7);
  const l = layoutFlame(g);
  assert.ok(l.size > 90_000, `synthetic graph has ${l.size} nodes`);
  assert.equal(l.x[0], 0);
  assert.equal(g.total[0], g.total.slice(1).reduce((a, t, i) => (g.depth[i + 1] === 1 ? a + t : a), 0) + g.self[0]);
  const out = new Int32Array(l.size);
  const full = visibleNodes(l, view({ width: 1200, height: 2000, span: l.rootTotal }), out);
  assert.ok(full < l.size / 2, `drew ${full} of ${l.size}`);
  for (let k = 0; k < full; k++) assert.ok((g.total[out[k]] * 1200) / l.rootTotal >= 0.5);
});
