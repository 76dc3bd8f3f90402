import { useCallback, useEffect, useLayoutEffect, useRef, type RefObject } from 'react';
import type { FlameLayout } from './layout.js';
import type { Viewport } from './viewport.js';
import { drawBuffers, drawFlame, type DrawnFrame } from './renderer.js';

export interface DrawInput {
  layout: FlameLayout;
  view: Viewport;
  colors: Uint16Array;
  highlight: Uint8Array | null;
  zoomDepth: number;
  nodeColors?: Uint16Array | null;
}

export interface DrawStats {
  draws: number;
  lastDrawMs: number;
  /** performance.now() when the last draw finished. */
  lastDrawAt: number;
}

/**
 * Batched drawing: any number of changes in one frame (new data, zoom, search, scroll, resize)
 * cost one redraw, on the next animation frame. The input is read from a ref at draw time,
 * so scrolling redraws without re-rendering React.
 */
export function useFlameDraw(
  canvas: RefObject<HTMLCanvasElement | null>,
  input: RefObject<DrawInput | null>,
): {
  schedule: () => void;
  drawn: RefObject<DrawnFrame>;
  stats: RefObject<DrawStats>;
} {
  const frame = useRef(0);
  const drawn = useRef<DrawnFrame>(drawBuffers(1));
  const stats = useRef<DrawStats>({ draws: 0, lastDrawMs: 0, lastDrawAt: 0 });

  const draw = useCallback(() => {
    frame.current = 0;
    const el = canvas.current;
    const inp = input.current;
    if (!el || !inp || inp.view.width <= 0 || inp.view.height <= 0) return;
    const dpr = window.devicePixelRatio || 1;
    const pw = Math.round(inp.view.width * dpr);
    const ph = Math.round(inp.view.height * dpr);
    if (el.width !== pw || el.height !== ph) {
      el.width = pw;
      el.height = ph;
    }
    const ctx = el.getContext('2d', { alpha: true });
    if (!ctx) return;
    if (drawn.current.nodes.length < inp.layout.size) drawn.current = drawBuffers(inp.layout.size);
    const t0 = performance.now();
    drawFlame(
      ctx,
      inp.layout,
      inp.view,
      { frameColors: inp.colors, highlight: inp.highlight, dpr, zoomDepth: inp.zoomDepth, nodeColors: inp.nodeColors },
      drawn.current,
    );
    stats.current.lastDrawAt = performance.now();
    stats.current.lastDrawMs = stats.current.lastDrawAt - t0;
    stats.current.draws++;
  }, [canvas, input]);

  const schedule = useCallback(() => {
    if (frame.current === 0) frame.current = requestAnimationFrame(draw);
  }, [draw]);

  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  // Draw once synchronously on mount so the first paint already has the graph.
  useLayoutEffect(() => {
    draw();
  }, [draw]);
  return { schedule, drawn, stats };
}
