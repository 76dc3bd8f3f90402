import type { FlameGraph } from './flame.js';

/**
 * Search that measures: which frames match a query, and what share of all samples has a
 * matching frame anywhere on its stack, each sample counted once (as `go tool pprof -focus`
 * counts). Pure code over the flame graph's wire form, so the server and the browser share it.
 *
 * The one query syntax of every search and filter box (flame graph, symbols and diff tables,
 * hide patterns, the API's `search`): plain text is a case-insensitive substring; `/regex/flags`
 * is a JavaScript regular expression with flags from `imsu`, matched as written (so
 * case-sensitive unless it says `/…/i`). Text that only looks like a path (`/usr/lib`) is text.
 */
export type SearchQuery = { ok: true; text: string; test: (name: string) => boolean } | { ok: false; text: string; error: string };

const REGEX_FORM = /^\/(.+)\/([imsu]*)$/s;

export function parseSearch(query: string): SearchQuery {
  const text = query.trim();
  if (text === '') return { ok: false, text, error: 'empty search: type text, or /regex/' };
  const m = REGEX_FORM.exec(text);
  if (!m) {
    // A case-insensitive regex of the escaped text: no lower-cased copy of every name.
    const re = new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'i');
    return { ok: true, text, test: (name) => re.test(name) };
  }
  let re: RegExp;
  try {
    re = new RegExp(m[1], m[2]);
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
    return { ok: false, text, error: `invalid regular expression ${text}: ${why}` };
  }
  return { ok: true, text, test: (name) => re.test(name) };
}

/**
 * A filter box's predicate (parseSearch's rule): null while the box is empty (no filter); a
 * query that cannot be read, such as a half-typed `/regex/`, matches nothing.
 */
export function searchFilter(query: string): ((name: string) => boolean) | null {
  if (query.trim() === '') return null;
  const q = parseSearch(query);
  return q.ok ? q.test : () => false;
}

/** One flag per frame id: 1 where the frame's name matches. */
export function matchFrames(names: readonly string[], test: (name: string) => boolean): Uint8Array {
  const out = new Uint8Array(names.length);
  for (let f = 0; f < names.length; f++) if (test(names[f])) out[f] = 1;
  return out;
}

export interface SearchMeasure {
  /** Samples whose stack has at least one matching frame (each sample once). */
  matchedSamples: number;
  /** All samples in the graph (its root's total). */
  totalSamples: number;
  /** Distinct frames that match and appear in the graph. */
  matchedFrames: number;
}

/**
 * Measures a frame match over a flame graph (pre-order with depths, as flameGraph emits): the
 * sum of the totals of the outermost matching nodes. A node under a matching ancestor is
 * skipped, so recursion and several matches on one stack count a sample once.
 */
export function measureSearch(graph: Pick<FlameGraph, 'frame' | 'depth' | 'total'>, matched: Uint8Array): SearchMeasure {
  const { frame, depth, total } = graph;
  const n = frame.length;
  const seen = new Uint8Array(matched.length);
  let matchedSamples = 0;
  let matchedFrames = 0;
  // Depth of the outermost matching node on the current path, or -1.
  let open = -1;
  let totalSamples = 0;
  for (let i = 0; i < n; i++) {
    const f = frame[i];
    const d = depth[i];
    if (d === 0) totalSamples += total[i];
    if (f < 0) continue;
    if (open >= d) open = -1;
    if (matched[f] !== 1) continue;
    if (seen[f] === 0 && total[i] > 0) {
      seen[f] = 1;
      matchedFrames++;
    }
    if (open < 0) {
      open = d;
      matchedSamples += total[i];
    }
  }
  return { matchedSamples, totalSamples, matchedFrames };
}

/** parseSearch + matchFrames + measureSearch in one call; an invalid query gives its message. */
export function searchFlame(graph: FlameGraph, query: string): ({ ok: true } & SearchMeasure) | { ok: false; error: string } {
  const q = parseSearch(query);
  if (!q.ok) return { ok: false, error: q.error };
  return { ok: true, ...measureSearch(graph, matchFrames(graph.frames.name, q.test)) };
}
