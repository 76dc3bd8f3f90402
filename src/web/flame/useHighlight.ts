import { useMemo } from 'react';
import type { FlameGraph } from '../../profile/flame.js';
import { frameKeyOf, type FlameLayout } from './layout.js';
import { singleFrame, summarizeMatches, type MatchSummary } from './search.js';
import { matchFrames, parseSearch } from '../../profile/focus.js';

export interface Highlight {
  /** Per-frame flags for the renderer, or null when nothing is highlighted. */
  frames: Uint8Array | null;
  /** Share of the matches in the whole profile and in the zoomed node. */
  summary: MatchSummary | null;
  summaryInZoom: MatchSummary | null;
  /** The picked function's frame id in this graph, or -1. */
  selectedFrame: number;
  /** Why the search matches nothing when it cannot be read (an invalid /regex/), else null. */
  searchError: string | null;
}

/** Frame id by frame key, for finding a table row's function in a (new) flame graph. */
export function frameIdByKey(graph: FlameGraph, key: string | null): number {
  if (!key) return -1;
  for (let f = 0; f < graph.frames.name.length; f++) if (frameKeyOf(graph, f) === key) return f;
  return -1;
}

/**
 * What to highlight: a function picked in the symbols table wins over the search box (it is
 * the more specific request); either way non-matching frames are greyed.
 */
export function useHighlight(layout: FlameLayout, search: string, selectedKey: string | null, zoomNode: number): Highlight {
  const graph = layout.graph;
  const selectedFrame = useMemo(() => frameIdByKey(graph, selectedKey), [graph, selectedKey]);
  // The same query syntax as the API's `search` (focus.ts): text, or /regex/flags.
  const query = useMemo(() => (search.trim() === '' ? null : parseSearch(search)), [search]);
  const frames = useMemo(() => {
    if (selectedFrame >= 0) return singleFrame(graph, selectedFrame);
    if (!query || !query.ok) return null;
    return matchFrames(graph.frames.name, query.test);
  }, [graph, query, selectedFrame]);
  const summary = useMemo(() => (frames && layout.size > 0 ? summarizeMatches(layout, frames, 0) : null), [layout, frames]);
  const summaryInZoom = useMemo(
    () => (frames && layout.size > 0 && zoomNode > 0 ? summarizeMatches(layout, frames, zoomNode) : null),
    [layout, frames, zoomNode],
  );
  return { frames, summary, summaryInZoom, selectedFrame, searchError: selectedFrame < 0 && query && !query.ok ? query.error : null };
}
