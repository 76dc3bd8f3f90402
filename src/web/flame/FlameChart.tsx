import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent, type ReactNode } from 'react';
import type { FlameLayout } from './layout.js';
import { keyPath, nodeAt, resolveKeyPath } from './layout.js';
import { isAncestor, moveFrame, type FrameMove } from './keyboard.js';
import { formatPercent } from './text.js';
import { contentHeight, depthAt, rowTop, type Viewport } from './viewport.js';
import { useFlameDraw, type DrawInput } from './useFlameDraw.js';
import { useElementSize } from '../hooks/useElementSize.js';
import { FlameTooltip } from './Tooltip.js';
import { PALETTE } from './colors.js';
import { registerProbe, type DrawnRect } from '../debug.js';
import type { ValueFormat } from '../units.js';
import './flame-tools.css';

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
  /**
   * Opens a frame's menu at a point (client px): on right-click, and on the context-menu key
   * or Shift+F10 for the keyboard's frame. Without it the chart has no menu.
   */
  onFrameMenu?: (node: number, at: { x: number; y: number }) => void;
  /** A menu is open over the chart: no tooltips meanwhile. */
  menuOpen?: boolean;
}

/** Arrow keys as steps between frames; in an inverted chart (callers above) up and down swap, as drawn. */
const ARROWS: Record<string, [FrameMove, FrameMove]> = {
  ArrowUp: ['parent', 'child'],
  ArrowDown: ['child', 'parent'],
  ArrowLeft: ['prev', 'prev'],
  ArrowRight: ['next', 'next'],
};

/**
 * A flame graph on two stacked canvases: the graph (redrawn on data, zoom, search, scroll and
 * resize) and an overlay with the hover and keyboard outlines, so moving the mouse never
 * redraws the graph. The canvases stick to the top of a scroll box as tall as the graph:
 * scrolling moves the view over the rows and the graph layer draws only the rows in view.
 *
 * The overlay takes the keyboard: arrows move an outline between frames (Up: caller, Down:
 * largest callee, Left/Right: siblings), the outlined frame shows its tooltip, Enter zooms to
 * it, Escape zooms out one level (and is left to the page, which closes the drawer, when not
 * zoomed), the context-menu key or Shift+F10 opens its menu.
 */
export function FlameChart({
  probe,
  layout,
  colors,
  highlight,
  zoomNode,
  onZoom,
  values,
  percentOf,
  inverted = false,
  ariaLabel,
  nodeColors = null,
  tooltip,
  onFrameMenu,
  menuOpen = false,
}: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const mainRef = useRef<HTMLCanvasElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const size = useElementSize(scrollRef);
  const scrollTop = useRef(0);
  const [hover, setHover] = useState<{ node: number; clientX: number; clientY: number } | null>(null);
  // The keyboard's frame, as a key path (found again in new data, like the zoom), or null
  // before the chart first had focus; `kbd`: the chart has focus from the keyboard, so the
  // outline and the tooltip show (a mouse click focuses it without them).
  const [keyFrame, setKeyFrame] = useState<readonly string[] | null>(null);
  const [kbd, setKbd] = useState(false);
  // Bumped on scroll, so the keyboard outline and tooltip follow the rows.
  const [scrolled, setScrolled] = useState(0);
  // When the keyboard last opened the menu: the contextmenu event the same key may fire is not a second opening.
  const menuKeyAt = useRef(0);

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

  // Zooming brings the zoomed frame near the top (one caller row above it), so its callees
  // have the room below instead of starting at the bottom edge under every ancestor.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (inverted || !el) return;
    el.scrollTop = Math.max(0, (zoomDepth - 1) * ROW_HEIGHT);
    scrollTop.current = el.scrollTop;
    schedule();
    // Only on a new zoom: a live update of the same zoom keeps where the user scrolled.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [zoomNode > 0 ? keyPath(layout, zoomNode).join('\u0001') : '', inverted]);

  const onScroll = useCallback(() => {
    scrollTop.current = scrollRef.current?.scrollTop ?? 0;
    setHover(null);
    setScrolled((n) => n + 1);
    schedule();
  }, [schedule]);

  // The keyboard's frame in this layout: the nearest drawn one (its path's deepest surviving
  // frame; the zoomed frame when it lies outside the zoomed subtree and its ancestors).
  const keyNode = useMemo(() => {
    if (keyFrame === null || layout.size === 0) return -1;
    const n = Math.max(0, resolveKeyPath(layout, keyFrame).node);
    const drawn = n === zoomNode || isAncestor(layout, n, zoomNode) || isAncestor(layout, zoomNode, n);
    return drawn ? n : zoomNode;
  }, [keyFrame, layout, zoomNode]);
  const showKey = kbd && keyNode >= 0;

  const currentView = (): Viewport => ({ ...view, scrollTop: scrollTop.current });

  const nodeUnder = (e: MouseEvent<HTMLCanvasElement>): number => {
    const rect = e.currentTarget.getBoundingClientRect();
    const v = currentView();
    const depth = depthAt(layout, v, e.clientY - rect.top);
    if (depth < 0) return -1;
    const xs = v.x0 + ((e.clientX - rect.left) / v.width) * v.span;
    return nodeAt(layout, depth, xs);
  };

  /** A node's rectangle on the canvas (CSS px), clipped to the view. */
  const rectOf = (node: number, v: Viewport): { left: number; right: number; top: number } => {
    const scale = v.width / v.span;
    return {
      left: Math.max(0, (layout.x[node] - v.x0) * scale),
      right: Math.min(v.width, (layout.x[node] + layout.graph.total[node] - v.x0) * scale),
      top: rowTop(layout, v, layout.graph.depth[node]),
    };
  };

  // The overlay: outlines of the hovered frame and of the keyboard's.
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
    const v = currentView();
    if (showKey && keyNode < layout.size) {
      // A 2px accent ring with a white inner line, visible on every frame colour; at least 4px
      // wide, so a frame too thin to see still shows where the keyboard is.
      const { left, right, top } = rectOf(keyNode, v);
      const w = Math.max(4, right - left);
      const l = Math.min(left, v.width - w);
      ctx.strokeStyle = '#2f6fed';
      ctx.lineWidth = 2;
      ctx.strokeRect(l + 1, top + 1, w - 2, ROW_HEIGHT - 3);
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 1;
      if (w > 8) ctx.strokeRect(l + 2.5, top + 2.5, w - 5, ROW_HEIGHT - 6);
    }
    if (!hover || hover.node >= layout.size) return;
    const { left, right, top } = rectOf(hover.node, v);
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 1.5;
    ctx.strokeRect(left + 0.75, top + 0.75, Math.max(1, right - left - 1.5), ROW_HEIGHT - 2);
    // currentView and rectOf read refs; the outlines follow hover, the keyboard, layout, view and scrolling.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [hover, layout, view, showKey, keyNode, scrolled]);

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
        root: layout.size > 0 && layout.graph.frame[0] >= 0 ? layout.graph.frames.name[layout.graph.frame[0]] : 'all',
        focused: showKey ? (layout.graph.frame[keyNode] >= 0 ? layout.graph.frames.name[layout.graph.frame[keyNode]] : 'all') : null,
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
              total: layout.graph.total[node],
              self: layout.graph.self[node],
            });
          }
          return out;
        },
        canvas: () => overlayRef.current,
      }),
    [probe, layout, zoomNode, highlight, drawn, stats, showKey, keyNode],
  );

  /** Scrolls the box so a node's row is in view (the keyboard may walk off the visible rows). */
  const scrollToRow = (node: number): void => {
    const el = scrollRef.current;
    if (!el) return;
    const y = rowTop(layout, { ...view, scrollTop: 0 }, layout.graph.depth[node]);
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW_HEIGHT - el.clientHeight;
  };

  /** Where a menu or tooltip for a node goes: just inside its rectangle's bottom-left, in client px. */
  const anchorOf = (node: number): { x: number; y: number } => {
    const box = overlayRef.current?.getBoundingClientRect();
    const { left, top } = rectOf(node, currentView());
    return { x: (box?.left ?? 0) + left + 8, y: (box?.top ?? 0) + top + ROW_HEIGHT - 6 };
  };

  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>): void => {
    if (layout.size === 0 || e.altKey || e.ctrlKey || e.metaKey) return;
    const cur = keyNode >= 0 ? keyNode : zoomNode;
    const arrow = ARROWS[e.key];
    if (arrow) {
      e.preventDefault();
      const next = moveFrame(layout, cur, arrow[inverted ? 1 : 0], zoomNode);
      setKbd(true);
      setKeyFrame(keyPath(layout, next));
      scrollToRow(next);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      setKbd(true);
      setKeyFrame(keyPath(layout, cur));
      onZoom(cur);
    } else if (e.key === 'Escape') {
      // Zoomed: out one level, and the page (the drawer) does not see this Escape. Not zoomed:
      // left alone, so it closes the drawer as anywhere else.
      if (zoomNode > 0) {
        e.preventDefault();
        e.stopPropagation();
        onZoom(layout.parent[zoomNode]);
      }
    } else if (onFrameMenu && (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10'))) {
      e.preventDefault();
      menuKeyAt.current = performance.now();
      setKeyFrame(keyPath(layout, cur));
      onFrameMenu(cur, anchorOf(cur));
    }
  };

  // The keyboard's tooltip: below its frame's left end, while the mouse is not showing another.
  const keyTip = showKey && !hover && !menuOpen ? anchorOf(keyNode) : null;
  const keyName =
    keyNode >= 0 && keyNode < layout.size ? (layout.graph.frame[keyNode] >= 0 ? layout.graph.frames.name[layout.graph.frame[keyNode]] : 'all') : '';
  // What the pointer and the keyboard can do on a frame ("all" has no menu).
  const hasMenu = (node: number): boolean => onFrameMenu !== undefined && layout.graph.frame[node] >= 0;
  const mouseHint = (node: number): string | undefined => (hasMenu(node) ? 'Click to zoom · right-click for more' : undefined);
  const keyHint = (node: number): string =>
    `${node === 0 ? 'Enter resets the zoom' : 'Enter zooms'} · arrows move${zoomNode > 0 ? ' · Escape zooms out' : ''}${hasMenu(node) ? ' · Shift+F10 for more' : ''}`;

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
            tabIndex={0}
            role="application"
            aria-roledescription="flame graph"
            aria-label={`${ariaLabel}. Arrow keys move between frames, Enter zooms, Escape zooms out${onFrameMenu ? ', Shift+F10 opens the frame menu' : ''}`}
            onFocus={(e) => {
              if (keyFrame === null) setKeyFrame(keyPath(layout, zoomNode));
              setKbd(e.currentTarget.matches(':focus-visible'));
            }}
            onBlur={() => setKbd(false)}
            onKeyDown={onKeyDown}
            onMouseDown={() => setKbd(false)}
            onContextMenu={(e) => {
              if (!onFrameMenu) return;
              e.preventDefault();
              if (performance.now() - menuKeyAt.current < 500) return;
              const node = nodeUnder(e);
              if (node < 0 || layout.graph.frame[node] < 0) return;
              setKeyFrame(keyPath(layout, node));
              setHover(null);
              onFrameMenu(node, { x: e.clientX, y: e.clientY });
            }}
            onMouseMove={(e) => {
              const node = nodeUnder(e);
              setHover(node < 0 ? null : { node, clientX: e.clientX, clientY: e.clientY });
            }}
            onMouseLeave={() => setHover(null)}
            onClick={(e) => {
              const node = nodeUnder(e);
              if (node < 0) return;
              setKeyFrame(keyPath(layout, node));
              onZoom(node);
            }}
          />
        </div>
      </div>
      {hover && !menuOpen && tooltip && tooltip(hover.node, hover.clientX, hover.clientY)}
      {hover && !menuOpen && !tooltip && (
        <FlameTooltip
          layout={layout}
          node={hover.node}
          clientX={hover.clientX}
          clientY={hover.clientY}
          values={values}
          percentOf={percentOf}
          hint={mouseHint(hover.node)}
        />
      )}
      {keyTip && tooltip && tooltip(keyNode, keyTip.x, keyTip.y)}
      {keyTip && !tooltip && (
        <FlameTooltip layout={layout} node={keyNode} clientX={keyTip.x} clientY={keyTip.y} values={values} percentOf={percentOf} hint={keyHint(keyNode)} />
      )}
      {/* The keyboard's frame for screen readers (the tooltip is drawn for the eye). */}
      <span className="sr-only" aria-live="polite">
        {showKey && keyName
          ? `${keyName}: total ${values.full(layout.graph.total[keyNode])}, ${formatPercent(percentOf > 0 ? layout.graph.total[keyNode] / percentOf : 0)}; self ${values.full(layout.graph.self[keyNode])}`
          : ''}
      </span>
    </div>
  );
}
