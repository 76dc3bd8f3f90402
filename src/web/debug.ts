import type { FlameGraph } from '../profile/flame.js';

/**
 * `window.__pilotlight`: a read-only window on what the canvases drew, for the browser tests
 * and the benchmark (a canvas has no DOM to query). Each flame chart registers itself by name
 * (`flame`, `callers`, `callees`).
 */
export interface DrawnRect {
  node: number;
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
  color: string;
  highlighted: boolean;
  /** The node's samples (values): through it, and with it as the leaf. */
  total: number;
  self: number;
}

export interface FlameProbe {
  /** Nodes in the graph. */
  size: number;
  rootTotal: number;
  /** Name of the zoomed node ('all' when not zoomed). */
  zoom: string;
  /** Name of the root node: 'all', or the function a focused graph is rooted at. */
  root: string;
  /** Name of the frame the keyboard is on while the chart has the keyboard, else null. */
  focused: string | null;
  draws: number;
  lastDrawMs: number;
  /** performance.now() at the end of the last draw. */
  lastDrawAt: number;
  /** Rectangles of the last draw, in CSS px relative to the canvas. */
  rects(): DrawnRect[];
  /** The canvas element, for mouse events at a rectangle. */
  canvas(): HTMLCanvasElement | null;
}

interface Registry {
  [name: string]: FlameProbe | undefined;
}

/** The flame harness page (harness.tsx): draws a given or synthetic graph without a server. */
export interface Harness {
  load: (g: FlameGraph) => void;
  /** Types a query into the search box (as the user would). */
  search: (query: string) => void;
  /** The search core (focus.ts: parse + match names + measure the share), for the benchmark. */
  searchFlame: (
    g: FlameGraph,
    query: string,
  ) => { ok: true; matchedSamples: number; totalSamples: number; matchedFrames: number } | { ok: false; error: string };
  /** A synthetic graph of about `nodes` nodes (built, not drawn: time `load` on its own). */
  make: (nodes: number, seed?: number) => FlameGraph;
  /** Draws a synthetic graph of about `nodes` nodes; returns its node count. */
  synthetic: (nodes: number, seed?: number) => number;
}

declare global {
  interface Window {
    __pilotlight?: Registry;
    __harness?: Harness;
  }
}

export function registerProbe(name: string, probe: FlameProbe): () => void {
  const reg = (window.__pilotlight ??= {});
  reg[name] = probe;
  return () => {
    if (reg[name] === probe) delete reg[name];
  };
}
