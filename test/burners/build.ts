import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const BURN_C = join(here, 'burn.c');
export const BURN_JS = join(here, 'burn.js');
/** Flags that give every JS function its own named frame (measured-facts.md). */
export const NODE_PERF_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack', '--no-turbo-inlining'];

/** Compiles the C burner into a fresh temp dir; returns the executable's path. */
export function buildCBurner(extraFlags: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'pl-burn-'));
  const out = join(dir, 'plburn');
  execFileSync('gcc', ['-O0', '-fno-omit-frame-pointer', ...extraFlags, '-o', out, BURN_C]);
  return out;
}

/** binutils' c++filt, which the sampler demangles C++ and Rust names with. */
export function hasCxxFilt(): boolean {
  try {
    execFileSync('c++filt', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
