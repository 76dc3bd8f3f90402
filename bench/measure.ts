/**
 * Timing helpers for benchmarks. Figures only: nothing here passes or fails on time, because a
 * shared 2-core machine makes any threshold flaky; the README records what the figures were.
 */

export interface Timing {
  runs: number;
  median: number;
  p90: number;
  min: number;
}

export interface MeasureOptions {
  /** Runs thrown away first, so the JIT has settled (default 3). */
  warmup?: number;
  /** Timed runs (default 15). */
  runs?: number;
}

/**
 * Times `fn` (ms) after warm-up. Runs follow one another as requests do in a busy process, each
 * paying for the garbage collection its predecessors' garbage causes. No GC is forced between
 * runs: when no instance of a per-call class is alive at two full GCs in a row (V8's
 * --retain-maps-for-n-gc), V8 drops the class's hidden class and the optimised code built for
 * it, so forced GCs would time freshly deoptimised code, which a process under steady load
 * rarely runs.
 */
export function measure(fn: () => unknown, opts: MeasureOptions = {}): Timing {
  const warmup = opts.warmup ?? 3;
  const runs = opts.runs ?? 15;
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { runs, median: quantile(times, 0.5), p90: quantile(times, 0.9), min: times[0] };
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Fixed-width table rows, so figures line up in a terminal and in the README. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n');
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * Median CPU time (ms per call) of each function, run in turns (A, B, A, B, …) so all see the
 * same machine: on a shared, overloaded machine wall time mostly measures the other tenants.
 */
export function cpuMedians(fns: (() => unknown)[], perRound: number, rounds = 9): number[] {
  for (const fn of fns) for (let i = 0; i < 3; i++) fn();
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, k) => {
      const start = process.cpuUsage();
      for (let i = 0; i < perRound; i++) fn();
      const used = process.cpuUsage(start);
      times[k].push((used.user + used.system) / 1000 / perRound);
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}
