import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestFromFolded } from '../../test/helpers/fixtures.js';
import { unnamedRequest } from '../../test/helpers/time-windows.js';
import { aggregateRequest } from './aggregate.js';
import { flameGraph } from './flame.js';
import { isUnsymbolized, unsymbolizedByBinary } from './unsymbolized.js';

test('per binary, samples whose own (leaf) frame could not be named: unnamed callers with named or unnamed code below do not count', () => {
  const profile = [...aggregateRequest(unnamedRequest()).values()][0];
  assert.equal(profile.samples, 11);
  // libfoo: 3 + 2 leaves; libbar sits only between main and a libfoo leaf; one bare address.
  assert.deepEqual(unsymbolizedByBinary(flameGraph(profile.tree)), [
    { binary: 'libfoo.so', samples: 5 },
    { binary: '', samples: 1 },
  ]);
});

test('an unnamed start-up frame at the root of every stack, with named code below, is no alarm', () => {
  const profile = [
    ...aggregateRequest(
      requestFromFolded([
        {
          resource: { 'service.name': 's' },
          folded: 'libc.so.6+0x29d90@/usr/lib/libc.so.6;main;work 9\nlibc.so.6+0x29d90@/usr/lib/libc.so.6;main;libz.so+0x10@/usr/lib/libz.so 1',
        },
      ]),
    ).values(),
  ][0];
  assert.deepEqual(unsymbolizedByBinary(flameGraph(profile.tree)), [{ binary: 'libz.so', samples: 1 }]);
});

test('only the engine names for unnamed code count as unsymbolized', () => {
  assert.equal(isUnsymbolized('libfoo.so+0x1f', 'libfoo.so'), true);
  assert.equal(isUnsymbolized('0xdead', ''), true);
  assert.equal(isUnsymbolized('[anon]+0x7f00', '[anon]'), true);
  assert.equal(isUnsymbolized('libfoo.so+0x1f', 'libbar.so'), false);
  assert.equal(isUnsymbolized('libfoo.so+0x', 'libfoo.so'), false);
  assert.equal(isUnsymbolized('memcpy', 'libc.so.6'), false);
  assert.equal(isUnsymbolized('0xdead', 'libc.so.6'), false);
  assert.deepEqual(
    unsymbolizedByBinary({ frames: { name: [], file: [], line: [], binary: [], kind: [] }, frame: [-1], depth: [0], total: [0], self: [0] }),
    [],
  );
});
