import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestFromFolded, K8S_INVENTORY } from '../../test/helpers/fixtures.js';
import { aggregateRequest } from './aggregate.js';
import { flameGraph, type FlameGraph } from './flame.js';
import { matchFrames, measureSearch, parseSearch, searchFilter, searchFlame } from './focus.js';

function graphOf(folded: string): FlameGraph {
  return flameGraph([...aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded }])).values()][0].tree);
}

const G = graphOf('main;walk;walk;leaf 4\nmain;walk;leaf 5\nmain;parse;leaf 5\nmain;idle 6\nmain;parse;walk;x 3');

test('a regex share counts each sample once, however often its stack matches', () => {
  // walk: 4 (recursive) + 5 + 3 (under parse); parse: 5 + 3, the 3 already counted.
  assert.deepEqual(searchFlame(G, '/^(walk|parse)$/'), { ok: true, matchedSamples: 17, totalSamples: 23, matchedFrames: 2 });
  assert.deepEqual(searchFlame(G, '/^w/'), { ok: true, matchedSamples: 12, totalSamples: 23, matchedFrames: 1 });
  assert.deepEqual(searchFlame(G, '/LEAF/i'), { ok: true, matchedSamples: 14, totalSamples: 23, matchedFrames: 1 });
  assert.deepEqual(searchFlame(G, '/LEAF/'), { ok: true, matchedSamples: 0, totalSamples: 23, matchedFrames: 0 });
});

test('plain text is a case-insensitive substring; a path with slashes stays text', () => {
  assert.deepEqual(searchFlame(G, 'IDL'), { ok: true, matchedSamples: 6, totalSamples: 23, matchedFrames: 1 });
  assert.deepEqual(searchFlame(G, 'a'), { ok: true, matchedSamples: 23, totalSamples: 23, matchedFrames: 4 });
  const lit = parseSearch('a.b(c');
  assert.ok(lit.ok);
  assert.deepEqual([lit.test('xA.B(Cy'), lit.test('aXb(c')], [true, false]);
  const q = parseSearch('/usr/lib');
  assert.ok(q.ok);
  assert.equal(q.test('/usr/lib/x.so'), true);
  assert.equal(q.test('usr'), false);
});

test('an invalid regex or an empty query is a message, never an exception', () => {
  assert.deepEqual(searchFlame(G, '/a(/'), { ok: false, error: 'invalid regular expression /a(/: Unterminated group' });
  assert.deepEqual(searchFlame(G, '/[z-a]/'), { ok: false, error: 'invalid regular expression /[z-a]/: Range out of order in character class' });
  assert.deepEqual(searchFlame(G, '   '), { ok: false, error: 'empty search: type text, or /regex/' });
});

test('the measure works on the bare arrays (what the browser holds)', () => {
  const matched = matchFrames(G.frames.name, (n) => n === 'leaf');
  assert.deepEqual(measureSearch({ frame: G.frame, depth: G.depth, total: G.total }, matched), { matchedSamples: 14, totalSamples: 23, matchedFrames: 1 });
  assert.deepEqual(measureSearch({ frame: [], depth: [], total: [] }, new Uint8Array(0)), { matchedSamples: 0, totalSamples: 0, matchedFrames: 0 });
});

test('a filter box: empty is no filter, the same rule otherwise, a half-typed regex matches nothing', () => {
  assert.equal(searchFilter('  '), null);
  const text = searchFilter('PARSE')!;
  assert.deepEqual(['parse', 'parseAll', 'render'].map(text), [true, true, false]);
  const rx = searchFilter('/^parse$/')!;
  assert.deepEqual(['parse', 'parseAll', 'Parse'].map(rx), [true, false, false]);
  const rxi = searchFilter('/^parse$/i')!;
  assert.deepEqual(['parse', 'Parse'].map(rxi), [true, true]);
  const bad = searchFilter('/(unclosed/')!;
  assert.equal(bad('(unclosed'), false);
});
