import type { CallTree } from './calltree.js';
import type { ParentLinks } from './children.js';

/** Folded stacks (`root;caller;callee count`, the flamegraph.pl format), one line per stack, sorted. */
export function foldedStacks(tree: CallTree): string {
  const self = tree.selfSamples;
  const names = tree.frames.frames.map((f) => f.name);
  return foldedLines(tree, names, (n) => (self[n] > 0 ? `${self[n]}` : undefined));
}

/**
 * Folded lines of a tree (node 0 its root, left out of the paths): for each node `counts` has
 * text for, the names of its frames from the root down joined by `;`, a space and that text;
 * lines sorted, each ending in a newline. What `foldedStacks` and the diff's `stack base
 * target` lines are written with.
 */
export function foldedLines(tree: ParentLinks & { frame: ArrayLike<number> }, names: readonly string[], counts: (node: number) => string | undefined): string {
  const paths: string[] = new Array(tree.size);
  paths[0] = '';
  const lines: string[] = [];
  for (let n = 1; n < tree.size; n++) {
    const p = paths[tree.parent[n]];
    paths[n] = p === '' ? names[tree.frame[n]] : `${p};${names[tree.frame[n]]}`;
    const text = counts(n);
    if (text !== undefined) lines.push(`${paths[n]} ${text}`);
  }
  lines.sort();
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}
