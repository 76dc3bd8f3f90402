import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { buildCBurner, hasGcc } from '../../../test/burners/build.js';
import { readElf, type LoadSegment } from './elf.js';
import { parseMaps } from './proc-maps.js';
import { Symbolizer } from './symbolizer.js';

/** Function symbols (start, size) of a binary, from binutils' nm. */
function nmFunctions(binary: string): Map<string, { start: number; size: number }> {
  const out = new Map<string, { start: number; size: number }>();
  for (const line of execFileSync('nm', ['-S', '--defined-only', binary], { encoding: 'utf8' }).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4 && /^[Tt]$/.test(f[2])) out.set(f[3], { start: parseInt(f[0], 16), size: parseInt(f[1], 16) });
  }
  return out;
}

function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A fake /proc/PID for a process that maps `binary`'s executable PT_LOAD segment at `base`;
 * `at(vaddr)` is the runtime address (as bpftrace prints it) of an ELF virtual address in it.
 */
function fakeProcess(root: string, pid: number, binary: string, base: number): { text: LoadSegment; at: (vaddr: number) => string } {
  const elf = readElf(binary)!;
  const { ino } = statSync(binary);
  const exec = execFileSync('readelf', ['-lW', binary], { encoding: 'utf8' })
    .split('\n')
    .find((l) => /^\s*LOAD\b.*\bR E\b/.test(l))!;
  const text = elf.segments.find((s) => s.offset === parseInt(exec.trim().split(/\s+/)[1], 16))!;
  const pageOffset = text.offset - (text.offset % 4096);
  const end = base + (text.offset - pageOffset) + text.filesz;
  const dir = join(root, String(pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stat'), `${pid} (burn) R 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${pid} 0 0\n`);
  writeFileSync(join(dir, 'comm'), 'burn\n');
  writeFileSync(join(dir, 'maps'), `${base.toString(16)}-${end.toString(16)} r-xp ${pageOffset.toString(16).padStart(8, '0')} 08:01 ${ino} ${binary}\n`);
  return { text, at: (vaddr) => `0x${(base + vaddr - text.vaddr + text.offset - pageOffset).toString(16)}` };
}

/** The UI's name for an unnamed frame: `binary+0x<file offset>` (src/profile/aggregate.ts). */
function uiOffset(f: { address?: bigint; segment?: LoadSegment }): number {
  return Number(f.address) - f.segment!.vaddr + f.segment!.offset;
}

test('a stripped binary is named from its separate debug file, found by build id under the debug roots (the process root first)', (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner(['-Wl,--build-id']);
  const fns = nmFunctions(bin);
  const buildId = readElf(bin)!.buildId;
  assert.ok(buildId.length > 4);
  execFileSync('objcopy', ['--only-keep-debug', bin, `${bin}.debug`]);
  execFileSync('strip', [bin]);
  assert.equal(readElf(bin)!.lookup(fns.get('pl_burn_inner')!.start), undefined, 'stripped: no symbol of its own');

  const debugRoot = tempDir(t, 'pl-debug-');
  const rel = join('.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
  mkdirSync(dirname(join(debugRoot, rel)), { recursive: true });
  copyFileSync(`${bin}.debug`, join(debugRoot, rel));
  const root = tempDir(t, 'pl-proc-');
  const p = fakeProcess(root, 6001, bin, 0x5555_0000_0000);
  const stack = [p.at(fns.get('pl_burn_inner')!.start + 5), p.at(fns.get('pl_burn_outer')!.start + 20), p.at(fns.get('main')!.start + 1)];

  const withDebug = new Symbolizer(root, { debugRoots: [debugRoot] });
  withDebug.beginFlush();
  assert.deepEqual(
    withDebug.user(6001, stack).map((f) => f.name),
    ['pl_burn_inner', 'pl_burn_outer', 'main'],
  );
  assert.equal(withDebug.stats().debugFiles, 1);

  const emptyRoot = tempDir(t, 'pl-nodebug-');
  const without = new Symbolizer(root, { debugRoots: [emptyRoot] });
  assert.deepEqual(
    without.user(6001, stack).map((f) => f.name),
    [undefined, undefined, undefined],
  );
  assert.equal(without.stats().debugFiles, 0);

  // A process in a container has its own debug files: /proc/PID/root/usr/lib/debug is tried
  // before the sampler's /usr/lib/debug (the default root, which has no such build id).
  const inContainer = join(root, '6001', 'root', 'usr', 'lib', 'debug', rel);
  mkdirSync(dirname(inContainer), { recursive: true });
  copyFileSync(`${bin}.debug`, inContainer);
  const defaults = new Symbolizer(root);
  assert.equal(defaults.user(6001, stack)[0].name, 'pl_burn_inner');

  // A debug file of another build is not taken.
  const other = buildCBurner(['-Wl,--build-id=0x0123456789abcdef']);
  execFileSync('objcopy', ['--only-keep-debug', other, join(debugRoot, rel)]);
  const mismatch = new Symbolizer(root, { debugRoots: [debugRoot] });
  assert.equal(mismatch.user(6001, stack)[0].name, undefined);
});

test("Debian's libc6-dbg names libc internals that libc's own .dynsym lacks", (t) => {
  const maps = parseMaps(readFileSync('/proc/self/maps', 'utf8'));
  const libc = maps.find((m) => /\/libc\.so\.6$/.test(m.path));
  if (!libc) return t.skip('this process maps no libc.so.6');
  const buildId = readElf(libc.path)?.buildId ?? '';
  const debugFile = `/usr/lib/debug/.build-id/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
  if (!buildId || !existsSync(debugFile)) return t.skip(`no ${debugFile}: install libc6-dbg (apt-get install -y libc6-dbg) to run this test`);
  // _int_malloc is a local function: in the debug file's .symtab only.
  const internal = nmFunctions(debugFile).get('_int_malloc');
  if (!internal) return t.skip(`${debugFile} has no _int_malloc`);
  const elf = readElf(libc.path)!;
  assert.equal(elf.lookup(internal.start + 8), undefined, 'not named by libc itself');
  const seg = elf.segments.find((s) => internal.start >= s.vaddr && internal.start < s.vaddr + s.filesz)!;
  const runtime = libc.start + (internal.start + 8 - seg.vaddr + seg.offset - libc.offset);
  const sym = new Symbolizer();
  const [f] = sym.user(process.pid, [`0x${runtime.toString(16)}`]);
  assert.equal(f.name, '_int_malloc');
  assert.equal(f.address, BigInt(internal.start + 8));
  assert.equal(sym.stats().debugFiles, 1);
  const none = new Symbolizer('/proc', { debugRoots: [] });
  assert.equal(none.user(process.pid, [`0x${runtime.toString(16)}`])[0].name, undefined);
});

test('unnamed code is one frame per function (.eh_frame_hdr function starts), shared across processes; without the table one per binary', (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner();
  const fns = nmFunctions(bin);
  const full = readElf(bin)!;
  for (const name of ['pl_burn_inner', 'pl_burn_outer', 'main']) {
    const f = fns.get(name)!;
    assert.equal(full.functionStart(f.start), f.start, `${name} starts an FDE`);
    assert.equal(full.functionStart(f.start + f.size - 1), f.start, `${name}'s last byte is in its FDE`);
  }
  execFileSync('strip', [bin]);
  const root = tempDir(t, 'pl-proc-');
  const a = fakeProcess(root, 6101, bin, 0x5555_0000_0000);
  const b = fakeProcess(root, 6102, bin, 0x5600_2000_0000);
  const sym = new Symbolizer(root);
  sym.beginFlush();
  const inner = fns.get('pl_burn_inner')!;
  const outer = fns.get('pl_burn_outer')!;
  const innerFrames = sym.user(
    6101,
    [...Array(inner.size).keys()].map((i) => a.at(inner.start + i)),
  );
  assert.equal(new Set(innerFrames).size, 1, `${inner.size} addresses in one function: one frame object`);
  const [f] = innerFrames;
  assert.equal(f.name, undefined, 'unnamed: the UI shows binary+0x<offset>');
  assert.equal(f.binary, bin);
  assert.equal(f.address, BigInt(inner.start), "the function's start");
  assert.deepEqual(f.segment, a.text);
  assert.equal(uiOffset(f), inner.start - a.text.vaddr + a.text.offset, "named by the function start's file offset");
  const [o] = sym.user(6101, [a.at(outer.start + 30)]);
  assert.equal(o.address, BigInt(outer.start));
  assert.notEqual(o, f);
  assert.equal(sym.user(6102, [b.at(inner.start + 7)])[0], f, 'another process of the binary shares the frame object');

  // Linked without .eh_frame_hdr: nothing tells functions apart; all of the binary's unnamed
  // code in its text segment is one frame, at the segment's start.
  const bare = buildCBurner(['-Wl,--no-eh-frame-hdr']);
  const bareFns = nmFunctions(bare);
  execFileSync('strip', [bare]);
  assert.equal(readElf(bare)!.hasFunctionStarts, false);
  const c = fakeProcess(root, 6103, bare, 0x5555_4000_0000);
  const frames = sym.user(
    6103,
    ['pl_burn_inner', 'pl_burn_outer', 'main'].map((n) => c.at(bareFns.get(n)!.start + 3)),
  );
  assert.equal(new Set(frames).size, 1);
  assert.equal(frames[0].address, BigInt(c.text.vaddr));
  assert.equal(uiOffset(frames[0]), c.text.offset);
});

/** objdump's `name@plt` labels of a binary's PLT sections: stub address -> label. */
function objdumpPlt(binary: string): Map<number, string> {
  const out = new Map<number, string>();
  const text = execFileSync('objdump', ['-d', '-j', '.plt', '-j', '.plt.sec', '-j', '.plt.got', binary], { encoding: 'utf8' });
  for (const m of text.matchAll(/^([0-9a-f]+) <([^>]+@plt)>:$/gm)) out.set(parseInt(m[1], 16), m[2]);
  return out;
}

test('PLT stubs are named <function>@plt as objdump labels them (classic, IBT .plt.sec, .plt.got), PLT0 [plt]', (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  for (const flags of [[], ['-fcf-protection=full', '-Wl,-z,ibtplt'], ['-Wl,-z,now']]) {
    const bin = buildCBurner(flags);
    const elf = readElf(bin)!;
    const labels = objdumpPlt(bin);
    assert.ok([...labels.values()].includes('clock_gettime@plt'), `objdump labels ${flags.join(' ')}`);
    for (const [addr, label] of labels) {
      // Stubs are 16 bytes, 8 in a non-IBT .plt.got.
      for (const k of [0, 3, 7]) {
        assert.deepEqual(elf.plt(addr + k), { name: label, start: addr }, `${flags.join(' ')} ${addr.toString(16)}+${k}`);
      }
    }
    const sectionStart = (name: string): number | undefined => {
      const m = new RegExp(`\\${name}\\s+PROGBITS\\s+([0-9a-f]+)`).exec(execFileSync('readelf', ['-SW', bin], { encoding: 'utf8' }));
      return m ? parseInt(m[1], 16) : undefined;
    };
    const plt = sectionStart('.plt')!;
    assert.equal(elf.plt(plt + 4)?.name, '[plt]');
    const pltSec = sectionStart('.plt.sec');
    if (flags.includes('-Wl,-z,ibtplt')) {
      // IBT: objdump labels the .plt.sec stubs only; the lazy .plt stub i+1 (endbr64; push i)
      // serves the same relocation as .plt.sec stub i.
      assert.ok(pltSec !== undefined, 'an IBT PLT');
      for (let i = 0; labels.has(pltSec + 16 * i); i++) assert.equal(elf.plt(plt + 16 * (i + 1) + 9)?.name, labels.get(pltSec + 16 * i));
    }
    assert.equal(elf.plt(nmFunctions(bin).get('main')!.start), undefined);
  }
  // Through the symbolizer: a stub of a stripped binary, at the stub's start.
  const bin = buildCBurner();
  const [stub] = [...objdumpPlt(bin)].find(([, l]) => l === 'clock_gettime@plt')!;
  execFileSync('strip', [bin]);
  const root = tempDir(t, 'pl-proc-');
  const p = fakeProcess(root, 6201, bin, 0x5555_0000_0000);
  const [f] = new Symbolizer(root).user(6201, [p.at(stub + 6)]);
  assert.equal(f.name, 'clock_gettime@plt');
  assert.equal(f.address, BigInt(stub));
  assert.equal(f.kind, 'native');
});

test("libc's PLT stubs of its own indirect functions (R_X86_64_IRELATIVE, out of the relocations' order) are named by the resolver's symbol", (t) => {
  const libc = parseMaps(readFileSync('/proc/self/maps', 'utf8')).find((m) => /\/libc\.so\.6$/.test(m.path));
  if (!libc) return t.skip('this process maps no libc.so.6');
  const elf = readElf(libc.path)!;
  const labels = objdumpPlt(libc.path);
  let irelative = 0;
  for (const [addr, label] of labels) {
    const abs = /^\*ABS\*\+0x([0-9a-f]+)@plt$/.exec(label);
    let expected = label;
    if (abs) {
      // objdump prints the resolver's address; its symbol is the indirect function (`strnlen`).
      const resolver = elf.lookup(parseInt(abs[1], 16));
      if (!resolver || resolver.start !== parseInt(abs[1], 16)) continue;
      expected = `${resolver.name}@plt`;
      irelative++;
    }
    assert.equal(elf.plt(addr + 2)?.name, expected, `${addr.toString(16)} ${label}`);
  }
  if (irelative === 0) t.diagnostic('this libc has no IRELATIVE PLT stubs');
});

test('[vdso] frames are named by the vdso image, read once from the sampler itself (or, for a vdso of another size, from the process)', (t) => {
  const own = parseMaps(readFileSync('/proc/self/maps', 'utf8')).find((m) => m.path === '[vdso]');
  if (!own) return t.skip('no [vdso] mapped');
  const dir = tempDir(t, 'pl-vdso-');
  // The vdso as a file, for nm: an independent reading of its symbols.
  const image = Buffer.alloc(own.end - own.start);
  const fd = openSync('/proc/self/mem', 'r');
  assert.equal(readSync(fd, image, 0, image.length, own.start), image.length);
  closeSync(fd);
  writeFileSync(join(dir, 'vdso.so'), image);
  const nm = execFileSync('nm', ['-D', '--defined-only', join(dir, 'vdso.so')], { encoding: 'utf8' });
  const clock = parseInt(/^([0-9a-f]+) T __vdso_clock_gettime/m.exec(nm)![1], 16);

  const root = tempDir(t, 'pl-proc-');
  const procDir = (pid: number, maps: string): void => {
    mkdirSync(join(root, String(pid)), { recursive: true });
    writeFileSync(join(root, String(pid), 'stat'), `${pid} (burn) R 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${pid} 0 0\n`);
    writeFileSync(join(root, String(pid), 'comm'), 'burn\n');
    writeFileSync(join(root, String(pid), 'maps'), maps);
  };
  const base1 = 0x7ffd_0000_0000;
  const base2 = 0x7ffe_1234_0000;
  procDir(6301, `${base1.toString(16)}-${(base1 + image.length).toString(16)} r-xp 00000000 00:00 0 [vdso]\n`);
  procDir(6302, `${base2.toString(16)}-${(base2 + image.length).toString(16)} r-xp 00000000 00:00 0 [vdso]\n`);
  const sym = new Symbolizer(root);
  const [a] = sym.user(6301, [`0x${(base1 + clock + 10).toString(16)}`]);
  // Global __vdso_clock_gettime and weak clock_gettime are one function: the global name is kept.
  assert.equal(a.name, '__vdso_clock_gettime');
  assert.equal(a.binary, '[vdso]');
  assert.equal(a.kind, 'native');
  assert.equal(a.address, BigInt(clock + 10), "the vdso image's own address");
  assert.equal(sym.user(6302, [`0x${(base2 + clock + 10).toString(16)}`])[0], a, 'one frame object for every process');

  // A vdso of another size than the sampler's (another ABI) is read from the process's memory.
  const base3 = 0x10000;
  const bigger = image.length + 4096;
  procDir(6303, `${base3.toString(16)}-${(base3 + bigger).toString(16)} r-xp 00000000 00:00 0 [vdso]\n`);
  const mem = Buffer.alloc(base3 + bigger);
  image.copy(mem, base3);
  writeFileSync(join(root, '6303', 'mem'), mem);
  assert.equal(sym.user(6303, [`0x${(base3 + clock + 3).toString(16)}`])[0].name, '__vdso_clock_gettime');
  // Unreadable: still a [vdso] frame.
  procDir(6304, `${base3.toString(16)}-${(base3 + bigger + 4096).toString(16)} r-xp 00000000 00:00 0 [vdso]\n`);
  assert.equal(sym.user(6304, [`0x${(base3 + 16).toString(16)}`])[0].name, '[vdso]');
});
