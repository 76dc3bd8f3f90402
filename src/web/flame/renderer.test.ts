import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawBuffers, drawFlame, type Ctx2D } from './renderer.js';
import { layoutFlame } from './layout.js';
import { frameColors, PALETTE, ROOT_COLOR } from './colors.js';
import { flameFromFolded } from './testing.js';
import type { Viewport } from './viewport.js';

/** A 2D context that records calls: what the renderer asked the canvas to do. */
function recorder(): Ctx2D & { calls: string[]; texts: string[] } {
  const calls: string[] = [];
  const texts: string[] = [];
  let fill = '';
  return {
    calls,
    texts,
    font: '',
    textBaseline: 'alphabetic',
    get fillStyle() {
      return fill;
    },
    set fillStyle(v: string) {
      fill = v;
    },
    measureText: (t: string) => ({ width: t.length * 7 }),
    clearRect: () => calls.push('clear'),
    beginPath: () => calls.push('begin'),
    rect: () => calls.push('rect'),
    fill: () => calls.push(`fill ${fill}`),
    fillRect: (_x: number, y: number) => calls.push(`fillRect ${fill} ${y}`),
    fillText: (t: string) => texts.push(t),
    save: () => undefined,
    restore: () => undefined,
    clip: () => undefined,
    setTransform: () => undefined,
  } as Ctx2D & { calls: string[]; texts: string[] };
}

const STACKS = 'main;serve;parse 30\nmain;serve;render 20\nmain;idle 50';

function view(over: Partial<Viewport> = {}): Viewport {
  return { x0: 0, span: 100, width: 1000, height: 200, rowHeight: 18, scrollTop: 0, inverted: false, ...over };
}

test('one fill per palette colour, every drawn frame a rect, labels after the rects', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  const colors = frameColors(g.frames.name, g.frames.kind);
  const ctx = recorder();
  const out = drawBuffers(l.size);
  drawFlame(ctx, l, view(), { frameColors: colors, highlight: null, dpr: 1 }, out);
  assert.equal(out.count, 6);
  assert.equal(ctx.calls.filter((c) => c === 'rect').length, 6);
  const fills = ctx.calls.filter((c) => c.startsWith('fill '));
  assert.equal(fills.length, new Set([ROOT_COLOR, ...colors]).size, 'one batch per colour in use');
  assert.equal(new Set(fills).size, fills.length, 'no colour filled twice');
  assert.deepEqual([...ctx.texts].sort(), ['all', 'idle', 'main', 'parse', 'render', 'serve']);
});

test('a highlight greys the other frames; a zoom fades its ancestors rows', () => {
  const g = flameFromFolded(STACKS);
  const l = layoutFlame(g);
  const colors = frameColors(g.frames.name, g.frames.kind);
  const parse = g.frames.name.indexOf('parse');
  const hl = new Uint8Array(g.frames.name.length);
  hl[parse] = 1;
  const out = drawBuffers(l.size);
  drawFlame(recorder(), l, view(), { frameColors: colors, highlight: hl, dpr: 1 }, out);
  for (let k = 0; k < out.count; k++) {
    const f = g.frame[out.nodes[k]];
    const c = PALETTE[out.color[k]];
    if (f === parse) assert.equal(c, PALETTE[colors[parse]]);
    else if (f >= 0) assert.match(c, /^hsl\(0 0%/, `${g.frames.name[f]} greyed`);
  }
  // Zoomed on serve (depth 2): rows 0 and 1 (all, main) get the fade, nothing else does.
  const serve = g.frame.findIndex((f) => f >= 0 && g.frames.name[f] === 'serve');
  const ctx = recorder();
  drawFlame(ctx, l, view({ x0: l.x[serve], span: g.total[serve] }), { frameColors: colors, highlight: null, dpr: 1, zoomDepth: 2 }, out);
  assert.deepEqual(
    ctx.calls.filter((c) => c.startsWith('fillRect')),
    ['fillRect rgba(255, 255, 255, 0.5) 0', 'fillRect rgba(255, 255, 255, 0.5) 18'],
  );
  assert.ok(!ctx.texts.includes('idle'), 'idle is outside the zoom');
});
