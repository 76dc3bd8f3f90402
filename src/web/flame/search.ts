import type { FlameGraph } from '../../profile/flame.js';
import type { FlameLayout } from './layout.js';

/** Flags for exactly one frame (a row picked in the symbols table). */
export function singleFrame(graph: FlameGraph, frame: number): Uint8Array {
  const out = new Uint8Array(graph.frames.name.length);
  if (frame >= 0 && frame < out.length) out[frame] = 1;
  return out;
}

export interface MatchSummary {
  /** Nodes whose frame matches. */
  nodes: number;
  /** Samples under matching frames, each sample counted once even when several frames on its stack match. */
  samples: number;
  /** samples / the samples of `within` (the root, or the zoomed node). */
  share: number;
}

/**
 * How much of the profile the highlighted frames cover. A matched node's whole subtree is
 * counted and then skipped, so nested matches (recursion, or `a` calling `ab`) are not
 * counted twice.
 */
export function summarizeMatches(layout: FlameLayout, matches: Uint8Array, within = 0): MatchSummary {
  const { frame, total } = layout.graph;
  let nodes = 0;
  let samples = 0;
  if (layout.size === 0) return { nodes, samples, share: 0 };
  const stop = layout.end[within];
  // Nodes above `within` whose frame matches cover all of it.
  for (let a = layout.parent[within]; a >= 0; a = layout.parent[a]) {
    if (frame[a] >= 0 && matches[frame[a]]) {
      samples = total[within];
      break;
    }
  }
  for (let i = within; i < stop;) {
    if (frame[i] >= 0 && matches[frame[i]]) {
      if (samples < total[within]) samples += total[i];
      nodes++;
      // Count the nested matches too (for the node tally), without adding their samples.
      for (let j = i + 1; j < layout.end[i]; j++) if (frame[j] >= 0 && matches[frame[j]]) nodes++;
      i = layout.end[i];
    } else {
      i++;
    }
  }
  const base = total[within];
  return { nodes, samples, share: base > 0 ? samples / base : 0 };
}
