import { CallTree } from '../../profile/calltree.js';
import { flameGraph, type FlameGraph } from '../../profile/flame.js';

/**
 * A flame graph from folded stacks (`a;b;c count`; a frame may be written `name#kind`), for
 * tests and benchmarks.
 */
export function flameFromFolded(text: string): FlameGraph {
  const tree = new CallTree();
  for (const raw of text.trim().split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const sp = line.lastIndexOf(' ');
    const frames = line
      .slice(0, sp)
      .split(';')
      .map((f) => {
        const [name, kind = ''] = f.split('#');
        return tree.frames.intern({ name, file: '', line: 0, binary: '', kind });
      });
    tree.add(tree.path(frames), Number(line.slice(sp + 1)), 0);
  }
  return flameGraph(tree);
}

/**
 * A synthetic flame graph with about `nodes` nodes: a random tree with a realistic shape
 * (fan-out shrinking with depth, skewed weights), deterministic for a given seed.
 */
export function syntheticFlame(nodes: number, seed = 1): FlameGraph {
  let s = seed >>> 0 || 1;
  const rand = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const kinds = ['native', 'kernel', 'v8js', 'cpython', 'jvm'];
  const nFrames = Math.max(16, Math.floor(nodes / 8));
  const frames = {
    name: Array.from({ length: nFrames }, (_, i) => `fn_${i.toString(36)}_${['parse', 'render', 'serve', 'alloc', 'hash', 'read'][i % 6]}`),
    file: Array.from({ length: nFrames }, (_, i) => `src/mod${i % 97}.c`),
    line: Array.from({ length: nFrames }, (_, i) => (i * 7) % 500),
    binary: Array.from({ length: nFrames }, (_, i) => (i % 3 === 0 ? 'libc.so.6' : 'app')),
    kind: Array.from({ length: nFrames }, (_, i) => kinds[i % kinds.length]),
  };
  const g: FlameGraph = { frames, frame: [-1], depth: [0], total: [0], self: [0] };
  // Build in pre-order: a node is created, then its children recursively (explicit stack).
  const stack: { depth: number; budget: number }[] = [];
  let remaining = nodes - 1;
  const top = Math.max(2, Math.round(Math.sqrt(nodes) / 4));
  const per = Math.floor(remaining / top);
  for (let k = top - 1; k >= 0; k--) stack.push({ depth: 1, budget: k === 0 ? remaining - per * (top - 1) : per });
  const weights: number[] = [0];
  const parents: number[] = [-1];
  const open: number[] = [0];
  while (remaining > 0) {
    // Budgets are rounded down on the way; top up with more top-level subtrees.
    if (stack.length === 0) stack.push({ depth: 1, budget: Math.min(remaining, per) });
    const { depth, budget } = stack.pop()!;
    const id = g.frame.length;
    open.length = depth;
    parents.push(open[depth - 1]);
    open.push(id);
    g.frame.push(Math.floor(rand() * nFrames));
    g.depth.push(depth);
    g.self.push(1 + Math.floor(rand() * rand() * 40));
    g.total.push(0);
    weights.push(0);
    remaining--;
    let left = budget - 1;
    if (left <= 0) continue;
    const fan = Math.max(1, Math.min(left, Math.round(1 + rand() * (depth < 4 ? 8 : 3))));
    const parts: number[] = [];
    let sum = 0;
    for (let c = 0; c < fan; c++) {
      const w = rand() ** 2 + 0.05;
      parts.push(w);
      sum += w;
    }
    const budgets = parts.map((w) => Math.max(1, Math.floor((w / sum) * left)));
    budgets[0] += Math.max(0, left - budgets.reduce((a, b) => a + b, 0));
    for (let c = fan - 1; c >= 0 && left > 0; c--) {
      const b = Math.min(left, budgets[c]);
      left -= b;
      stack.push({ depth: depth + 1, budget: b });
    }
  }
  // Totals: self plus children, summed backwards (children come after their parent).
  for (let i = g.frame.length - 1; i >= 0; i--) {
    g.total[i] += g.self[i];
    if (parents[i] >= 0) g.total[parents[i]] += g.total[i];
  }
  return g;
}
