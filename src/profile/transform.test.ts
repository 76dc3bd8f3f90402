import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CallTree } from './calltree.js';
import { flameGraph, type FlameGraph } from './flame.js';
import { flameFolded, frameByName } from './sandwich.js';
import {
  collapseRecursion,
  focusFrame,
  frameByKey,
  frameKey,
  hiddenFrames,
  hideFrames,
  keyPathAfterMerge,
  leftHeavy,
  mergeFrames,
  transformFlame,
  NO_TRANSFORM,
} from './transform.js';

/** A flame graph straight from folded stacks (`a;b;c count` lines). */
function flameFrom(text: string): FlameGraph {
  const tree = new CallTree();
  for (const line of text.trim().split('\n')) {
    const sp = line.trim().lastIndexOf(' ');
    const names = line.trim().slice(0, sp).split(';');
    const node = tree.path(names.map((name) => tree.frames.intern({ name, file: `${name}.c`, line: 1, binary: 'app', kind: 'native' })));
    tree.add(node, Number(line.trim().slice(sp + 1)), 0);
  }
  return flameGraph(tree);
}

// 110 samples: a Node.js-like service under libuv, direct recursion in walk, and two other threads.
const G = flameFrom(`
main;uv_run;uv__io_poll;handle;parse 30
main;uv_run;uv__io_poll;handle 10
main;uv_run;uv__io_poll;handle;render 15
main;uv_run;uv__run_timers;tick;walk;leaf 5
main;uv_run;uv__run_timers 3
main;walk;walk;walk;leaf 6
main;walk;leaf 4
main;walk 2
main;idle 25
gc_thread;gc 7
a_kworker 3
`);

/** Total and self of the node at a path of names (root excluded). */
function node(g: FlameGraph, path: string): { total: number; self: number } {
  const want = path.split(';');
  const at: string[] = [];
  const skip = g.frame[0] === -1 ? 1 : 0;
  for (let i = 0; i < g.frame.length; i++) {
    const d = g.depth[i] - skip;
    if (d < 0) continue;
    at.length = d;
    at.push(g.frames.name[g.frame[i]]);
    if (at.join(';') === want.join(';')) return { total: g.total[i], self: g.self[i] };
  }
  assert.fail(`no node ${path}`);
}

/** Every node's total is its self plus its children's totals; the self samples add up to the root's total. */
function assertConsistent(g: FlameGraph): void {
  const n = g.frame.length;
  const sum = new Array<number>(n).fill(0);
  const open: number[] = [];
  for (let i = 0; i < n; i++) {
    open.length = g.depth[i] - g.depth[0];
    if (open.length > 0) sum[open[open.length - 1]] += g.total[i];
    open.push(i);
  }
  for (let i = 0; i < n; i++) assert.equal(g.total[i], g.self[i] + sum[i], `node ${i} (${g.frames.name[g.frame[i]] ?? 'all'})`);
  assert.equal(
    g.self.reduce((a, b) => a + b, 0),
    g.total[0] ?? 0,
  );
}

const hideByName = (g: FlameGraph, ...names: string[]): Uint8Array =>
  hiddenFrames(
    g.frames,
    names.map((n) => ({ frame: frameKey(g.frames, frameByName(g, n)) })),
  );

test('hiding a frame merges it into its parent: its self goes to the parent, its children become the parent', () => {
  assert.deepEqual(node(G, 'main;uv_run;uv__io_poll'), { total: 55, self: 0 });
  const h = hideFrames(G, hideByName(G, 'handle'));
  assert.equal(
    flameFolded(h),
    [
      'a_kworker 3',
      'gc_thread;gc 7',
      'main;idle 25',
      'main;uv_run;uv__io_poll 10',
      'main;uv_run;uv__io_poll;parse 30',
      'main;uv_run;uv__io_poll;render 15',
      'main;uv_run;uv__run_timers 3',
      'main;uv_run;uv__run_timers;tick;walk;leaf 5',
      'main;walk 2',
      'main;walk;leaf 4',
      'main;walk;walk;walk;leaf 6',
      '',
    ].join('\n'),
  );
  // The parent's self grew by exactly handle's self (10); its total and the root's are unchanged.
  assert.deepEqual(node(h, 'main;uv_run;uv__io_poll'), { total: 55, self: 10 });
  assert.equal(h.total[0], 110);
  assertConsistent(h);
});

test('a hidden frame everywhere it occurs: lifted children merge with the parent own children of the same frame', () => {
  const h = hideFrames(G, hideByName(G, 'walk'));
  // walk;walk;walk;leaf 6 and walk;leaf 4 are one main;leaf 10; walk's own 2 samples are main's now.
  assert.deepEqual(node(h, 'main;leaf'), { total: 10, self: 10 });
  assert.deepEqual(node(h, 'main'), { total: 100, self: 2 });
  assert.deepEqual(node(h, 'main;uv_run;uv__run_timers;tick;leaf'), { total: 5, self: 5 });
  assert.equal(h.total[0], 110);
  assertConsistent(h);
});

test('hide by pattern: text or /regex/, read as the search reads it; an unreadable pattern hides nothing', () => {
  const h = hideFrames(G, hiddenFrames(G.frames, [{ pattern: '/^uv_/' }]));
  assert.equal(
    flameFolded(h),
    [
      'a_kworker 3',
      'gc_thread;gc 7',
      'main 3',
      'main;handle 10',
      'main;handle;parse 30',
      'main;handle;render 15',
      'main;idle 25',
      'main;tick;walk;leaf 5',
      'main;walk 2',
      'main;walk;leaf 4',
      'main;walk;walk;walk;leaf 6',
      '',
    ].join('\n'),
  );
  assert.deepEqual(node(h, 'main'), { total: 100, self: 3 });
  assert.equal(h.total[0], 110);
  assertConsistent(h);
  // Plain text is a case-insensitive substring: 'UV__' hides uv__io_poll and uv__run_timers, not uv_run.
  const t = hideFrames(G, hiddenFrames(G.frames, [{ pattern: 'UV__' }]));
  assert.deepEqual(node(t, 'main;uv_run'), { total: 63, self: 3 });
  assert.deepEqual(node(t, 'main;uv_run;handle'), { total: 55, self: 10 });
  assert.deepEqual(
    [...hiddenFrames(G.frames, [{ pattern: '/uv(/' }, { pattern: '  ' }])].filter((x) => x === 1),
    [],
    'an invalid regex and an empty pattern hide nothing',
  );
  // Rules add up: a frame and a pattern.
  const both = hiddenFrames(G.frames, [{ pattern: '/^uv_/' }, { frame: frameKey(G.frames, frameByName(G, 'handle')) }]);
  const hb = hideFrames(G, both);
  assert.deepEqual(node(hb, 'main'), { total: 100, self: 13 });
  assert.deepEqual(node(hb, 'main;parse'), { total: 30, self: 30 });
  assertConsistent(hb);
});

test('hiding a top-level frame gives its samples to the root; nothing hidden returns the graph itself', () => {
  const h = hideFrames(G, hideByName(G, 'a_kworker', 'gc_thread'));
  assert.equal(h.self[0], 3);
  assert.deepEqual(node(h, 'gc'), { total: 7, self: 7 });
  assert.equal(h.total[0], 110);
  assertConsistent(h);
  assert.equal(hideFrames(G, new Uint8Array(G.frames.name.length)), G);
  assert.equal(transformFlame(G, NO_TRANSFORM), G);
});

test('collapse recursion: a frame calling itself directly is shown once, indirect recursion stays', () => {
  const c = collapseRecursion(G);
  assert.deepEqual(node(c, 'main;walk'), { total: 12, self: 2 });
  assert.deepEqual(node(c, 'main;walk;leaf'), { total: 10, self: 10 });
  assert.equal(c.total[0], 110);
  assertConsistent(c);
  const ind = collapseRecursion(flameFrom('a;b;a;b 4\na;a;b;b;b 3\na 1'));
  assert.equal(flameFolded(ind), 'a 1\na;b 3\na;b;a;b 4\n');
  // Hiding b leaves a;a;a, which collapses to a in the same pass.
  const ab = flameFrom('a;b;a;b 4\na;a;b;b;b 3\na 1');
  assert.equal(flameFolded(mergeFrames(ab, hideByName(ab, 'b'), true)), 'a 8\n');
});

test('focus: every sample through the function, merged into one tree rooted at it', () => {
  const f = focusFrame(G, frameByName(G, 'walk'));
  // main;walk (12) and main;uv_run;uv__run_timers;tick;walk (5): the outermost walk of each stack.
  assert.equal(f.frames.name[f.frame[0]], 'walk');
  assert.equal(f.depth[0], 0);
  assert.equal(f.total[0], 17);
  assert.equal(flameFolded(f), 'walk 2\nwalk;leaf 9\nwalk;walk;walk;leaf 6\n');
  assertConsistent(f);
  // With recursion collapsed: walk;leaf 15.
  const fr = transformFlame(G, { ...NO_TRANSFORM, focus: frameKey(G.frames, frameByName(G, 'walk')), collapseRecursion: true });
  assert.equal(flameFolded(fr), 'walk 2\nwalk;leaf 15\n');
  // Focus, then hide: hiding the focused function itself keeps the root.
  const fh = transformFlame(G, { ...NO_TRANSFORM, focus: frameKey(G.frames, frameByName(G, 'uv_run')), hide: [{ pattern: 'uv' }] });
  assert.equal(fh.frames.name[fh.frame[0]], 'uv_run');
  assert.equal(flameFolded(fh), 'uv_run 3\nuv_run;handle 10\nuv_run;handle;parse 30\nuv_run;handle;render 15\nuv_run;tick;walk;leaf 5\n');
  assert.equal(fh.total[0], 63);
  // A function not in the graph (or a key that names none) gives an empty graph.
  assert.equal(focusFrame(G, -1).frame.length, 0);
  assert.equal(transformFlame(G, { ...NO_TRANSFORM, focus: 'nope\0\0\0' }).frame.length, 0);
});

test('left-heavy: every node children largest first, the same nodes and numbers', () => {
  const h = leftHeavy(G);
  const row = (g: FlameGraph, depth: number): string[] => g.depth.flatMap((d, i) => (d === depth ? [`${g.frames.name[g.frame[i]]} ${g.total[i]}`] : []));
  assert.deepEqual(row(G, 1), ['a_kworker 3', 'gc_thread 7', 'main 100'], 'by name');
  assert.deepEqual(row(h, 1), ['main 100', 'gc_thread 7', 'a_kworker 3']);
  assert.deepEqual(row(h, 2), ['uv_run 63', 'idle 25', 'walk 12', 'gc 7']);
  assert.deepEqual(row(h, 3), ['uv__io_poll 55', 'uv__run_timers 8', 'walk 6', 'leaf 4']);
  assert.equal(flameFolded(h), flameFolded(G), 'the same stacks');
  // Equal totals keep name order.
  assert.deepEqual(row(leftHeavy(flameFrom('r;b 2\nr;a 2\nr;c 5')), 2), ['c 5', 'a 2', 'b 2']);
});

test('frame keys name frames across graphs', () => {
  const k = frameKey(G.frames, frameByName(G, 'parse'));
  assert.equal(k, 'parse\0parse.c\0app\0native');
  const other = flameFrom('x;parse 1');
  assert.equal(other.frames.name[frameByKey(other.frames, k)], 'parse');
  assert.equal(frameByKey(other.frames, 'parse'), -1, 'a key without its parts names nothing');
  assert.equal(frameKey(G.frames, -1), '');
});

test('a zoom path follows its frame when frames above it are hidden or repeat', () => {
  const k = (n: string): string => frameKey(G.frames, frameByName(G, n));
  const path = [k('main'), k('uv_run'), k('uv__io_poll'), k('handle')];
  assert.deepEqual(keyPathAfterMerge(G.frames, path, hiddenFrames(G.frames, [{ pattern: '/^uv_/' }]), false), [k('main'), k('handle')]);
  const rec = [k('main'), k('walk'), k('walk'), k('walk'), k('leaf')];
  assert.deepEqual(keyPathAfterMerge(G.frames, rec, null, true), [k('main'), k('walk'), k('leaf')]);
  // Focused on walk (the root): a walk right below it merges into it.
  assert.deepEqual(keyPathAfterMerge(G.frames, [k('walk'), k('walk'), k('leaf')], null, true, k('walk')), [k('leaf')]);
  assert.deepEqual(keyPathAfterMerge(G.frames, path, null, false), path);
});

test('property: hide and collapse keep every sample and a consistent tree', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const stack = fc.array(fc.constantFrom(...names), { minLength: 1, maxLength: 7 });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(stack, fc.integer({ min: 1, max: 20 })), { minLength: 1, maxLength: 25 }),
      fc.subarray(names),
      fc.boolean(),
      (lines, hide, rec) => {
        const g = flameFrom(lines.map(([s, n]) => `${s.join(';')} ${n}`).join('\n'));
        const out = mergeFrames(
          g,
          hiddenFrames(
            g.frames,
            hide.map((pattern) => ({ pattern: `/^${pattern}$/` })),
          ),
          rec,
        );
        assertConsistent(out);
        assert.equal(out.total[0], g.total[0]);
        for (let i = 1; i < out.frame.length; i++) assert.ok(!hide.includes(out.frames.name[out.frame[i]]), 'no hidden frame left');
        const lh = leftHeavy(out);
        assertConsistent(lh);
        assert.equal(flameFolded(lh), flameFolded(out));
      },
    ),
    { numRuns: 300 },
  );
});
