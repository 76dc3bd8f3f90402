import assert from 'node:assert/strict';
import { hasCxxFilt } from '../../../test/burners/build.js';
import { test } from 'node:test';
import type { FrameSpec } from '../../otlp/builder.js';
import { Demangler } from './demangle.js';

test('mangled C++ names become readable in one batch to one running c++filt; other frames are left as they are', async (t) => {
  if (!hasCxxFilt()) return t.skip('c++filt (binutils) is not installed');
  const d = new Demangler();
  const start = { name: '_ZN4node5StartEiPPc', binary: '/usr/bin/node', kind: 'native' };
  const cold = { name: '_ZN2v88internal4Heap7CollectEv.cold', kind: 'native' };
  const plain = { name: 'main', kind: 'native' };
  const js = { name: 'checkout', kind: 'v8js' };
  const unnamed = { binary: 'libfoo.so', address: 16n };
  const hostile = { name: '_Zx\nrm -rf', kind: 'native' };
  await d.prepare([
    [start, plain],
    [cold, js, unnamed, hostile],
  ]);
  assert.equal(d.runs, 1);
  const out = d.frames<FrameSpec>([start, plain, cold, js, unnamed, hostile]);
  assert.deepEqual(
    out.map((f) => f.name),
    ['node::Start(int, char**)', 'main', 'v8::internal::Heap::Collect() [clone .cold]', 'checkout', undefined, '_Zx\nrm -rf'],
  );
  assert.equal(out[0].binary, '/usr/bin/node', 'the rest of the frame is kept');
  assert.equal(out[1], plain, 'unchanged frames are the same objects');
  // Seen names cost nothing more: no new run, and the renamed frame object is reused.
  await d.prepare([[start, cold]]);
  assert.equal(d.runs, 1);
  assert.equal(d.frames([start])[0], out[0]);
  // New names later go to the same c++filt: no process start per batch.
  const later = { name: '_ZN3foo3barEv', kind: 'native' };
  const other = { name: '_RNvCs1234_7mycrate4main', kind: 'native' };
  await Promise.all([d.prepare([[later]]), d.prepare([[other]])]);
  assert.equal(d.runs, 3);
  assert.equal(d.starts, 1);
  assert.equal(d.frames([later])[0].name, 'foo::bar()');
  assert.notEqual(d.frames([other])[0].name, other.name, 'the Rust v0 name is demangled too');
  d.close();
});

test('a c++filt that dies is started again; after close names stay as they are', async (t) => {
  if (!hasCxxFilt()) return t.skip('c++filt (binutils) is not installed');
  const d = new Demangler();
  await d.prepare([[{ name: '_ZN1a1bEv' }]]);
  assert.equal(d.starts, 1);
  const child = (d as unknown as { child: { pid: number; once(e: string, f: () => void): void } }).child;
  // The demangler unrefs an idle c++filt: a timer keeps this test's loop alive until it is gone.
  const keepAlive = setInterval(() => {}, 1000);
  const exited = new Promise<void>((r) => child.once('exit', r));
  process.kill(child.pid, 'SIGKILL');
  await exited;
  clearInterval(keepAlive);
  const f = { name: '_ZN1c1dEv' };
  await d.prepare([[f]]);
  assert.equal(d.starts, 2);
  assert.equal(d.frames([f])[0].name, 'c::d()');
  d.close();
  const g = { name: '_ZN1e1fEv' };
  await d.prepare([[g]]);
  assert.equal(d.frames([g])[0], g);
});

test('without c++filt names stay mangled (a name is never dropped)', async () => {
  const d = new Demangler('/nonexistent/c++filt');
  const f = { name: '_ZN4node5StartEiPPc' };
  await d.prepare([[f]]);
  assert.equal(d.frames([f])[0], f);
  await d.prepare([[f]]);
  await d.prepare([[f]]);
  await d.prepare([[f]]);
  assert.ok(d.starts <= 3, `tried ${d.starts} times`);
  assert.equal(d.frames([f])[0], f);
});

test('a mangled PLT stub name keeps its @plt', async (t) => {
  if (!hasCxxFilt()) return t.skip('c++filt (binutils) is not installed');
  const d = new Demangler();
  const f = { name: '_Znwm@plt', kind: 'native' };
  await d.prepare([[f]]);
  assert.equal(d.frames([f])[0].name, 'operator new(unsigned long)@plt');
  d.close();
});
