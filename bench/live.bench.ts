import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { makeUniverse, rng, zipf, type Universe } from '../test/helpers/gen.js';
import { RequestBuilder, type FrameSpec } from '../src/otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { gzipSync } from 'node:zlib';
import { PROFILE_FORMAT_FLAG } from '../src/web/api/profileFetch.js';
import { PROFILE_MEDIA_TYPE, decodeProfile } from '../src/api/profile-codec.js';
import '../src/web/debug.js';
import { ensureWebBuilt, launchChromium, startUi, type RunningUi } from '../test/helpers/web.js';
import { quantile, table } from './measure.js';
import type { BenchFigure, BenchResult } from './report.js';

/**
 * The Profiling tab with Live on, in Chromium, while a machine-wide source (85 programs'
 * stacks under one workload key) gets a second's data every second: per update, the profile
 * bytes the browser fetched and the main thread's busy time; long tasks (over 50 ms, the
 * PerformanceObserver's `longtask`) per 10 s; and, with updates still arriving, hover →
 * tooltip and click → zoom drawn. Every figure is measured twice in the same run on the same
 * slot: as the web app does it (304 when unchanged, the binary form, the work of an update
 * spread over tasks) and as it did before (`localStorage[PROFILE_FORMAT_FLAG] = 'json'`: the
 * whole profile as JSON on every update, parsed and rendered in one go). Goal (reported,
 * never enforced): no long task over 50 ms per update at 100k nodes.
 */
/** Flame graph sizes (nodes), about; LIVE_SIZES=100000 runs one. */
const SIZES = process.env.LIVE_SIZES ? process.env.LIVE_SIZES.split(',').map(Number) : [100_000, 500_000];
/** Updates per phase: one a second. */
const UPDATES = 10;
/** Nodes each stack adds, about (stacks of 10–60 frames sharing ~60 % of a parent's, measured): sizes the universe. */
const NODES_PER_STACK = 18.5;
const PROGRAMS = 85;
/** Per update: samples on stacks already seen (Zipf: hot code), and stacks never seen before (new nodes). */
const SAMPLES_PER_UPDATE = 400;
const NEW_STACKS_PER_UPDATE = 30;

type Mode = 'json' | 'default';
const PROFILE_PATH = /^\/api\/sources\/[^/]+\/profile$/;
const MODES: { mode: Mode; label: string }[] = [
  { mode: 'json', label: 'before: full JSON every update (baseline)' },
  { mode: 'default', label: 'now: 304 / binary, split work' },
];

/** A machine-wide workload: many programs' stacks under one key, sent as a fill and then a second at a time. */
export class MachineWorkload {
  private readonly u: Universe;
  private readonly specs: FrameSpec[];
  private readonly base: number;
  private readonly picks: (() => number)[];
  private readonly rand = rng(11);
  private next: number[];

  constructor(
    readonly nodes: number,
    readonly name: string,
  ) {
    this.base = Math.max(4, Math.ceil(nodes / PROGRAMS / NODES_PER_STACK));
    // Enough unseen stacks for every update of every phase of every mode.
    const reserve = Math.ceil((4 * UPDATES * NEW_STACKS_PER_UPDATE * MODES.length) / PROGRAMS) + 2;
    this.u = makeUniverse({
      seed: 5,
      programs: PROGRAMS,
      functions: Math.round(nodes / 5),
      locations: Math.round(nodes / 2.5),
      stacksPerProgram: this.base + reserve,
    });
    this.specs = this.u.locations.map((l) => ({ ...l.frame, binary: this.u.binaries[l.binary].path.split('/').pop() }));
    this.picks = this.u.programs.map(() => zipf(this.base, 1.1, this.rand));
    this.next = this.u.programs.map(() => this.base);
  }

  private request(add: (b: RequestBuilder, p: ReturnType<RequestBuilder['profile']>) => void): ExportProfilesServiceRequest {
    const b = new RequestBuilder();
    const p = b.profile(
      { 'service.name': this.name },
      { periodNanos: 50_000_000, timeUnixNano: BigInt(Date.now()) * 1_000_000n, durationNano: 1_000_000_000n },
    );
    add(b, p);
    return b.build();
  }

  private stack(b: RequestBuilder, g: number, s: number): number {
    return b.stackOfFrames(Array.from(this.u.programs[g].stacks[s], (i) => this.specs[i]));
  }

  /** The first fill: every program's stacks once (a request per program, as a sampler's batches). */
  fill(): ExportProfilesServiceRequest[] {
    return this.u.programs.map((prog, g) =>
      this.request((b, p) => {
        for (let s = 0; s < this.base; s++) b.addSample(p, this.stack(b, g, s), { value: 1 + Math.floor(this.rand() * 5) });
      }),
    );
  }

  /** One second of the machine: samples on hot stacks, and a few stacks seen for the first time. */
  second(): ExportProfilesServiceRequest {
    return this.request((b, p) => {
      for (let k = 0; k < SAMPLES_PER_UPDATE; k++) {
        const g = Math.floor(this.rand() * PROGRAMS);
        b.addSample(p, this.stack(b, g, this.picks[g]()), { value: 1 });
      }
      for (let k = 0; k < NEW_STACKS_PER_UPDATE; k++) {
        const g = Math.floor(this.rand() * PROGRAMS);
        if (this.next[g] >= this.u.programs[g].stacks.length) continue;
        b.addSample(p, this.stack(b, g, this.next[g]++), { value: 1 });
      }
    });
  }
}

interface PhaseResult {
  bytes: number[];
  /** Main-thread busy ms per one-second window (an update and whatever else ran in that second). */
  busy: number[];
  /** Data sent → the new graph drawn, ms. */
  latency: number[];
  longTasks: number[];
  /** From the app's performance marks (see useProfile): fetch, decode, render+commit, per update. */
  marks: Record<string, number[]>;
  drawMs: number[];
  hover: number[];
  zoom: number[];
  /** Interactions that got no tooltip / no zoom within 20 s, or no target to point at. */
  misses: number;
  status: Record<string, number>;
  nodes: number;
}

export async function main(): Promise<BenchResult | undefined> {
  const { browser, reason } = await launchChromium();
  if (!browser) {
    console.log(`skipped: ${reason}`);
    return undefined;
  }
  ensureWebBuilt();
  const ui = await startUi({ slotMaxBytes: 1024 * 1024 * 1024, slotTtlSeconds: 3600 });
  const figures: BenchFigure[] = [];
  const notes: string[] = [];
  try {
    for (const n of SIZES) {
      const w = new MachineWorkload(n, `live-${n / 1000}k`);
      const key = `host/Service/${w.name}`;
      await fetch(`${ui.url}/api/sources/${encodeURIComponent(key)}/profiling`, { method: 'POST' });
      for (const req of w.fill()) await ui.send(req);
      const results = new Map<Mode, PhaseResult>();
      for (const { mode } of MODES) results.set(mode, await runMode(browser, ui, key, w, mode));
      const base = results.get('json')!;
      const now = results.get('default')!;
      const label = `${Math.round(now.nodes / 1000)}k nodes`;
      console.log(
        `\n${label} (machine-wide source: ${PROGRAMS} programs under one key; ${UPDATES} updates a phase, one a second; ms unless said; a busy shared 2-core machine: noisy)`,
      );
      const row = (name: string, f: (r: PhaseResult) => number | string): (string | number)[] => [
        name,
        ...[f(now), f(base)].map((v) => (typeof v === 'number' && Number.isNaN(v) ? '—' : v)),
      ];
      const mark = (r: PhaseResult, name: string, q: number): number =>
        quantile(
          [...(r.marks[name] ?? [])].sort((a, b) => a - b),
          q,
        );
      console.log(
        table(
          ['per update', MODES[1].label, MODES[0].label],
          [
            row('profile bytes fetched p50 (on the wire)', (r) => quantile(sorted(r.bytes), 0.5)),
            row('profile bytes fetched max', (r) => Math.max(...r.bytes)),
            row('answers (status: count)', (r) =>
              Object.entries(r.status)
                .map(([s, c]) => `${s}: ${c}`)
                .join(', '),
            ),
            row('main-thread busy per 1 s window p50', (r) => quantile(sorted(r.busy), 0.5)),
            row('main-thread busy p99 (= max of 10)', (r) => quantile(sorted(r.busy), 0.99)),
            row('long tasks in 10 s', (r) => r.longTasks.length),
            row('longest task', (r) => (r.longTasks.length ? Math.max(...r.longTasks) : 0)),
            row('data sent → new graph drawn p50', (r) => quantile(sorted(r.latency), 0.5)),
            row('  fetch (request → body read) p50', (r) => mark(r, 'fetch', 0.5)),
            row('  decode / JSON.parse p50 (wall; binary: in slices)', (r) => mark(r, 'decode', 0.5)),
            row('  flame layout ahead of render p50', (r) => mark(r, 'layout', 0.5)),
            row('  React render + commit p50 (wall; now: in slices)', (r) => mark(r, 'render', 0.5)),
            row('  draw p50', (r) => quantile(sorted(r.drawMs), 0.5)),
            row('hover → tooltip shown p50 (while updating)', (r) => quantile(sorted(r.hover), 0.5)),
            row('hover → tooltip max', (r) => quantile(sorted(r.hover), 0.99)),
            row('click → zoom drawn p50 (while updating)', (r) => quantile(sorted(r.zoom), 0.5)),
            row('click → zoom drawn max', (r) => quantile(sorted(r.zoom), 0.99)),
            row('interactions timed (missed)', (r) => `${r.hover.length + r.zoom.length} (${r.misses})`),
          ],
        ),
      );
      const fig = (name: string, unit: string, f: (r: PhaseResult) => number): void => {
        figures.push({ name: `${label}: ${name}`, value: f(now), unit, better: 'lower', baseline: { name: 'full JSON every update', value: f(base) } });
      };
      fig('profile bytes per update p50', 'B', (r) => quantile(sorted(r.bytes), 0.5));
      fig('main-thread busy per update p50', 'ms', (r) => quantile(sorted(r.busy), 0.5));
      fig('main-thread busy per update p99', 'ms', (r) => quantile(sorted(r.busy), 0.99));
      fig('long tasks per 10 s', 'tasks', (r) => r.longTasks.length);
      fig('longest task', 'ms', (r) => (r.longTasks.length ? Math.max(...r.longTasks) : 0));
      fig('hover → tooltip p50', 'ms', (r) => quantile(sorted(r.hover), 0.5));
      fig('click → zoom drawn p50', 'ms', (r) => quantile(sorted(r.zoom), 0.5));
      await wireSizes(ui, key, w, label, notes);
      await fetch(`${ui.url}/api/sources/${encodeURIComponent(key)}/profiling`, { method: 'DELETE' });
    }
    notes.push('main-thread busy = Chromium TaskDuration (CDP Performance metrics) over each one-second window: the update plus the 1 s clock tick');
    notes.push('bytes = encoded response body of GET …/profile as received (Playwright request.sizes())');
    console.log(`\n  ${notes.join('\n  ')}`);
  } finally {
    await browser.close();
    await ui.close();
  }
  return { title: 'Live profile updates in Chromium (machine-wide source)', figures, notes };
}

/**
 * One update's answer in each form, measured from Node: is gzip'd JSON as small as the binary
 * form? Bytes of the JSON and of the binary form continuing the frames a client holds, each
 * as sent and gzip'd (level 1, as the server does, and 6), with the time gzip took.
 */
async function wireSizes(ui: RunningUi, key: string, w: MachineWorkload, label: string, notes: string[]): Promise<void> {
  const url = `${ui.url}/api/sources/${encodeURIComponent(key)}/profile`;
  const first = decodeProfile(new Uint8Array(await (await fetch(url, { headers: { accept: PROFILE_MEDIA_TYPE } })).arrayBuffer()));
  await ui.send(w.second());
  const json = Buffer.from(await (await fetch(url, { headers: { accept: 'application/json', 'accept-encoding': 'identity' } })).arrayBuffer());
  const frames = `${first.framesTable}:${first.profile.flame.frames.name.length}`;
  const bin = Buffer.from(
    await (
      await fetch(`${url}?frames=${encodeURIComponent(frames)}`, { headers: { accept: PROFILE_MEDIA_TYPE, 'accept-encoding': 'identity' } })
    ).arrayBuffer(),
  );
  const gz = (b: Buffer, level: number): { bytes: number; ms: number } => {
    const t = performance.now();
    const bytes = gzipSync(b, { level }).byteLength;
    return { bytes, ms: performance.now() - t };
  };
  const t0 = performance.now();
  JSON.parse(json.toString());
  const parseMs = performance.now() - t0;
  const t1 = performance.now();
  decodeProfile(bin, { table: first.framesTable, frames: first.profile.flame.frames });
  const decodeMs = performance.now() - t1;
  const rows = [
    ['JSON (baseline)', json.byteLength, gz(json, 1), gz(json, 6), parseMs],
    ['binary, new frames only', bin.byteLength, gz(bin, 1), gz(bin, 6), decodeMs],
  ] as const;
  console.log(`\n${label}: one update's answer, measured from Node (bytes; gzip ms = server CPU; read = JSON.parse / decodeProfile in Node)`);
  console.log(
    table(
      ['form', 'as is', 'gzip -1', 'gzip -1 ms', 'gzip -6', 'gzip -6 ms', 'read ms'],
      rows.map(([name, raw, g1, g6, read]) => [name, raw, g1.bytes, g1.ms, g6.bytes, g6.ms, read]),
    ),
  );
  notes.push(
    `${label}: JSON ${fmtBytes(json.byteLength)} (gzip -1 ${fmtBytes(rows[0][2].bytes)} for ${rows[0][2].ms.toFixed(0)} ms of server CPU) vs binary ${fmtBytes(bin.byteLength)} (gzip -1 ${fmtBytes(rows[1][2].bytes)}, ${rows[1][2].ms.toFixed(0)} ms)`,
  );
}

function fmtBytes(n: number): string {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${Math.round(n / 1024)} KiB`;
}

function sorted(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

async function busyMs(cdp: CDPSession): Promise<number> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  return 1000 * (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0);
}

/** One mode on a fresh page: a phase of updates alone, then one with hover and zoom while updating. */
async function runMode(browser: Browser, ui: RunningUi, key: string, w: MachineWorkload, mode: Mode): Promise<PhaseResult> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.addInitScript('window.__name = (f) => f');
  await page.addInitScript(INPUT_SPY);
  await page.addInitScript(
    ([flag, value]) => {
      if (value) localStorage.setItem(flag, value);
      else localStorage.removeItem(flag);
      // Long tasks from the first load on; the phases read only the ones in their window.
      const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
      w.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    },
    [PROFILE_FORMAT_FLAG, mode === 'json' ? 'json' : ''] as const,
  );
  const result: PhaseResult = { bytes: [], busy: [], latency: [], longTasks: [], marks: {}, drawMs: [], hover: [], zoom: [], misses: 0, status: {}, nodes: 0 };
  let counting = false;
  page.on('requestfinished', (req) => {
    if (!counting || !PROFILE_PATH.test(new URL(req.url()).pathname)) return;
    void (async () => {
      const res = await req.response();
      const sizes = await req.sizes();
      result.bytes.push(sizes.responseBodySize);
      const s = String(res?.status() ?? 0);
      result.status[s] = (result.status[s] ?? 0) + 1;
    })();
  });
  page.on('pageerror', (e) => console.log(`  (${mode}: page error: ${e.message})`));
  page.on('crash', () => console.log(`  (${mode}: the page crashed)`));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${ui.url}/#/sources/${encodeURIComponent(key)}`);
  await page.waitForFunction(() => (window.__pilotlight?.flame?.draws ?? 0) > 0 && (window.__pilotlight?.flame?.size ?? 0) > 0, undefined, {
    timeout: 300_000,
  });
  result.nodes = await page.evaluate(() => window.__pilotlight!.flame!.size);
  // Let the first load's work settle (table, timeline, a GC) before measuring updates.
  await page.waitForTimeout(3000);
  await page.evaluate(() => performance.clearMeasures());

  // Phase 1: updates alone. Phase 2: updates, and as each update's answer arrives (when the
  // browser is about to decode and render it) a real mouse move over a frame or a click on
  // one, sent as input through the browser: the time from the input event's timestamp to the
  // tooltip on screen or the zoomed graph drawn includes any wait behind the update's tasks.
  for (const withInteraction of [false, true]) {
    counting = !withInteraction;
    const t0 = await page.evaluate(() => performance.now());
    for (let i = 0; i < UPDATES; i++) {
      const start = Date.now();
      const busy0 = await busyMs(cdp);
      const before = await page.evaluate(() => ({ total: window.__pilotlight!.flame!.rootTotal, at: performance.now() }));
      const target = withInteraction ? await pickTarget(page, i, i % 2 === 0 ? 'hover' : 'zoom') : null;
      const answered = withInteraction
        ? page.waitForResponse((r) => PROFILE_PATH.test(new URL(r.url()).pathname) && r.status() === 200, { timeout: 20_000 })
        : null;
      await ui.send(w.second());
      if (withInteraction && !target) result.misses++;
      if (answered && target) {
        try {
          await answered;
          const ms = target.kind === 'hover' ? await hoverTime(page, target) : await zoomTime(page, target);
          if (ms !== null) (target.kind === 'hover' ? result.hover : result.zoom).push(ms);
        } catch {
          result.misses++;
        }
      }
      answered?.catch(() => undefined);
      try {
        await page.waitForFunction((t) => window.__pilotlight!.flame!.rootTotal > t, before.total, { timeout: 20_000, polling: 'raf' });
        // The new graph is committed; its draw is on the next animation frame.
        const at = await page.evaluate(async () => {
          for (let k = 0; k < 2; k++) await new Promise((r) => requestAnimationFrame(r));
          return window.__pilotlight!.flame!.lastDrawAt;
        });
        if (!withInteraction) {
          result.latency.push(at - before.at);
          result.drawMs.push(await page.evaluate(() => window.__pilotlight!.flame!.lastDrawMs));
        }
      } catch {
        console.log(`  (${mode}: update ${i + 1} not drawn within 20 s)`);
      }
      if (target?.kind === 'zoom') await zoomOut(page);
      const left = 1000 - (Date.now() - start);
      if (left > 0) await page.waitForTimeout(left);
      if (!withInteraction) result.busy.push((await busyMs(cdp)) - busy0);
    }
    if (!withInteraction) {
      const t1 = await page.evaluate(() => performance.now());
      const tasks = await page.evaluate(() => (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks);
      result.longTasks = tasks.filter((x) => x.start >= t0 && x.start < t1).map((x) => x.duration);
      const entries = await page.evaluate(() => performance.getEntriesByType('measure').map((e) => ({ name: e.name, duration: e.duration })));
      for (const e of entries) {
        const m = /^pilotlight:profile-(\w+)$/.exec(e.name);
        if (m) (result.marks[m[1]] ??= []).push(e.duration);
      }
    }
  }
  await page.close();
  return result;
}

interface Target {
  kind: 'hover' | 'zoom';
  /** Page coordinates of the frame's middle. */
  x: number;
  y: number;
}

/** A frame to hover (any row) or to zoom into (the second or third row), with the mouse moved off the graph first. */
async function pickTarget(page: Page, seed: number, kind: Target['kind']): Promise<Target | null> {
  await page.mouse.move(2, 2);
  await page.waitForFunction(() => !document.querySelector('[role="tooltip"]'), undefined, { timeout: 10_000 }).catch(() => undefined);
  return page.evaluate(
    ({ seed, kind }) => {
      const probe = window.__pilotlight!.flame!;
      const box = probe.canvas()!.getBoundingClientRect();
      const rects = probe.rects().filter((r) => r.w > 5 && (kind === 'hover' ? r.y > 0 : r.y >= r.h && r.y <= 3 * r.h));
      if (rects.length === 0) return null;
      const r = rects[(seed * 7919) % rects.length];
      return { kind, x: box.left + r.x + r.w / 2, y: box.top + r.y + r.h / 2 };
    },
    { seed, kind },
  );
}

/** Real input from the browser: the event's timestamp is when it arrived, before any wait for the main thread. */
const INPUT_SPY = `
  window.__input = { move: 0, click: 0 };
  addEventListener('mousemove', (e) => { window.__input.move = e.timeStamp; }, true);
  addEventListener('click', (e) => { window.__input.click = e.timeStamp; }, true);
`;

/** Mouse over the frame → its tooltip on screen (ms, from the input's timestamp to the first frame showing it). */
async function hoverTime(page: Page, t: Target): Promise<number | null> {
  await page.mouse.move(t.x, t.y);
  const h = await page.waitForFunction(
    () => {
      if (!document.querySelector('[role="tooltip"]')) return 0;
      return performance.now() - (window as unknown as { __input: { move: number } }).__input.move;
    },
    undefined,
    { timeout: 20_000, polling: 'raf' },
  );
  return (await h.jsonValue()) as number;
}

/** Click on the frame → the zoomed graph drawn (ms, from the click's timestamp to the end of the draw). */
async function zoomTime(page: Page, t: Target): Promise<number | null> {
  await page.mouse.click(t.x, t.y);
  const h = await page.waitForFunction(
    () => {
      const p = window.__pilotlight?.flame;
      const click = (window as unknown as { __input: { click: number } }).__input.click;
      return p && p.zoom !== 'all' && p.lastDrawAt > click ? p.lastDrawAt - click : 0;
    },
    undefined,
    { timeout: 20_000, polling: 'raf' },
  );
  return (await h.jsonValue()) as number;
}

async function zoomOut(page: Page): Promise<void> {
  const zoomed = await page.evaluate(() => window.__pilotlight?.flame?.zoom !== 'all');
  if (!zoomed) return;
  const root = await page.evaluate(() => {
    const box = window.__pilotlight!.flame!.canvas()!.getBoundingClientRect();
    return { x: box.left + 4, y: box.top + 9 };
  });
  await page.mouse.click(root.x, root.y);
  await page.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'all', undefined, { timeout: 20_000 }).catch(() => undefined);
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
