import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildCBurner, buildCLeafBurner, hasGcc } from '../../../test/burners/build.js';
import { readElf } from './elf.js';
import { Symbolizer } from './symbolizer.js';

/** A /proc with one process running JIT code in anonymous memory, named by its perf map. */
function fakeProc(pid: number): { root: string; perfMap: string } {
  const root = mkdtempSync(join(tmpdir(), 'pl-proc-'));
  const dir = join(root, String(pid));
  mkdirSync(join(dir, 'root', 'tmp'), { recursive: true });
  // Field 22 (start time) is 777.
  writeFileSync(join(dir, 'stat'), `${pid} (node) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n`);
  writeFileSync(join(dir, 'maps'), '7f0000000000-7f0000100000 r-xp 00000000 00:00 0 \n');
  writeFileSync(join(dir, 'comm'), 'node\n');
  const perfMap = join(dir, 'root', 'tmp', `perf-${pid}.map`);
  writeFileSync(perfMap, '7f0000001000 100 JS:*burnHot /srv/app.js:10:3\n');
  return { root, perfMap };
}

test('version changes exactly when what user() gives for an address may change (the sampler keeps rows by it)', (t) => {
  const { root, perfMap } = fakeProc(4242);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const sym = new Symbolizer(root);
  assert.equal(sym.version(4242), undefined, 'unknown before its first stack');
  sym.beginFlush();
  const [hot] = sym.user(4242, ['0x7f0000001010']);
  assert.match(hot.name ?? '', /burnHot/);
  const v1 = sym.version(4242);
  assert.equal(typeof v1, 'number');
  sym.beginFlush();
  sym.user(4242, ['0x7f0000001010']);
  assert.equal(sym.version(4242), v1, 'same answers: same version');
  // New code compiled: an address the perf map did not know makes it read what was appended.
  appendFileSync(perfMap, '7f0000002000 100 JS:*burnCold /srv/app.js:20:3\n');
  sym.beginFlush();
  const [cold] = sym.user(4242, ['0x7f0000002010']);
  assert.match(cold.name ?? '', /burnCold/);
  const v2 = sym.version(4242);
  assert.notEqual(v2, v1, 'the perf map grew');
  sym.forget(4242);
  assert.equal(sym.version(4242), undefined);
  sym.user(4242, ['0x7f0000001010']);
  assert.notEqual(sym.version(4242), v2, 'a forgotten process starts a new version');
});

test('processes running one binary share its frame objects, wherever each maps it', (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner();
  const elf = readElf(bin)!;
  const nm = execFileSync('nm', [bin], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith(' pl_burn_inner'))!;
  const inner = parseInt(nm.split(' ')[0], 16);
  const text = elf.segments.find((s) => inner >= s.vaddr && inner < s.vaddr + s.filesz)!;
  const fileOffset = inner - text.vaddr + text.offset;
  const root = mkdtempSync(join(tmpdir(), 'pl-proc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const { ino } = statSync(bin);
  const addresses: string[] = [];
  for (const [pid, base] of [
    [5001, 0x5555_0000_0000],
    [5002, 0x5600_1000_0000],
  ]) {
    const dir = join(root, String(pid));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'stat'), `${pid} (burn) R 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${pid} 0 0\n`);
    writeFileSync(join(dir, 'comm'), 'burn\n');
    const end = base + text.filesz + 0x1000;
    writeFileSync(join(dir, 'maps'), `${base.toString(16)}-${end.toString(16)} r-xp ${text.offset.toString(16).padStart(8, '0')} 08:01 ${ino} ${bin}\n`);
    addresses.push(`0x${(base + fileOffset - text.offset + 3).toString(16)}`);
  }
  const sym = new Symbolizer(root);
  sym.beginFlush();
  const [a] = sym.user(5001, [addresses[0]]);
  const [b] = sym.user(5002, [addresses[1]]);
  assert.equal(a.name, 'pl_burn_inner');
  assert.equal(a.address, BigInt(inner + 3), 'the ELF virtual address, the same in both');
  assert.deepEqual(a.segment, text, 'the PT_LOAD segment it lies in');
  assert.equal(b, a, 'one frame object for both processes');
});

test('return addresses in no executable mapping are left out of the stack and counted; with no maps read, kept', (t) => {
  const { root } = fakeProc(4343);
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const sym = new Symbolizer(root);
  sym.beginFlush();
  // Leaf first: JIT code, an address in no mapping, then what a broken frame-pointer chain read
  // from the stack (ASCII text as an address).
  const frames = sym.user(4343, ['0x7f0000001010', '0x1000', '0x31203a2261227b20']);
  assert.deepEqual(
    frames.map((f) => f.name),
    ['burnHot'],
  );
  assert.equal(sym.stats().invalidFrames, 2);
  // A process whose maps could not be read: nothing tells code from garbage, so nothing is dropped.
  const orphan = sym.user(9999, ['0x1000']);
  assert.equal(orphan.length, 1);
  assert.equal(orphan[0].address, 0x1000n);
  assert.equal(sym.stats().invalidFrames, 2);
});

test("skippedCaller: the caller a frame-pointer walk passed over under a frameless leaf, found from the process's code", async (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCLeafBurner();
  const child = spawn(bin, ['600'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 200));
  const pid = child.pid!;
  const vaddr = (name: string): number => {
    const line = execFileSync('nm', [bin], { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.endsWith(` ${name}`))!;
    return parseInt(line.split(' ')[0], 16);
  };
  const [hot, middle, outer] = [vaddr('pl_leaf_hot'), vaddr('pl_leaf_middle'), vaddr('pl_leaf_outer')];
  // The binary is position-independent: its first mapping (file offset 0) is at its load base.
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n');
  const first = maps.find((l) => l.endsWith(bin) && l.split(/\s+/)[2] === '00000000')!;
  const base = parseInt(first.split('-')[0], 16);
  // The return address after the direct call (e8 rel32) from `from` to `to`, in the file's code.
  const elf = readElf(bin)!;
  const code = readFileSync(bin);
  const returnAfterCall = (from: number, to: number): number => {
    const seg = elf.segments.find((s) => from >= s.vaddr && from < s.vaddr + s.filesz)!;
    for (let v = from; v < from + 256; v++) {
      const at = v - seg.vaddr + seg.offset;
      if (code[at] === 0xe8 && v + 5 + code.readInt32LE(at + 1) === to) return v + 5;
    }
    throw new Error(`no call from ${from.toString(16)} to ${to.toString(16)}`);
  };
  const intoOuter = base + returnAfterCall(outer, middle);
  const intoMiddle = base + returnAfterCall(middle, hot);
  const sym = new Symbolizer();
  sym.beginFlush();
  const leaf = base + hot + 4;
  assert.equal(sym.skippedCaller(pid, leaf, intoOuter)?.name, 'pl_leaf_middle', 'the walk went from the leaf into outer: middle was skipped');
  assert.equal(sym.skippedCaller(pid, leaf, intoMiddle), undefined, 'the walk went from the leaf into its own caller: nothing skipped');
  assert.equal(sym.skippedCaller(pid, leaf, base + outer + 1), undefined, 'no call before that address');
  assert.equal(sym.skippedCaller(pid, base + middle + 2, intoOuter), undefined, 'outer calls middle itself: nothing skipped');
  assert.equal(sym.stats().skippedCallers, 1);
});
