import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PerfMap, describeJitSymbol, parsePerfMapLines } from './perf-map.js';

test('parsePerfMapLines reads START SIZE NAME lines, names with spaces', () => {
  const es = parsePerfMapLines('7f7841fe4900 194 JS:*quarkHash /tmp/j.js:1:19\n18c4000 300 Builtin:DeoptimizationEntry_Eager\ngarbage\n');
  assert.deepEqual(
    es.map((e) => [e.start, e.end, e.name]),
    [
      [0x7f7841fe4900, 0x7f7841fe4900 + 0x194, 'JS:*quarkHash /tmp/j.js:1:19'],
      [0x18c4000, 0x18c4300, 'Builtin:DeoptimizationEntry_Eager'],
    ],
  );
});

test('PerfMap reads appended text incrementally and the later overlapping entry wins', () => {
  const m = new PerfMap();
  m.append('1000 100 JS:~old /a.js:1:1\n20');
  assert.equal(m.lookup(0x1050)?.name, 'JS:~old /a.js:1:1');
  assert.equal(m.lookup(0x2000), undefined);
  m.append('00 10 py::f:/x.py\n1000 80 JS:*new /a.js:2:1\n');
  assert.equal(m.lookup(0x2005)?.name, 'py::f:/x.py');
  assert.equal(m.lookup(0x1050)?.name, 'JS:*new /a.js:2:1');
  assert.equal(m.lookup(0x1090)?.name, 'JS:~old /a.js:1:1'); // only the old, longer entry covers it
  assert.equal(m.lookup(0xfff), undefined);
});

test('describeJitSymbol names V8, CPython and JVM frames', () => {
  assert.deepEqual(describeJitSymbol('JS:*quarkHash /tmp/pl/j.js:1:19', 'native'), { name: 'quarkHash', file: '/tmp/pl/j.js', line: 1, kind: 'v8js' });
  assert.deepEqual(describeJitSymbol('JS:~ /tmp/pl/j.js:3:5', 'native'), { name: '(anonymous)', file: '/tmp/pl/j.js', line: 3, kind: 'v8js' });
  assert.deepEqual(describeJitSymbol('Builtin:ArrayMap', 'v8js'), { name: 'Builtin:ArrayMap', kind: 'v8js' });
  assert.deepEqual(describeJitSymbol('py::hot_loop:/srv/app.py', 'cpython'), { name: 'hot_loop', file: '/srv/app.py', kind: 'cpython' });
  assert.equal(describeJitSymbol('Lcom/acme/Foo;::bar', 'native').kind, 'jvm');
  assert.equal(describeJitSymbol('Interpreter', 'jvm').kind, 'jvm');
});
