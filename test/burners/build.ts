import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const BURN_C = join(here, 'burn.c');
export const BURN_JS = join(here, 'burn.js');
/** Flags that give every JS function its own named frame, and leave no V8 log behind: the demo's. */
export { NODE_PERF_FLAGS } from '../../src/up/demo.js';

/** Compiles the C burner into a fresh temp dir; returns the executable's path. */
export function buildCBurner(extraFlags: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'pl-burn-'));
  const out = join(dir, 'plburn');
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', ...extraFlags, '-o', out, BURN_C]);
  return out;
}

/** binutils' c++filt, which the sampler demangles C++ and Rust names with. */
/** Whether `cmd args` runs and exits 0 (a tool is installed). */
export function hasCommand(cmd: string, args = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const hasCxxFilt = (): boolean => hasCommand('c++filt');
export const hasGcc = (): boolean => hasCommand('gcc');

export const LEAF_C = join(here, 'leaf.c');
export const LEAF_GO = join(here, 'leaf.go');

/**
 * The C leaf burner at -O2 with frame pointers: gcc gives every function a frame except the
 * hot leaf, the case a frame-pointer walk loses the leaf's caller in.
 */
export function buildCLeafBurner(): string {
  const out = join(mkdtempSync(join(tmpdir(), 'pl-leaf-')), 'plleafc');
  execFileSync('gcc', ['-O2', '-fno-omit-frame-pointer', '-o', out, LEAF_C]);
  return out;
}

/** The Go toolchain: /usr/local/go's when there, else `go` on the PATH; undefined without one. */
export function goBinary(): string | undefined {
  for (const go of ['/usr/local/go/bin/go', 'go']) {
    try {
      execFileSync(go, ['version'], { stdio: 'ignore', env: { ...process.env, GOTOOLCHAIN: 'local' } });
      return go;
    } catch {
      // try the next
    }
  }
  return undefined;
}

/** The Go leaf burner (Go keeps frame pointers; its small leaf has no frame). */
export function buildGoLeafBurner(go: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pl-leafgo-'));
  const out = join(dir, 'plleafgo');
  execFileSync(go, ['build', '-o', out, LEAF_GO], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' },
  });
  return out;
}
