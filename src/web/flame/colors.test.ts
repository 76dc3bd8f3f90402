import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PALETTE, SHADES, colorIndex, dimIndex, familyOf, frameColors, legendEntries, DIM_BASE, ROOT_COLOR } from './colors.js';
import { fitLabel, ownNameStart, formatNanos, formatPercent, formatAgo, formatBytes } from './text.js';

test('a name keeps its colour, and the frame type picks the hue family', () => {
  assert.equal(colorIndex('parse', 'native'), colorIndex('parse', 'native'));
  assert.equal(Math.floor(colorIndex('parse', 'kernel') / SHADES), familyOf('kernel'));
  assert.equal(Math.floor(colorIndex('parse', 'v8js') / SHADES), familyOf('v8js'));
  assert.equal(familyOf(''), familyOf('native'), 'unknown types look native');
  assert.equal(familyOf('V8JS'), familyOf('v8js'));
  assert.notEqual(familyOf('kernel'), familyOf('native'));
  const c = frameColors(['a', 'b', 'a'], ['native', 'kernel', 'native']);
  assert.equal(c[0], c[2]);
});

test('similar names spread over the shades', () => {
  const shades = new Set(Array.from({ length: 64 }, (_, i) => colorIndex(`fn${i}`, 'native') % SHADES));
  assert.equal(shades.size, SHADES);
});

test('the palette is small and every index it hands out exists', () => {
  assert.ok(PALETTE.length < 128, 'few colours keep canvas batches few');
  assert.ok(PALETTE[dimIndex(colorIndex('x', 'jvm'))].startsWith('hsl(0 0%'));
  assert.ok(dimIndex(0) >= DIM_BASE && dimIndex(0) < ROOT_COLOR);
  for (const s of PALETTE) assert.match(s, /^hsl\(/);
});

test('labels are cut to whole characters with an ellipsis, or dropped when too narrow', () => {
  assert.equal(fitLabel('render', 60, 7), 'render');
  assert.equal(fitLabel('renderFrame', 42, 7), 'rende…');
  assert.equal(fitLabel('renderFrame', 14, 7), '');
  // Long qualified names keep the function's own name: the cut is in the middle.
  assert.equal(fitLabel('v8::internal::Heap::Scavenge', 20 * 7, 7), 'v8::interna…Scavenge');
  assert.equal(fitLabel('node::Start(int, char**)', 20 * 7, 7), 'n…Start(int, char**)');
  assert.equal(fitLabel('com.example.shop.Checkout.applyDiscounts', 24 * 7, 7), 'com.examp…applyDiscounts');
  assert.equal(fitLabel('libc.so.6+0x29d90', 12 * 7, 7), 'lib…+0x29d90');
  // An own name longer than the room is cut at its end.
  assert.equal(fitLabel('ns::aVeryLongFunctionName', 10 * 7, 7), 'aVeryLong…');
  assert.equal(ownNameStart('plain'), 0);
  assert.equal(ownNameStart('std::vector<int>::push_back(int const&)'), 'std::vector<int>::'.length);
});

test('values read the way a profiler shows them', () => {
  assert.equal(formatNanos(1_500_000_000), '1.50 s');
  assert.equal(formatNanos(250_000_000), '250 ms');
  assert.equal(formatNanos(90e9), '1.5 min');
  assert.equal(formatPercent(0.4567), '45.7%');
  assert.equal(formatPercent(0.01234), '1.23%');
  assert.equal(formatPercent(0.00000001), '<0.01%');
  assert.equal(formatAgo(10_000, 13_400), '3 s ago');
  assert.equal(formatAgo(null, 1), 'never');
  assert.equal(formatBytes(8 * 1024 * 1024), '8.0 MiB');
});

test('the legend lists each colour family once, in palette order, with the shades frames are drawn in', () => {
  const entries = legendEntries(['v8js', 'native', '', 'KERNEL', 'mystery', 'native']);
  assert.deepEqual(
    entries.map((e) => [e.kind, e.label]),
    [
      ['kernel', 'kernel'],
      ['native', 'native'],
      ['v8js', 'JS (v8js)'],
    ],
    'unknown and empty types are drawn (and listed) as native',
  );
  const v8 = entries[2];
  assert.equal(v8.shades.length, SHADES);
  // Every shade a v8js frame can get is in the legend's entry, and no other.
  const drawn = new Set(Array.from({ length: 200 }, (_, i) => PALETTE[colorIndex(`fn${i}`, 'v8js')]));
  assert.deepEqual([...drawn].sort(), [...v8.shades].sort());
  assert.deepEqual(legendEntries([]), []);
});

test('colours of a frames table that grows (or changes) between calls are those of a fresh call', () => {
  const names = Array.from({ length: 500 }, (_, i) => `fn_${i}`);
  const kinds = names.map((_, i) => ['native', 'kernel', 'v8js'][i % 3]);
  const fresh = (n: readonly string[], k: readonly string[]): number[] => n.map((x, i) => colorIndex(x, k[i] ?? ''));
  assert.deepEqual([...frameColors(names.slice(0, 300), kinds.slice(0, 300))], fresh(names.slice(0, 300), kinds));
  // Grown: the first 300 carried over, the rest hashed.
  assert.deepEqual([...frameColors(names, kinds)], fresh(names, kinds));
  // Another graph altogether, and one whose frame 10 changed kind.
  const other = names.map((n) => `${n}_x`);
  assert.deepEqual([...frameColors(other, kinds)], fresh(other, kinds));
  const changed = kinds.map((k, i) => (i === 10 ? 'jvm' : k));
  assert.deepEqual([...frameColors(other, changed)], fresh(other, changed));
  assert.deepEqual([...frameColors(other.slice(0, 5), changed)], fresh(other.slice(0, 5), changed));
});
