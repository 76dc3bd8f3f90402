import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import type { FrameSpec } from '../../otlp/builder.js';
import { Demangler } from './demangle.js';

function hasCxxFilt(): boolean {
  try {
    execFileSync('c++filt', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('mangled C++ names become readable in one c++filt run; other frames are left as they are', (t) => {
  if (!hasCxxFilt()) return t.skip('c++filt (binutils) is not installed');
  const d = new Demangler();
  const start = { name: '_ZN4node5StartEiPPc', binary: '/usr/bin/node', kind: 'native' };
  const cold = { name: '_ZN2v88internal4Heap7CollectEv.cold', kind: 'native' };
  const plain = { name: 'main', kind: 'native' };
  const js = { name: 'checkout', kind: 'v8js' };
  const unnamed = { binary: 'libfoo.so', address: 16n };
  const hostile = { name: '_Zx\nrm -rf', kind: 'native' };
  d.prepare([[start, plain], [cold, js, unnamed, hostile]]);
  assert.equal(d.runs, 1);
  const out = d.frames<FrameSpec>([start, plain, cold, js, unnamed, hostile]);
  assert.deepEqual(
    out.map((f) => f.name),
    ['node::Start(int, char**)', 'main', 'v8::internal::Heap::Collect() [clone .cold]', 'checkout', undefined, '_Zx\nrm -rf'],
  );
  assert.equal(out[0].binary, '/usr/bin/node', 'the rest of the frame is kept');
  assert.equal(out[1], plain, 'unchanged frames are the same objects');
  // Seen names cost nothing more: no new run, and the renamed frame object is reused.
  d.prepare([[start, cold]]);
  assert.equal(d.runs, 1);
  assert.equal(d.frames([start])[0], out[0]);
});

test('without c++filt names stay mangled (a name is never dropped)', () => {
  const d = new Demangler('/nonexistent/c++filt');
  const f = { name: '_ZN4node5StartEiPPc' };
  d.prepare([[f]]);
  assert.equal(d.frames([f])[0], f);
  assert.equal(d.runs, 0);
});
