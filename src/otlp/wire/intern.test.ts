import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internString } from './intern.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('the same bytes in two requests give the same string, read at any offset', () => {
  const a = bytes('xxmain.handleRequest');
  const b = bytes('main.handleRequest');
  const first = internString(a, 2, a.length - 2);
  const second = internString(b, 0, b.length);
  assert.equal(first, 'main.handleRequest');
  assert.equal(second, 'main.handleRequest');
});

test('different strings never answer for each other, whatever the cache holds', () => {
  // Many distinct names of equal length: some share a cache entry, and each must come back exact.
  const names = Array.from({ length: 50_000 }, (_, i) => `fn_${i.toString(36).padStart(6, '0')}`);
  for (const round of [0, 1]) {
    for (const name of names) assert.equal(internString(bytes(name), 0, name.length), name, `round ${round}`);
  }
});

test('non-ASCII and long strings are decoded as UTF-8', () => {
  const accented = 'héllo_wörld::naïve';
  assert.equal(internString(bytes(accented), 0, bytes(accented).length), accented);
  const long = 'x'.repeat(300) + 'é';
  assert.equal(internString(bytes(long), 0, bytes(long).length), long);
  assert.equal(internString(bytes(''), 0, 0), '');
});
