import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { buildCBurner, hasGcc } from '../../../test/burners/build.js';
import { readElf } from './elf.js';

function nmAddress(binary: string, symbol: string): number {
  const line = execFileSync('nm', [binary], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.endsWith(` ${symbol}`))!;
  return parseInt(line.split(' ')[0], 16);
}

test('readElf finds function symbols, the build id and maps file offsets to addresses', (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner(['-Wl,--build-id=0xdeadbeefcafe']);
  const elf = readElf(bin)!;
  assert.equal(elf.buildId, 'deadbeefcafe');
  const inner = nmAddress(bin, 'pl_burn_inner');
  const outer = nmAddress(bin, 'pl_burn_outer');
  const size = parseInt(
    execFileSync('nm', ['-S', bin], { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.endsWith(' pl_burn_inner'))!
      .split(' ')[1],
    16,
  );
  assert.deepEqual(elf.lookup(inner), { name: 'pl_burn_inner', start: inner, end: inner + size });
  assert.equal(elf.lookup(inner + 5)?.name, 'pl_burn_inner');
  assert.equal(elf.lookup(outer + 20)?.name, 'pl_burn_outer');
  assert.equal(elf.lookup(nmAddress(bin, 'main') + 1)?.name, 'main');
  assert.equal(elf.lookup(0x10), undefined);
  // A PIE's text is mapped at offset == vaddr in the first segments gcc emits here; the
  // conversion must at least round-trip through the executable segment.
  const text = elf.segments.find((s) => inner >= s.vaddr && inner < s.vaddr + s.filesz)!;
  assert.equal(elf.vaddrOfOffset(inner - text.vaddr + text.offset), inner);
});

test('readElf reads stripped binaries through .dynsym and rejects non-ELF files', (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const bin = buildCBurner(['-rdynamic']);
  execFileSync('strip', [bin]);
  const elf = readElf(bin)!;
  assert.ok(elf.size > 0);
  const found = [...Array(0x4000).keys()].some((i) => elf.lookup(0x1000 + i)?.name === 'pl_burn_inner');
  assert.ok(found, 'pl_burn_inner found through .dynsym');
  assert.equal(readElf(new URL(import.meta.url).pathname), undefined);
});
