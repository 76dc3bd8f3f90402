import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type MouseEvent, type ReactNode } from 'react';
import type { FlameLayout } from './layout.js';
import { keyPath, nodeAt, resolveKeyPath } from './layout.js';
import { contentHeight, depthAt, rowTop, type Viewport } from './viewport.js';
import { useFlameDraw, type DrawInput } from './useFlameDraw.js';
import { useElementSize } from '../hooks/useElementSize.js';
import { FlameTooltip } from './Tooltip.js';
import { PALETTE } from './colors.js';
import { registerProbe, type DrawnRect } from '../debug.js';
import type { ValueFormat } from '../units.js';

export const ROW_HEIGHT = 18;

interface Props {
  /** Name under which the chart's probe is registered (window.__pilotlight[name]). */
  probe: string;
  layout: FlameLayout;
  colors: Uint16Array;
  highlight: Uint8Array | null;
  zoomNode: number;
  onZoom: (node: number) => void;
  values: ValueFormat;
  percentOf: number;
  /** Root at the bottom, callers above (the top half of a sandwich). */
  inverted?: boolean;
  ariaLabel: string;
  /** Palette index per node (a diff), instead of colours per frame. */
  nodeColors?: Uint16Array | null;
  /** A tooltip of its own for the hovered node (a diff's), instead of the default one. */
  tooltip?: (node: number, clientX: number, clientY: number) => ReactNode;
}

/**
 * A flame graph on two stacked canvases: the graph (redrawn on data, zoom, search, scroll and
 * resize) and an overlay with the hover outline, so moving the mouse never redraws the graph.
 * The canvases stick to the top of a scroll box as tall as the graph: scrolling moves the
 * view over the rows and the graph layer draws only the rows in view.
 */
export function FlameChart({ probe, layout, colors, highlight, zoomNode, onZoom, values, percentOf, inverted = false, ariaLabel, nodeColors = null, tooltip }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const mainRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const size = useElementSize(scrollRef);
  const scrollTop = useRef(0);
  const [hover, setHover] = useState<{ node: number; clientX: number; clientY: number } | null>(null);

  const fullHeight = contentHeight(layout, ROW_HEIGHT);
  const viewHeight = Math.min(size.height, fullHeight);
  const input = useRef<DrawInput | null>(null);
  const view = useMemo<Viewport>(
    () => ({
      x0: layout.size > 0 ? layout.x[zoomNode] : 0,
      span: layout.size > 0 ? Math.max(1e-9, layout.graph.total[zoomNode]) : 1,
      width: size.width,
      height: viewHeight,
      rowHeight: ROW_HEIGHT,
      scrollTop: 0,
      inverted,
    }),
    [layout, zoomNode, size.width, viewHeight, inverted],
  );
  const zoomDepth = layout.size > 0 ? layout.graph.depth[zoomNode] : 0;
  input.current = { layout, view: { ...view, scrollTop: scrollTop.current }, colors, highlight, zoomDepth, nodeColors };
  const { schedule, drawn, stats } = useFlameDraw(mainRef, input);

  useEffect(schedule, [schedule, layout, view, colors, highlight, nodeColors]);

  // The callers half grows upwards from its root: start scrolled to the bottom.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (inverted && el) {
      el.scrollTop = el.scrollHeight;
      scrollTop.current = el.scrollTop;
    }
  }, [inverted, layout, fullHeight]);

  const onScroll = useCallback(() => {
    scrollTop.current = scrollRef.current?.scrollTop ?? 0;
    setHover(null);
    schedule();
  }, [schedule]);

  const currentView = (): Viewport => ({ ...view, scrollTop: scrollTop.current });

  const nodeUnder = (e: MouseEvent<HTMLCanvasElement>): number => {
    const rect = e.currentTarget.getBoundingClientRect();
    const v = currentView();
    const depth = depthAt(layout, v, e.clientY - rect.top);
    if (depth < 0) return -1;
    const xs = v.x0 + ((e.clientX - rect.left) / v.width) * v.span;
    return nodeAt(layout, depth, xs);
  };

  // The overlay: outline of the hovered frame.
  useEffect(() => {
    const el = overlayRef.current;
    if (!el) return;
    const dpr = window.devicePixelRatio || 1;
    const pw = Math.round(view.width * dpr);
    const ph = Math.round(view.height * dpr);
    if (el.width !== pw || el.height !== ph) {
      el.width = pw;
      el.height = ph;
    }
    const ctx = el.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, view.width, view.height);
    if (!hover || hover.node >= layout.size) return;
    const v = currentView();
    const scale = v.width / v.span;
    const left = Math.max(0, (layout.x[hover.node] - v.x0) * scale);
    const right = Math.min(v.width, (layout.x[hover.node] + layout.graph.total[hover.node] - v.x0) * scale);
    const top = rowTop(layout, v, layout.graph.depth[hover.node]);
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(left + 0.75, top + 0.75, Math.max(1, right - left - 1.5), ROW_HEIGHT - 2);
    // currentView reads refs; the outline follows hover, layout and view.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [hover, layout, view]);

  // A zoom moves frames under a still mouse: the outline would point at the wrong one.
  useEffect(() => setHover(null), [zoomNode]);
  // A live update renumbers nodes: the hovered frame is found again by its key path, so its
  // tooltip and outline stay while the mouse is still (and go if the frame is gone).
  const hoveredLayout = useRef(layout);
  useEffect(() => {
    const before = hoveredLayout.current;
    if (before === layout) return;
    hoveredLayout.current = layout;
    setHover((h) => {
      if (!h || h.node >= before.size) return null;
      const found = resolveKeyPath(layout, keyPath(before, h.node));
      return found.complete ? { ...h, node: found.node } : null;
    });
  }, [layout]);

  useEffect(
    () =>
      registerProbe(probe, {
        size: layout.size,
        rootTotal: layout.rootTotal,
        zoom: zoomNode > 0 ? layout.graph.frames.name[layout.graph.frame[zoomNode]] : 'all',
        get draws() {
          return stats.current.draws;
        },
        get lastDrawMs() {
          return stats.current.lastDrawMs;
        },
        get lastDrawAt() {
          return stats.current.lastDrawAt;
        },
        rects: () => {
          const d = drawn.current;
          const out: DrawnRect[] = [];
          for (let k = 0; k < d.count; k++) {
            const node = d.nodes[k];
            const f = layout.graph.frame[node];
            out.push({
              node,
              name: f < 0 ? 'all' : layout.graph.frames.name[f],
              x: d.left[k],
              y: d.top[k],
              w: d.width[k],
              h: ROW_HEIGHT,
              color: PALETTE[d.color[k]],
              highlighted: highlight !== null && f >= 0 && highlight[f] === 1,
            });
          }
          return out;
        },
        canvas: () => overlayRef.current,
      }),
    [probe, layout, zoomNode, highlight, drawn, stats],
  );

  return (
    <div className={inverted ? 'flame-scroll inverted' : 'flame-scroll'} ref={scrollRef} onScroll={onScroll}>
      <div className="flame-content" style={{ height: fullHeight }}>
        <div className="flame-sticky" style={{ height: viewHeight }}>
          <canvas ref={mainRef} className="flame-canvas" style={{ width: size.width, height: viewHeight }} aria-label={ariaLabel} role="img" />
          <canvas
            ref={overlayRef}
            className="flame-canvas flame-overlay"
            style={{ width: size.width, height: viewHeight, cursor: hover ? 'pointer' : 'default' }}
            data-probe={probe}
            onMouseMove={(e) => {
              const node = nodeUnder(e);
              setHover(node < 0 ? null : { node, clientX: e.clientX, clientY: e.clientY });
            }}
            onMouseLeave={() => setHover(null)}
            onClick={(e) => {
              const node = nodeUnder(e);
              if (node >= 0) onZoom(node);
            }}
          />
        </div>
      </div>
      {hover && tooltip && tooltip(hover.node, hover.clientX, hover.clientY)}
      {hover && !tooltip && <FlameTooltip layout={layout} node={hover.node} clientX={hover.clientX} clientY={hover.clientY} values={values} percentOf={percentOf} />}
    </div>
  );
}
