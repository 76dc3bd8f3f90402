import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallTree } from './calltree.js';
import { flameGraph, type FlameGraph } from './flame.js';
import { sandwich, flameFolded, frameByName } from './sandwich.js';

/** A flame graph straight from folded stacks (`a;b;c count` lines). */
function flameFrom(text: string): FlameGraph {
  const tree = new CallTree();
  for (const line of text.trim().split('\n')) {
    const sp = line.trim().lastIndexOf(' ');
    const names = line.trim().slice(0, sp).split(';');
    const node = tree.path(names.map((name) => tree.frames.intern({ name, file: '', line: 0, binary: '', kind: '' })));
    tree.add(node, Number(line.trim().slice(sp + 1)), 0);
  }
  return flameGraph(tree);
}

const STACKS = `
main;serve;handle;parse 30
main;serve;handle;render;parse 5
main;serve;handle;render 20
main;batch;parse 10
main;idle 35
`;

test('flameFolded round-trips the folded stacks a flame graph was built from', () => {
  const g = flameFrom(STACKS);
  const expected =
    STACKS.trim()
      .split('\n')
      .map((l) => l.trim())
      .sort()
      .join('\n') + '\n';
  assert.equal(flameFolded(g), expected);
});

test('sandwich: callers of parse are every path above it, callees merge its subtrees', () => {
  const g = flameFrom(STACKS);
  const s = sandwich(g, frameByName(g, 'parse'));
  assert.equal(s.total, 45);
  assert.equal(s.self, 45);
  assert.equal(flameFolded(s.callers), 'parse;batch;main 10\nparse;handle;serve;main 30\nparse;render;handle;serve;main 5\n');
  assert.equal(flameFolded(s.callees), 'parse 45\n');
});

test('sandwich: callees of a mid-stack function, and its root total equals its Total', () => {
  const g = flameFrom(STACKS);
  const s = sandwich(g, frameByName(g, 'handle'));
  assert.equal(s.total, 55);
  assert.equal(s.self, 0);
  assert.equal(flameFolded(s.callees), 'handle;parse 30\nhandle;render 20\nhandle;render;parse 5\n');
  assert.equal(flameFolded(s.callers), 'handle;serve;main 55\n');
  assert.equal(s.callers.total[0], 55, 'the root of each half is the function');
  assert.equal(s.callees.frame[0], frameByName(g, 'handle'));
  assert.equal(s.callees.depth[0], 0);
});

test('sandwich: recursion is counted once per sample, inner calls stay in the callees', () => {
  const g = flameFrom(`
main;walk;walk;walk 5
main;walk;visit 3
main;walk;walk;visit 4
main;visit 2
`);
  const s = sandwich(g, frameByName(g, 'walk'));
  assert.equal(s.total, 12, 'as the symbols table: 5 + 3 + 4');
  assert.equal(s.self, 5);
  assert.equal(flameFolded(s.callers), 'walk;main 12\n');
  assert.equal(flameFolded(s.callees), 'walk;visit 3\nwalk;walk;visit 4\nwalk;walk;walk 5\n');
  const v = sandwich(g, frameByName(g, 'visit'));
  assert.equal(flameFolded(v.callers), 'visit;main 2\nvisit;walk;main 3\nvisit;walk;walk;main 4\n');
});

test('sandwich of a function that is not in the graph is empty', () => {
  const g = flameFrom(STACKS);
  const s = sandwich(g, 999);
  assert.equal(s.total, 0);
  assert.equal(s.callers.frame.length, 0);
  assert.equal(flameFolded(s.callees), '');
});
