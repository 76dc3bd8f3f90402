import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unnamedRequest } from '../../test/helpers/time-windows.js';
import { aggregateRequest } from './aggregate.js';
import { flameGraph } from './flame.js';
import { isUnsymbolized, unsymbolizedByBinary } from './unsymbolized.js';

test('per binary, samples with a frame that could not be named, each sample once per binary', () => {
  const profile = [...aggregateRequest(unnamedRequest()).values()][0];
  assert.equal(profile.samples, 11);
  assert.deepEqual(unsymbolizedByBinary(flameGraph(profile.tree)), [
    { binary: 'libfoo.so', samples: 5 },
    { binary: 'libbar.so', samples: 2 },
    { binary: '', samples: 1 },
  ]);
});

test('only the engine names for unnamed code count as unsymbolized', () => {
  assert.equal(isUnsymbolized('libfoo.so+0x1f', 'libfoo.so'), true);
  assert.equal(isUnsymbolized('0xdead', ''), true);
  assert.equal(isUnsymbolized('[anon]+0x7f00', '[anon]'), true);
  assert.equal(isUnsymbolized('libfoo.so+0x1f', 'libbar.so'), false);
  assert.equal(isUnsymbolized('libfoo.so+0x', 'libfoo.so'), false);
  assert.equal(isUnsymbolized('memcpy', 'libc.so.6'), false);
  assert.equal(isUnsymbolized('0xdead', 'libc.so.6'), false);
  assert.deepEqual(unsymbolizedByBinary({ frames: { name: [], file: [], line: [], binary: [], kind: [] }, frame: [-1], depth: [0], total: [0], self: [0] }), []);
});
