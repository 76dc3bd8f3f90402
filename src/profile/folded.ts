import type { CallTree } from './calltree.js';

/** Folded stacks (`root;caller;callee count`, the flamegraph.pl format), one line per stack, sorted. */
export function foldedStacks(tree: CallTree): string {
  const lines: string[] = [];
  const names = tree.frames.frames.map((f) => f.name);
  const paths: string[] = new Array(tree.size);
  paths[0] = '';
  for (let n = 1; n < tree.size; n++) {
    const p = paths[tree.parent[n]];
    paths[n] = p === '' ? names[tree.frame[n]] : `${p};${names[tree.frame[n]]}`;
    if (tree.selfSamples[n] > 0) lines.push(`${paths[n]} ${tree.selfSamples[n]}`);
  }
  lines.sort();
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}
