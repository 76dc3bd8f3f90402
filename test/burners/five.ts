import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goBinary, hasCommand, hasGcc } from './build.js';

/**
 * Five programs with known stacks, shared by test/peers-ebpf-profiler.test.ts and
 * bench/stacks.bench.ts: Python 3.11, Java (the JDK on PATH), Node.js (this node), Go and C
 * built -O2 without frame pointers, each burning CPU in a three-deep chain outer → middle →
 * hot whose names only the caller's `tag` makes (so no other process on the machine has them),
 * and each run WITHOUT any profiling flags (no frame pointers, perf maps or agents).
 */

export type FiveLang = 'c' | 'python' | 'java' | 'node' | 'go';

/** One program, built and ready to start. */
export interface FiveProgram {
  lang: FiveLang;
  /** The service name to start it under (OTEL_SERVICE_NAME): its workload is `host/Service/<service>`. */
  service: string;
  cmd: string;
  args: string[];
  /** Its chain, root first: the hot function and its two callers (matched as substrings of frame names). */
  chain: [string, string, string];
}

/** Every language in the order buildFivePrograms builds them. */
export const FIVE_LANGS: readonly FiveLang[] = ['c', 'python', 'java', 'node', 'go'];

const has = hasCommand;

/**
 * Writes and builds the five programs in `dir` (each burns for `seconds` of wall time, then
 * exits); one whose toolchain is missing here (gcc, python3.11, javac + java, Go) is left out.
 * Start each as `spawn(p.cmd, p.args, { env: { ...process.env, OTEL_SERVICE_NAME: p.service } })`.
 */
export function buildFivePrograms(dir: string, tag: string, seconds: number): FiveProgram[] {
  const s = Math.max(1, Math.ceil(seconds));
  const programs: FiveProgram[] = [];
  const add = (lang: FiveLang, cmd: string, args: string[], chain: [string, string, string]): void => {
    programs.push({ lang, service: `${tag}-${lang}`, cmd, args, chain });
  };
  if (hasGcc()) {
    const src = join(dir, 'hot.c');
    writeFileSync(
      src,
      `#include <time.h>\nvolatile unsigned long sink;\n` +
        `__attribute__((noinline)) void ${tag}_c_hot(void) { for (int i = 0; i < 100000; i++) sink += (unsigned long)i * i; }\n` +
        `__attribute__((noinline)) void ${tag}_c_middle(void) { for (int i = 0; i < 10; i++) ${tag}_c_hot(); sink++; }\n` +
        `__attribute__((noinline)) void ${tag}_c_outer(void) { time_t end = time(0) + ${s}; while (time(0) < end) ${tag}_c_middle(); sink++; }\n` +
        `int main(void) { ${tag}_c_outer(); return 0; }\n`,
    );
    execFileSync('gcc', ['-O2', '-fomit-frame-pointer', '-o', join(dir, 'hot-c'), src]);
    add('c', join(dir, 'hot-c'), [], [`${tag}_c_outer`, `${tag}_c_middle`, `${tag}_c_hot`]);
  }
  const python = ['python3.11'].find((p) => has(p));
  if (python) {
    const script = join(dir, 'hot.py');
    writeFileSync(
      script,
      `import time\ndef ${tag}_py_hot(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return s\n` +
        `def ${tag}_py_middle():\n    return ${tag}_py_hot(100000)\n` +
        `def ${tag}_py_outer():\n    end = time.time() + ${s}\n    while time.time() < end:\n        ${tag}_py_middle()\n${tag}_py_outer()\n`,
    );
    add('python', python, [script], [`${tag}_py_outer`, `${tag}_py_middle`, `${tag}_py_hot`]);
  }
  if (has('javac', ['-version']) && has('java', ['-version'])) {
    const cls = `PlHot${tag}`;
    writeFileSync(
      join(dir, `${cls}.java`),
      `public class ${cls} {\n  static long sink;\n` +
        `  ${javaHotMethod('javaHot')}\n` +
        `  static long javaMiddle() { long s = 0; for (int i = 0; i < 10; i++) s += javaHot(100000); return s; }\n` +
        `  static void javaOuter() { long end = System.currentTimeMillis() + ${s * 1000}L; while (System.currentTimeMillis() < end) sink += javaMiddle(); }\n` +
        `  public static void main(String[] a) { javaOuter(); }\n}\n`,
    );
    execFileSync('javac', ['-d', dir, join(dir, `${cls}.java`)]);
    add('java', 'java', ['-cp', dir, cls], ['javaOuter', 'javaMiddle', 'javaHot']);
  }
  const js = join(dir, 'hot.js');
  writeFileSync(
    js,
    `function ${tag}JsHot(n) { let s = 0; for (let i = 0; i < n; i++) s += (i * i) % 7; return s; }\n` +
      `function ${tag}JsMiddle() { let s = 0; for (let i = 0; i < 10; i++) s += ${tag}JsHot(100000); return s; }\n` +
      `function ${tag}JsOuter() { const end = Date.now() + ${s * 1000}; let s = 0; while (Date.now() < end) s += ${tag}JsMiddle(); return s; }\n${tag}JsOuter();\n`,
  );
  add('node', process.execPath, [js], [`${tag}JsOuter`, `${tag}JsMiddle`, `${tag}JsHot`]);
  const go = goBinary();
  if (go) {
    const src = join(dir, 'hot.go');
    writeFileSync(
      src,
      `package main\n\nimport "time"\n\nvar sink uint64\n\n` +
        `//go:noinline\nfunc ${tag}GoHot() { for i := uint64(0); i < 100000; i++ { sink += i * i } }\n\n` +
        `//go:noinline\nfunc ${tag}GoMiddle() { for i := 0; i < 10; i++ { ${tag}GoHot() } }\n\n` +
        `//go:noinline\nfunc ${tag}GoOuter() { end := time.Now().Add(${s} * time.Second); for time.Now().Before(end) { ${tag}GoMiddle() } }\n\n` +
        `func main() { ${tag}GoOuter() }\n`,
    );
    execFileSync(go, ['build', '-o', join(dir, 'hot-go'), src], { cwd: dir, env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' } });
    add('go', join(dir, 'hot-go'), [], [`${tag}GoOuter`, `${tag}GoMiddle`, `${tag}GoHot`]);
  }
  return programs;
}

/**
 * Of the folded lines (`root;…;leaf count`) through `hot`, the last of `chain` (its innermost
 * occurrence), the samples (`hot`) and those whose callers, the rest of `chain` outermost first,
 * sit right above it in that order (`chained`).
 */
export function chainShare(folded: string, chain: readonly string[]): { hot: number; chained: number } {
  const hot = chain[chain.length - 1];
  const callers = chain.length - 1;
  let all = 0;
  let chained = 0;
  for (const line of folded.split('\n')) {
    const sp = line.lastIndexOf(' ');
    const frames = line.slice(0, sp).split(';');
    const at = frames.findLastIndex((f) => f.includes(hot));
    if (at < 0) continue;
    const n = Number(line.slice(sp + 1));
    all += n;
    if (at >= callers && chain.slice(0, callers).every((c, k) => frames[at - callers + k].includes(c))) chained += n;
  }
  return { hot: all, chained };
}

/**
 * `static long NAME(int n)`, a hot loop whose bytecode (about 700 bytes) is more than HotSpot's
 * JIT inlines into a caller (FreqInlineSize, 325 bytes), so it stays a frame of its own. A
 * small method would be inlined into its caller, and a sampler reading HotSpot's frames (the
 * eBPF profiler) sees inlined code only at the JIT's debug points (safepoints, calls), not in a
 * counted loop: the samples go to the caller unless the JVM runs with -XX:+DebugNonSafepoints.
 */
export function javaHotMethod(name: string): string {
  const cases = Array.from({ length: 32 }, (_, k) => `case ${k}: s += (long) i * ${2 * k + 3}L ^ (s >>> 3); break;`).join(' ');
  return `static long ${name}(int n) { long s = 0; for (int i = 0; i < n; i++) { switch (i & 31) { ${cases} } } return s; }`;
}
