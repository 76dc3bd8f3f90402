import type { FlameLayout } from './layout.js';
import { type Viewport, visibleNodes, rowTop } from './viewport.js';
import { PALETTE, ROOT_COLOR, dimIndex } from './colors.js';
import { fitLabel, charWidthOf } from './text.js';

export const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const LABEL_PAD = 4;
const MIN_LABEL_PX = 22;

/** The 2D context calls the renderer needs; a fake can stand in for it in tests. */
export interface Ctx2D {
  font: string;
  fillStyle: string | CanvasGradient | CanvasPattern;
  textBaseline: CanvasTextBaseline;
  measureText(text: string): { width: number };
  clearRect(x: number, y: number, w: number, h: number): void;
  beginPath(): void;
  rect(x: number, y: number, w: number, h: number): void;
  fill(): void;
  fillRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  save(): void;
  restore(): void;
  clip(): void;
  setTransform(a: number, b: number, c: number, d: number, e: number, f: number): void;
}

export interface DrawStyle {
  /** Palette index per frame id. */
  frameColors: Uint16Array;
  /** Highlighted frames (search or selection), or null when nothing is highlighted. */
  highlight: Uint8Array | null;
  dpr: number;
  /** Palette index per node, overriding frameColors (a diff colours nodes, not frames). */
  nodeColors?: Uint16Array | null;
  /** Depth of the zoomed frame: the rows of its ancestors (full width, for context) are faded. */
  zoomDepth?: number;
}

/** Laid over the ancestors of a zoomed frame, so the zoomed subtree stands out. */
const ANCESTOR_FADE = 'rgba(255, 255, 255, 0.5)';

/** What the last draw put on screen: the frame model that tests and the tooltip read. */
export interface DrawnFrame {
  count: number;
  nodes: Int32Array;
  /** CSS px, left/top/width, per drawn node (same index as `nodes`). */
  left: Float32Array;
  top: Float32Array;
  width: Float32Array;
  color: Uint16Array;
}

export function drawBuffers(size: number): DrawnFrame {
  const n = Math.max(1, size);
  return { count: 0, nodes: new Int32Array(n), left: new Float32Array(n), top: new Float32Array(n), width: new Float32Array(n), color: new Uint16Array(n) };
}

/**
 * Draws the flame graph's rectangles and labels. Rectangles are batched by palette entry
 * (one path and one fill per colour), and labels go in a second pass so the font and fill
 * style are set once. Only culled nodes (see visibleNodes) are touched.
 */
export function drawFlame(ctx: Ctx2D, layout: FlameLayout, view: Viewport, style: DrawStyle, out: DrawnFrame): void {
  const { dpr, frameColors, highlight } = style;
  const nodeColors = style.nodeColors ?? null;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, view.width, view.height);
  const count = visibleNodes(layout, view, out.nodes);
  out.count = count;
  if (count === 0) return;
  const { frame, total } = layout.graph;
  const scale = view.width / view.span;
  const rh = view.rowHeight;
  const buckets = new Int32Array(PALETTE.length + 1);
  for (let k = 0; k < count; k++) {
    const i = out.nodes[k];
    const f = frame[i];
    let c = f < 0 ? ROOT_COLOR : nodeColors ? nodeColors[i] : frameColors[f];
    if (highlight && f >= 0 && !highlight[f]) c = dimIndex(c);
    out.color[k] = c;
    // Clip to the view so zoomed ancestors (far wider than the canvas) stay cheap to fill.
    const l = (layout.x[i] - view.x0) * scale;
    const r = l + total[i] * scale;
    out.left[k] = Math.max(0, l);
    out.width[k] = Math.min(view.width, r) - out.left[k];
    out.top[k] = rowTop(layout, view, layout.graph.depth[i]);
    buckets[c + 1]++;
  }
  // Counting sort of drawn nodes by colour.
  for (let c = 1; c < buckets.length; c++) buckets[c] += buckets[c - 1];
  const order = new Int32Array(count);
  const next = buckets.slice(0, PALETTE.length);
  for (let k = 0; k < count; k++) order[next[out.color[k]]++] = k;
  for (let c = 0; c < PALETTE.length; c++) {
    const from = buckets[c];
    const to = buckets[c + 1];
    if (from === to) continue;
    ctx.fillStyle = PALETTE[c];
    ctx.beginPath();
    for (let j = from; j < to; j++) {
      const k = order[j];
      // A 1px gap separates neighbours once frames are wide enough to afford it.
      const w = out.width[k];
      ctx.rect(out.left[k], out.top[k], w > 3 ? w - 1 : w, rh - 1);
    }
    ctx.fill();
  }
  const zoomDepth = style.zoomDepth ?? 0;
  if (zoomDepth > 0) {
    ctx.fillStyle = ANCESTOR_FADE;
    for (let d = 0; d < zoomDepth; d++) ctx.fillRect(0, rowTop(layout, view, d), view.width, rh - 1);
  }
  ctx.font = FONT;
  ctx.textBaseline = 'middle';
  const cw = charWidthOf(ctx, FONT);
  const names = layout.graph.frames.name;
  let labelColor = '';
  for (let k = 0; k < count; k++) {
    const w = out.width[k];
    if (w < MIN_LABEL_PX) continue;
    const f = frame[out.nodes[k]];
    const name = f < 0 ? 'all' : names[f];
    const text = fitLabel(name, w - 2 * LABEL_PAD, cw);
    if (text === '') continue;
    const dimmed = (highlight !== null && f >= 0 && !highlight[f]) || layout.graph.depth[out.nodes[k]] < zoomDepth;
    const color = dimmed ? '#7d838d' : '#1d1f23';
    if (color !== labelColor) {
      ctx.fillStyle = color;
      labelColor = color;
    }
    ctx.fillText(text, out.left[k] + LABEL_PAD, out.top[k] + rh / 2);
  }
}
