import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readElf } from './elf.js';
import { readGoPclntab } from './gopclntab.js';

function goCommand(): string | undefined {
  for (const go of ['/usr/local/go/bin/go', 'go']) {
    try {
      const v = execFileSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
      const minor = Number(/^go1\.(\d+)/.exec(v)?.[1] ?? 0);
      if (minor >= 18) return go;
    } catch {
      // try the next
    }
  }
  return undefined;
}

const SOURCE = `package main

import "os"

//go:noinline
func plgoHot(n int) int { s := 0; for i := 0; i < n; i++ { s += i * i }; return s }

//go:noinline
func plgoOuter(n int) int { return plgoHot(n) + 1 }

func main() { os.Exit(plgoOuter(len(os.Args)) & 1) }
`;

test('a stripped Go binary is named from its .gopclntab: the same functions at the same addresses as its symbol table says', (t) => {
  const go = goCommand();
  if (!go) return t.skip('no Go >= 1.18 toolchain to build a test binary');
  const dir = mkdtempSync(join(tmpdir(), 'pl-go-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'main.go'), SOURCE);
  writeFileSync(join(dir, 'go.mod'), 'module plgo\n\ngo 1.18\n');
  const env = { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'pl-go-cache') };
  execFileSync(go, ['build', '-o', 'full', '.'], { cwd: dir, env });
  execFileSync(go, ['build', '-ldflags=-s -w', '-o', 'stripped', '.'], { cwd: dir, env });
  // The symbols the unstripped build has, and the stripped one has not.
  const nm = new Map(
    execFileSync('nm', [join(dir, 'full')], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => f.length === 3 && /^[Tt]$/.test(f[1]))
      .map((f) => [f[2], parseInt(f[0], 16)]),
  );
  assert.equal(
    execFileSync('nm', [join(dir, 'stripped')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    '',
    'the stripped binary has no symbol table',
  );
  execFileSync('objcopy', ['-O', 'binary', '--only-section=.gopclntab', join(dir, 'stripped'), join(dir, 'pclntab')]);
  // The header's text start is left unrelocated (0): the reader takes the .text section's address.
  const text = /\s\.text\s+PROGBITS\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', join(dir, 'stripped')], { encoding: 'utf8' }))!;
  const go_ = readGoPclntab(readFileSync(join(dir, 'pclntab')), parseInt(text[1], 16));
  assert.ok(go_, 'a Go 1.18+ pclntab');
  const byName = new Map(
    go_.syms.map((s) => {
      let end = s.nameOffset;
      while (go_.names[end] !== 0) end++;
      return [Buffer.from(go_.names.subarray(s.nameOffset, end)).toString('utf8'), s];
    }),
  );
  for (const fn of ['main.plgoHot', 'main.plgoOuter', 'main.main', 'runtime.main']) {
    const s = byName.get(fn);
    assert.ok(s, `${fn} in the pclntab (${byName.size} functions)`);
    assert.equal(s.start, nm.get(fn), `${fn} at the address nm gives the unstripped build`);
    assert.ok(s.size > 0);
  }
  assert.ok(byName.size > 1000, 'the runtime is in there too');

  // The ELF reader takes them for a binary without .symtab: frames in it are named.
  const elf = readElf(join(dir, 'stripped'))!;
  assert.equal(elf.lookup(nm.get('main.plgoHot')! + 4)?.name, 'main.plgoHot');
  assert.equal(elf.lookup(nm.get('main.plgoOuter')!)?.name, 'main.plgoOuter');
});

test('not a Go 1.18+ pclntab: undefined, never a throw', () => {
  assert.equal(readGoPclntab(new Uint8Array(8)), undefined);
  assert.equal(readGoPclntab(Buffer.from('fbffffff0000010800000000000000000000000000000000', 'hex')), undefined, 'Go 1.2 magic');
  const truncated = Buffer.alloc(40);
  truncated.writeUInt32LE(0xfffffff1, 0);
  truncated[7] = 8;
  assert.equal(readGoPclntab(truncated), undefined);
});
