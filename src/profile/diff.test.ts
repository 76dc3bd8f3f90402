import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestFromFolded, K8S_INVENTORY } from '../../test/helpers/fixtures.js';
import { WINDOW_A, WINDOW_B } from '../../test/helpers/time-windows.js';
import { aggregateRequest, type WorkloadProfile } from './aggregate.js';
import { diffFlameJson, diffFlameToWire, diffFolded, diffProfiles, formatDiffTable } from './diff.js';
import { foldedStacks } from './folded.js';
import { flameFolded } from './sandwich.js';
import { symbolsTable } from './symbols.js';

function profileOf(folded: string): WorkloadProfile {
  return [...aggregateRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded }])).values()][0];
}

test('symbols carry both sides; a function only in one side; recursion counted once', () => {
  const d = diffProfiles(profileOf(WINDOW_A), profileOf(WINDOW_B));
  assert.equal(d.baseSamples, 12);
  assert.equal(d.samples, 10);
  // Sorted by |change in self share|: leaf +30 pp, gc −16.7, idle −13.3; then by total share.
  assert.deepEqual(
    d.symbols.map((r) => [r.name, r.baseSelf, r.baseTotal, r.self, r.total]),
    [
      ['leaf', 6, 6, 8, 8],
      ['gc', 2, 2, 0, 0],
      ['idle', 4, 4, 2, 2],
      ['parse', 0, 0, 0, 5],
      ['walk', 0, 6, 0, 3],
      ['main', 0, 12, 0, 10],
    ],
  );
});

test('the diff flame graph carries both values per node in pre-order, children by name', () => {
  const d = diffProfiles(profileOf(WINDOW_A), profileOf(WINDOW_B));
  const f = diffFlameToWire(d.flame);
  assert.deepEqual(JSON.parse(diffFlameJson(d.flame)), f);
  const rows = f.frame.map((fr, i): (string | number)[] => [
    fr < 0 ? 'all' : f.frames.name[fr],
    f.depth[i],
    f.baseTotal[i],
    f.baseSelf[i],
    f.total[i],
    f.self[i],
  ]);
  assert.deepEqual(rows, [
    ['all', 0, 12, 0, 10, 0],
    ['main', 1, 12, 0, 10, 0],
    ['gc', 2, 2, 2, 0, 0],
    ['idle', 2, 4, 4, 2, 2],
    ['parse', 2, 0, 0, 5, 0],
    ['leaf', 3, 0, 0, 5, 5],
    ['walk', 2, 6, 0, 3, 0],
    ['leaf', 3, 2, 2, 3, 3],
    ['walk', 3, 4, 0, 0, 0],
    ['leaf', 4, 4, 4, 0, 0],
  ]);
  // The target half alone is the target's own flame graph.
  assert.equal(flameFolded(f), 'main;idle 2\nmain;parse;leaf 5\nmain;walk;leaf 3\n');
});

test('folded output is `stack base target` per line; the table shows counts and share changes', () => {
  const d = diffProfiles(profileOf(WINDOW_A), profileOf(WINDOW_B));
  assert.equal(diffFolded(d), 'main;gc 2 0\nmain;idle 4 2\nmain;parse;leaf 0 5\nmain;walk;leaf 2 3\nmain;walk;walk;leaf 4 0\n');
  const table = formatDiffTable(d, { base: 'a', target: 'b' }).split('\n');
  assert.match(table[0], /BASE SELF +SELF +ΔSELF pp +BASE TOTAL +TOTAL +ΔTOTAL pp +SYMBOL/);
  assert.match(table[1], /^ +6 +8 +\+30\.00 +6 +8 +\+30\.00 +leaf$/);
  assert.match(table[2], /^ +2 +0 +-16\.67 +2 +0 +-16\.67 +gc$/);
  assert.match(table[4], /^ +0 +0 +0\.00 +0 +5 +\+50\.00 +parse$/);
  assert.match(table[6], /^ +0 +0 +0\.00 +12 +10 +0\.00 +main$/);
  assert.equal(table[7], 'base: 12 samples in a; target: 10 samples in b');
});

test('an empty side gives zero shares, not NaN', () => {
  const empty = profileOf('');
  const d = diffProfiles(empty, profileOf('main;a 3'));
  assert.deepEqual(
    d.symbols.map((r) => [r.name, r.baseSelf, r.baseTotal, r.self, r.total]),
    [
      ['a', 0, 0, 3, 3],
      ['main', 0, 0, 0, 3],
    ],
  );
  assert.doesNotMatch(formatDiffTable(d, { base: 'x', target: 'y' }), /NaN/);
});

test("each side of the diff is that profile's own symbols table and folded stacks", () => {
  const base = profileOf(WINDOW_A);
  const target = profileOf(WINDOW_B);
  const d = diffProfiles(base, target);
  const side = (which: 'base' | 'target'): string[] =>
    d.symbols
      .map((r) => (which === 'base' ? [r.name, r.baseSelf, r.baseTotal] : [r.name, r.self, r.total]))
      .filter(([, self, total]) => self !== 0 || total !== 0)
      .map((r) => r.join(' '))
      .sort();
  const own = (p: WorkloadProfile): string[] =>
    symbolsTable(p.tree)
      .map((r) => `${r.name} ${r.self} ${r.total}`)
      .sort();
  assert.deepEqual(side('base'), own(base));
  assert.deepEqual(side('target'), own(target));
  const column = (i: 1 | 2): string =>
    diffFolded(d)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .filter((c) => Number(c[i]) > 0)
      .map((c) => `${c[0]} ${c[i]}\n`)
      .join('');
  assert.equal(column(1), foldedStacks(base.tree));
  assert.equal(column(2), foldedStacks(target.tree));
});
