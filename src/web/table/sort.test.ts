import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SymbolRow } from '../../profile/symbols.js';
import { filterRows, rowKey, sortRows } from './sort.js';
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
  assert.deepEqual(sortRows(ROWS, 'total', 'desc').map((r) => r.name), ['main', 'parse', 'idle', 'render']);
  assert.deepEqual(sortRows(ROWS, 'self', 'desc').map((r) => r.name), ['idle', 'parse', 'render', 'main']);
  assert.deepEqual(sortRows(ROWS, 'self', 'asc').map((r) => r.name), ['main', 'render', 'idle', 'parse']);
  assert.deepEqual(sortRows(ROWS, 'name', 'asc').map((r) => r.name), ['idle', 'main', 'parse', 'render']);
  assert.deepEqual(ROWS.map((r) => r.name), ['parse', 'main', 'render', 'idle'], 'input untouched');
});

test('filter by name or binary, with the search syntax', () => {
  assert.deepEqual(filterRows(ROWS, 'PAR').map((r) => r.name), ['parse']);
  assert.deepEqual(filterRows(ROWS, 'libc').map((r) => r.name), ['idle']);
  assert.deepEqual(filterRows(ROWS, '/^(main|idle)$/').map((r) => r.name), ['main', 'idle']);
  assert.equal(filterRows(ROWS, ''), ROWS);
});

test('a row and its flame graph frame share one key', () => {
  const g = flameFromFolded('main;parse#v8js 3');
  const f = g.frames.name.indexOf('parse');
  assert.equal(rowKey({ ...row('parse', 3, 3, ''), kind: 'v8js' }), frameKeyOf(g, f));
});
