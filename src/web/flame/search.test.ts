import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutFlame } from './layout.js';
import { summarizeMatches, singleFrame } from './search.js';
import { flameFromFolded } from './testing.js';
import { matchFrames as matchNames, parseSearch } from '../../profile/focus.js';
import type { FlameGraph } from '../../profile/flame.js';

const STACKS = `
main;serve;handle;parse 30
main;serve;handle;render;parse 5
main;serve;handle;render 15
main;batch;parseAll;parse 10
main;idle 40
`;

/** The frames a search box's query matches, as the flame view computes them. */
function matchFrames(g: FlameGraph, query: string): Uint8Array {
  const q = parseSearch(query);
  assert.ok(q.ok);
  return matchNames(g.frames.name, q.test);
}

test('match share counts each sample once, even with nested matches', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  const m = matchFrames(g, 'parse');
  const names = g.frames.name.filter((_, f) => m[f]).sort();
  assert.deepEqual(names, ['parse', 'parseAll']);
  const s = summarizeMatches(l, m);
  // parse under handle 30, parse under render 5, parseAll (with its parse) 10.
  assert.equal(s.samples, 45);
  assert.equal(s.share, 0.45);
  assert.equal(s.nodes, 4);
});

test('match share within a zoomed node, including a match above it', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  const handle = g.frame.findIndex((f) => f >= 0 && g.frames.name[f] === 'handle');
  const s = summarizeMatches(l, matchFrames(g, 'render'), handle);
  assert.equal(s.samples, 20);
  assert.equal(s.share, 0.4);
  const above = summarizeMatches(l, matchFrames(g, 'serve'), handle);
  assert.equal(above.share, 1, 'everything under handle runs inside serve');
});

test('a single picked frame highlights only that frame', () => {
  const g = flameFromFolded(STACKS);
  const f = g.frames.name.indexOf('render');
  const m = singleFrame(g, f);
  assert.equal(
    m.reduce((a, b) => a + b, 0),
    1,
  );
  assert.equal(summarizeMatches(layoutFlame(g), m).samples, 20);
});
