import type { FlameGraph } from '../../profile/flame.js';
import type { DiffFlameGraph, DiffSymbolRow } from '../../api/types.js';
import { diffColorIndex } from '../flame/colors.js';

/** Share of a side's samples, 0 for an empty side. */
export function share(samples: number, of: number): number {
  return of > 0 ? samples / of : 0;
}

/**
 * The diff tree as a flame graph to lay out: each node as wide as the mean of its base and
 * comparison shares. Linear in the node values, so children never outgrow their parent, and a
 * path present on only one side stays visible (at half its share).
 */
export function diffLayoutGraph(d: DiffFlameGraph, baseSamples: number, samples: number): FlameGraph {
  const n = d.frame.length;
  const wt = samples > 0 ? (baseSamples > 0 ? 0.5 : 1) / samples : 0;
  const wb = baseSamples > 0 ? (samples > 0 ? 0.5 : 1) / baseSamples : 0;
  const total = new Array<number>(n);
  const self = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    total[i] = d.total[i] * wt + d.baseTotal[i] * wb;
    self[i] = d.self[i] * wt + d.baseSelf[i] * wb;
  }
  return { frames: d.frames, frame: d.frame, depth: d.depth, total, self } as unknown as FlameGraph;
}

/**
 * How far a share may move between two sides by chance alone: two standard errors of the
 * difference of two proportions (the pooled share, with each side's sample count), as a
 * fraction. Samples of one program are not independent (bursts), so real noise is at least
 * this. Infinite when a side has no samples: then nothing can be told apart.
 */
export function noiseBand(baseShare: number, targetShare: number, baseSamples: number, samples: number): number {
  if (!(baseSamples > 0) || !(samples > 0)) return Infinity;
  const p = (baseShare * baseSamples + targetShare * samples) / (baseSamples + samples);
  return 2 * Math.sqrt(Math.max(0, p * (1 - p)) * (1 / baseSamples + 1 / samples));
}

/** Per node: whether its change in share is beyond sampling noise (`noiseBand`). */
export function nodeSignificance(d: DiffFlameGraph, baseSamples: number, samples: number): Uint8Array {
  const out = new Uint8Array(d.frame.length);
  for (let i = 0; i < out.length; i++) {
    const b = share(d.baseTotal[i], baseSamples);
    const t = share(d.total[i], samples);
    out[i] = Math.abs(t - b) > noiseBand(b, t, baseSamples, samples) ? 1 : 0;
  }
  return out;
}

/** Change in share of each node (comparison − base), as fractions. */
export function nodeDeltas(d: DiffFlameGraph, baseSamples: number, samples: number): Float64Array {
  const out = new Float64Array(d.frame.length);
  for (let i = 0; i < out.length; i++) out[i] = share(d.total[i], samples) - share(d.baseTotal[i], baseSamples);
  return out;
}

/**
 * Palette index per node: red grew, blue shrank, grey unchanged or within sampling noise
 * (`significant` 0); full colour at the largest change in the graph (but at least 5 points).
 */
export function diffNodeColors(deltas: Float64Array, significant?: Uint8Array): Uint16Array {
  let max = 0.05;
  for (let i = 1; i < deltas.length; i++) max = Math.max(max, Math.abs(deltas[i]));
  const out = new Uint16Array(deltas.length);
  for (let i = 0; i < deltas.length; i++) out[i] = diffColorIndex(significant && !significant[i] ? 0 : deltas[i], max);
  return out;
}

/** A change in share as signed percentage points: "+30.0 pp", "−1.5 pp", "0.0 pp". */
export function formatDelta(delta: number): string {
  const pts = delta * 100;
  const abs = Math.abs(pts);
  const text = abs >= 10 || abs === 0 ? abs.toFixed(1) : abs >= 0.1 ? abs.toFixed(1) : abs.toFixed(2);
  if (text === '0.0' || text === '0.00') return '0.0 pp';
  return `${pts > 0 ? '+' : '−'}${text} pp`;
}

export type DiffSortKey = 'name' | 'base' | 'target' | 'delta';

export interface DiffRow extends DiffSymbolRow {
  baseShare: number;
  share: number;
  delta: number;
  /** How far the share may move by chance (`noiseBand`), as a fraction. */
  noise: number;
}

/** Rows with their total shares, change and noise band; sorted by `key` (delta: by size of the change, either sign). */
export function diffRows(rows: readonly DiffSymbolRow[], baseSamples: number, samples: number): DiffRow[] {
  return rows.map((r) => {
    const baseShare = share(r.baseTotal, baseSamples);
    const s = share(r.total, samples);
    return { ...r, baseShare, share: s, delta: s - baseShare, noise: noiseBand(baseShare, s, baseSamples, samples) };
  });
}

/** Whether a row's change is beyond sampling noise. */
export function isSignificant(r: DiffRow): boolean {
  return Math.abs(r.delta) > r.noise;
}

export function sortDiffRows(rows: readonly DiffRow[], key: DiffSortKey, dir: 'asc' | 'desc'): DiffRow[] {
  const sign = dir === 'asc' ? 1 : -1;
  const byName = (a: DiffRow, b: DiffRow): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const val = (r: DiffRow): number => (key === 'base' ? r.baseShare : key === 'target' ? r.share : r.delta);
  const cmp = key === 'name' ? (a: DiffRow, b: DiffRow) => sign * byName(a, b) : (a: DiffRow, b: DiffRow) => sign * (val(a) - val(b)) || byName(a, b);
  return [...rows].sort(cmp);
}
