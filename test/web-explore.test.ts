import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserAndUi, outputPath } from './helpers/web.js';
import { bothWindows, unnamedRequest, T_A, T_B } from './helpers/time-windows.js';
import { K8S_CHECKOUT } from './helpers/fixtures.js';
import type { DiffResponse, ProfileResponse, TimelineResponse } from '../src/api/types.js';
import type { DrawnRect } from '../src/web/debug.js';
import { cpuAndOffCpuRequest } from './profile-types-fixture.js';

const KEY = 'default/Deployment/inventory';
const OTHER = 'shop/StatefulSet/checkout';
const enc = encodeURIComponent;

/** Self and Total cells ("300 ms 50.0%") of a symbols table row, by function name. */
async function tableRow(page: Page, name: string): Promise<{ self: string; total: string }> {
  const row = page
    .getByRole('region', { name: 'Symbols table' })
    .locator('.symbols-row')
    .filter({ has: page.locator('.sym-text', { hasText: new RegExp(`^${name}$`) }) });
  const cells = await row.locator('.value-cell').allInnerTexts();
  assert.equal(cells.length, 2, `one row for ${name}`);
  return { self: cells[0].replace(/\s+/g, ' ').trim(), total: cells[1].replace(/\s+/g, ' ').trim() };
}

async function waitRow(page: Page, name: string, total: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await tableRow(page, name)).total === total) return;
    } catch {
      // Not drawn yet.
    }
    await page.waitForTimeout(100);
  }
  assert.equal((await tableRow(page, name)).total, total, `${name}'s Total`);
}

/** Drags across the timeline from one fraction of its width to another. */
async function dragTimeline(page: Page, a: number, b: number, shift = false): Promise<void> {
  const box = await page.locator('.timeline-plot').boundingBox();
  assert.ok(box, 'the timeline is on screen');
  const y = box.y + box.height / 2;
  if (shift) await page.keyboard.down('Shift');
  await page.mouse.move(box.x + box.width * a, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * ((a + b) / 2), y, { steps: 3 });
  await page.mouse.move(box.x + box.width * b, y, { steps: 3 });
  await page.mouse.up();
  if (shift) await page.keyboard.up('Shift');
}

async function rects(page: Page): Promise<DrawnRect[]> {
  return page.evaluate(() => window.__pilotlight?.flame?.rects() ?? []);
}

function hashParams(page: Page): URLSearchParams {
  const h = new URL(page.url()).hash;
  return new URLSearchParams(h.includes('?') ? h.slice(h.indexOf('?') + 1) : '');
}

/** The share formatting the UI uses (text.ts formatPercent). */
function pct(fraction: number): string {
  const p = fraction * 100;
  if (p === 0) return '0%';
  return p < 10 ? `${p.toFixed(2)}%` : `${p.toFixed(1)}%`;
}

test('explore a workload over time: timeline range, linkable views, search share, diff', { timeout: 180_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser: b, ui } = env;
  const server = ui;
  for (const k of [KEY, OTHER]) assert.equal((await fetch(`${server.url}/api/sources/${enc(k)}/profiling`, { method: 'POST' })).status, 200);
  await server.send(bothWindows());
  await server.send(unnamedRequest(K8S_CHECKOUT));
  const context = await b.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const tl = (await (await fetch(`${server.url}/api/sources/${enc(KEY)}/timeline?step=1`)).json()) as TimelineResponse;
  assert.equal(tl.points[0].t, T_A);
  assert.equal(tl.points.at(-1)!.t, T_B);

  await t.test('the timeline shows both windows; dragging a range shows exactly that range', async () => {
    await page.goto(`${server.url}/#/sources/${enc(KEY)}`);
    await page.locator('.timeline-plot svg').waitFor();
    // All data: walk is on 6 + 3 of 22 samples (50 ms each).
    await waitRow(page, 'walk', '450 ms 40.9%');
    assert.equal(await page.locator('.timeline-plot rect.tl-bar').count(), 2, 'one bar per window with samples');
    // Window A is in the first of 61 one-second buckets: drag over the first few.
    const plot = (await page.locator('.timeline-plot').boundingBox())!;
    await page.mouse.move(plot.x + 3, plot.y + plot.height / 2);
    await page
      .locator('.tl-readout')
      .filter({ hasText: /0\.60 cores · 12 samples/ })
      .waitFor();
    await dragTimeline(page, 0.002, 0.05);
    await page.waitForFunction(() => location.hash.includes('from='));
    const q = hashParams(page);
    assert.equal(Number(q.get('from')), T_A);
    const to = Number(q.get('to'));
    assert.ok(to > T_A && to <= T_B, 'the range ends before window B');
    const api = (await (await fetch(`${server.url}/api/sources/${enc(KEY)}/profile?from=${T_A}&to=${to}`)).json()) as ProfileResponse;
    assert.equal(api.samples, 12);
    // The range's exact values (window A: walk on 6 of 12, gc self 2, leaf 6).
    await waitRow(page, 'walk', '300 ms 50.0%');
    assert.deepEqual(await tableRow(page, 'gc'), { self: '100 ms 16.7%', total: '100 ms 16.7%' });
    assert.deepEqual(await tableRow(page, 'leaf'), { self: '300 ms 50.0%', total: '300 ms 50.0%' });
    for (const r of api.symbols) {
      const cells = await tableRow(page, r.name);
      assert.equal(cells.total, `${r.totalNanos / 1e6} ms ${pct(r.total / api.samples)}`, `${r.name} matches the API`);
    }
    assert.equal(
      await page
        .getByRole('region', { name: 'Symbols table' })
        .locator('.sym-text', { hasText: /^parse$/ })
        .count(),
      0,
      'parse is only in window B',
    );
    assert.match(await page.getByTestId('range-label').innerText(), /Range: .+–.+ \(\d+ s\)/);
    assert.match(await page.getByTestId('profile-summary').innerText(), /^In range: 12 samples/);
    // The pprof download is of the range: only its 12 samples (of 22).
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download pprof' }).click()]);
    const pprof = PprofProfile.decode(gunzipSync(await readFile((await download.path())!)));
    assert.equal(
      pprof.sample.reduce((n, smp) => n + Number(smp.value[0]), 0),
      12,
      'the range, not all buffered data',
    );
    await page.screenshot({ path: outputPath('web-timeline-range.png') });
    // Clear follows all data again.
    await page.getByRole('button', { name: 'Clear' }).click();
    await waitRow(page, 'walk', '450 ms 40.9%');
    assert.ok(!hashParams(page).has('from'));
    // Back restores the range (a history entry per selection).
    await page.goBack();
    await waitRow(page, 'walk', '300 ms 50.0%');
    await page.goForward();
    await waitRow(page, 'walk', '450 ms 40.9%');
  });

  await t.test('search measures the share of samples through a match; an invalid regex says why', async () => {
    const search = page.getByLabel('Search functions');
    await search.fill('/lea(f)/');
    // leaf is on 6 + 8 of 22 samples.
    await page.getByTestId('match-share').filter({ hasText: '63.6% of total' }).waitFor();
    const api = (await (await fetch(`${server.url}/api/sources/${enc(KEY)}/profile?search=${enc('/lea(f)/')}`)).json()) as ProfileResponse;
    assert.deepEqual(api.search && [api.search.matchedSamples, api.search.totalSamples], [14, 22]);
    // The table marks the matching function too.
    assert.deepEqual(await page.locator('.symbols-row.match .sym-text').allInnerTexts(), ['leaf']);
    await page.screenshot({ path: outputPath('web-search-share.png') });
    await search.fill('/walk(/');
    const err = page.getByTestId('search-error');
    await err.waitFor();
    const res = await fetch(`${server.url}/api/sources/${enc(KEY)}/profile?search=${enc('/walk(/')}`);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string; message: string };
    assert.equal(body.code, 'PL_UI_BAD_SEARCH');
    assert.equal(await err.innerText(), body.message, 'the same message as the API');
    assert.equal(await page.getByTestId('match-share').count(), 0);
    await page.screenshot({ path: outputPath('web-search-invalid.png') });
    assert.deepEqual(pageErrors, [], 'no exception');
  });

  await t.test('a copied link opens the same zoom, search and range; back and forward step through zoom', async () => {
    await page.getByLabel('Search functions').fill('leaf');
    await dragTimeline(page, 0.999, 0.995);
    await page.waitForFunction((tb) => location.hash.includes(`from=${tb}`), T_B);
    await waitRow(page, 'parse', '250 ms 50.0%');
    // The table follows the range before the flame graph is drawn anew: wait until the graph
    // shows the range too (parse is half of it) before reading where parse is drawn.
    await page.waitForFunction(() => {
      const rects = window.__pilotlight?.flame?.rects() ?? [];
      const parse = rects.find((r) => r.name === 'parse');
      const widest = Math.max(...rects.map((r) => r.w));
      return parse !== undefined && Math.abs(parse.w / widest - 0.5) < 0.02;
    });
    const rect = await page.evaluate(() => window.__pilotlight?.flame?.rects().find((r) => r.name === 'parse'));
    assert.ok(rect);
    const box = (await page.locator('canvas[data-probe="flame"]').boundingBox())!;
    await page.mouse.click(box.x + rect.x + Math.min(rect.w / 2, 30), box.y + rect.y + rect.h / 2);
    await page.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'parse');
    const shareText = await page.getByTestId('match-share').innerText();
    assert.match(shareText, /80\.0% of total .* 100\.0% of zoomed/);
    const link = page.url();
    assert.match(link, /zoom=/);

    const other = await context.newPage();
    other.on('pageerror', (e) => pageErrors.push(e.message));
    await other.goto(link);
    await other.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'parse');
    assert.equal(await other.getByLabel('Search functions').inputValue(), 'leaf');
    assert.equal(await other.getByTestId('match-share').innerText(), shareText, 'same search share');
    await waitRow(other, 'parse', '250 ms 50.0%');
    await other.screenshot({ path: outputPath('web-link-opened.png') });
    await other.close();

    await page.goBack();
    await page.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'all');
    await page.goForward();
    await page.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'parse');
    await page.getByRole('button', { name: 'Reset zoom' }).click();
    await page.getByLabel('Search functions').fill('');
  });

  await t.test('Compare: base range vs comparison range, deltas as the API computes them', async () => {
    await page.getByRole('button', { name: 'Compare…' }).click();
    // First drag sets the base (window A); the comparison stays the selected range (window B).
    await dragTimeline(page, 0.002, 0.05);
    await page.waitForFunction(() => location.hash.includes('bf='));
    const q = hashParams(page);
    const query = `base=${enc(KEY)}&baseFrom=${q.get('bf')}&baseTo=${q.get('bt')}&target=${enc(KEY)}&from=${q.get('from')}&to=${q.get('to')}`;
    const api = (await (await fetch(`${server.url}/api/diff?${query}`)).json()) as DiffResponse;
    assert.equal(api.base.samples, 12);
    assert.equal(api.target.samples, 10);
    const table = page.getByRole('region', { name: 'Diff table' });
    await table.locator('.symbols-row').first().waitFor();
    const rows = await table
      .locator('.symbols-row')
      .evaluateAll((els) =>
        els.map((e) => [
          e.querySelector('.sym-text')!.textContent,
          e.querySelector('.delta')!.textContent,
          e.querySelector('.diff-cell.base')!.textContent,
          e.querySelector('.diff-cell.target')!.textContent,
        ]),
      );
    const want = new Map(api.symbols.map((s) => [s.name, s.total / api.target.samples - s.baseTotal / api.base.samples]));
    assert.equal(rows.length, want.size);
    for (const [name, delta] of rows) {
      const d = want.get(name!)!;
      const pts = Math.abs(d * 100).toFixed(1);
      assert.equal(delta, pts === '0.0' ? '0.0 pp' : `${d > 0 ? '+' : '−'}${pts} pp`, `${name}'s change`);
    }
    // Sorted by change, largest growth first: parse (only in B) +50, leaf +30 … gc, walk shrank.
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['parse', 'leaf', 'main', 'idle', 'gc', 'walk'],
    );
    assert.deepEqual(rows[1].slice(1), ['+30.0 pp', '50.0%', '80.0%']);
    assert.equal(rows.at(-1)![1], '−20.0 pp');
    // Sort by change ascending: the largest shrink first.
    await table.getByRole('button', { name: /^Change/ }).click();
    assert.equal(await table.locator('.symbols-row .sym-text').first().innerText(), 'walk');
    // The diff flame graph: parse red (grew), gc blue (shrank), main grey.
    await page.waitForFunction(() => (window.__pilotlight?.diff?.rects().length ?? 0) > 3);
    const drawn = await page.evaluate(() => window.__pilotlight!.diff!.rects());
    const colour = (n: string): string => drawn.find((r) => r.name === n)!.color;
    assert.match(colour('parse'), /^hsl\(2 /);
    // gc: −16.7 pp, but of 12 and 10 samples that is within sampling noise: grey, marked so.
    assert.match(colour('gc'), /^hsl\(220 8% 80%\)/);
    assert.match(colour('main'), /^hsl\(220 8% 80%\)/);
    assert.match(await page.getByTestId('diff-noise').innerText(), /^Grey: changes within sampling noise at these counts/);
    const gcDelta = table
      .locator('.symbols-row')
      .filter({ has: page.locator('.sym-text', { hasText: /^gc$/ }) })
      .locator('.delta');
    assert.match((await gcDelta.getAttribute('class'))!, /\bnoise\b/);
    assert.match((await gcDelta.getAttribute('title'))!, /^Within sampling noise/);
    const parse = drawn.find((r) => r.name === 'parse')!;
    const box = (await page.locator('canvas[data-probe="diff"]').boundingBox())!;
    await page.mouse.move(box.x + parse.x + parse.w / 2, box.y + parse.y + parse.h / 2);
    const tip = await page.getByRole('tooltip').innerText();
    assert.match(tip, /Base\s+0 samples\s+0%/);
    assert.match(tip, /Comparison\s+5 samples\s+50\.0%/);
    assert.match(tip, /\+50\.0 pp/);
    await page.screenshot({ path: outputPath('web-diff.png') });
    await page.mouse.move(5, 5);
    // Search in the diff graph greys what does not match.
    await page.getByLabel('Search the diff').fill('leaf');
    await page.waitForFunction(() => (window.__pilotlight?.diff?.rects() ?? []).some((r) => r.highlighted));
    const searched = await page.evaluate(() => window.__pilotlight!.diff!.rects());
    assert.ok(searched.filter((r) => r.name === 'leaf').every((r) => r.highlighted));
    assert.ok(searched.filter((r) => r.name !== 'leaf').every((r) => !r.highlighted));
    await page.getByLabel('Search the diff').fill('');
  });

  await t.test('Compare with another workload; unnamed frames get a quiet note', async () => {
    await page.getByLabel('Base').selectOption(OTHER);
    await page.getByTestId('diff-summary').filter({ hasText: 'checkout' }).waitFor();
    await page.getByTestId('diff-summary').filter({ hasText: '11 samples' }).waitFor();
    await page.getByRole('button', { name: 'End comparison' }).click();
    await page.getByRole('region', { name: 'Flame graph' }).waitFor();
    assert.equal(await page.getByTestId('unsymbolized-note').count(), 0, 'inventory has every frame named');
    // With no range selected, Compare starts from the two halves of the data (at most the last
    // minute against the minute before): here window A against window B.
    const clear = page.getByRole('button', { name: 'Clear' });
    if (await clear.count()) await clear.click();
    await page.waitForFunction(() => !location.hash.includes('from='));
    await page.getByRole('button', { name: 'Compare…' }).click();
    await page.waitForFunction(() => location.hash.includes('bf=') && location.hash.includes('from='));
    await page
      .getByTestId('diff-summary')
      .filter({ hasText: /12 samples.*10 samples/ })
      .waitFor();
    await page.getByRole('button', { name: 'End comparison' }).click();
    await page.getByRole('region', { name: 'Flame graph' }).waitFor();
    await page.goto(`${server.url}/#/sources/${enc(OTHER)}`);
    const note = page.getByTestId('unsymbolized-note');
    await note.waitFor();
    assert.equal(
      (await note.innerText()).trim(),
      'Spent in code that could not be named: 45.5% of samples in libfoo.so, 9.09% of samples at bare addresses (no known binary).',
    );
  });

  await t.test('a slot with CPU and off-CPU data: a Profile type control picks one, kept in the URL', async () => {
    const WAITER = 'host/Service/waiter';
    const f = (name: string, kind = 'native', binary = 'waiter') => ({ name, kind, binary });
    const [main, serve, parse, render, read, poll] = [f('main'), f('serve'), f('parse'), f('render'), f('read'), f('poll')];
    const ms = (n: number) => n * 1_000_000;
    // CPU: 60 samples at 20 Hz (3 s of CPU); off-CPU: 1.5 s waiting in read, 0.5 s in epoll, 4 ms in a futex.
    const request = cpuAndOffCpuRequest(
      [
        { frames: [main, serve, parse], cpu: Array.from({ length: 40 }, (_, i) => i) },
        { frames: [main, serve, render], cpu: Array.from({ length: 20 }, (_, i) => i) },
        {
          frames: [main, serve, read, f('sys_read', 'kernel', 'vmlinux')],
          offCpu: [
            [1, ms(1000)],
            [2, ms(500)],
          ],
        },
        { frames: [main, poll, f('epoll_wait', 'kernel', 'vmlinux')], offCpu: [[3, ms(500)]] },
        { frames: [main, serve, f('futex_wait', 'kernel', 'vmlinux')], offCpu: [[4, ms(4)]] },
      ],
      { 'service.name': 'waiter' },
      BigInt(T_B) * 1_000_000n,
    );
    assert.equal((await fetch(`${server.url}/api/sources/${enc(WAITER)}/profiling`, { method: 'POST' })).status, 200);
    await server.send(request);

    // Where the slot holds one type (inventory: CPU only) nothing new is shown.
    await page.goto(`${server.url}/#/sources/${enc(KEY)}`);
    await page.getByRole('region', { name: 'Flame graph' }).waitFor();
    assert.equal(await page.getByRole('radiogroup', { name: 'Profile type' }).count(), 0);

    await page.goto(`${server.url}/#/sources/${enc(WAITER)}`);
    const picker = page.getByRole('radiogroup', { name: 'Profile type' });
    await picker.waitFor();
    assert.deepEqual(await picker.getByRole('radio').allInnerTexts(), ['CPU', 'Off-CPU']);
    assert.equal(await picker.getByRole('radio', { name: 'CPU', exact: true }).getAttribute('aria-checked'), 'true', 'CPU by default');
    await page.waitForFunction(() => window.__pilotlight?.flame?.rootTotal === 60);
    await waitRow(page, 'parse', `2.00 s ${pct(40 / 60)}`);

    await picker.getByRole('radio', { name: 'Off-CPU' }).click();
    await page.waitForFunction((total) => window.__pilotlight?.flame?.rootTotal === total, ms(2004));
    assert.equal(hashParams(page).get('type'), 'off_cpu', 'the type is in the URL');
    assert.equal(await picker.getByRole('radio', { name: 'Off-CPU' }).getAttribute('aria-checked'), 'true');
    // Off-CPU time reads as durations, like CPU time.
    await waitRow(page, 'read', `1.50 s ${pct(1500 / 2004)}`);
    assert.deepEqual(await tableRow(page, 'futex_wait'), { self: `4.0 ms ${pct(4 / 2004)}`, total: `4.0 ms ${pct(4 / 2004)}` });
    assert.match(await page.getByTestId('profile-summary').innerText(), /^Shown: 2\.00 s Off-CPU time/);
    const names = new Set((await rects(page)).map((r) => r.name));
    assert.ok(names.has('epoll_wait') && !names.has('parse'), 'the off-CPU stacks, not the CPU ones');
    assert.equal(await page.getByRole('link', { name: 'Download pprof' }).getAttribute('href'), `/api/sources/${enc(WAITER)}/profile.pb.gz?type=off_cpu`);
    const at = (await rects(page)).find((r) => r.name === 'read')!;
    const box = (await page.locator('canvas[data-probe="flame"]').boundingBox())!;
    await page.mouse.move(box.x + at.x + Math.min(at.w / 2, 40), box.y + at.y + at.h / 2);
    assert.match(await page.getByRole('tooltip').innerText(), /Total\s+1\.50 s\s+74\.9%/);
    await page.screenshot({ path: outputPath('web-profile-types.png') });
    await page.mouse.move(5, 5);

    // A copied link opens the same type; back returns to CPU.
    const link = page.url();
    const other = await context.newPage();
    await other.goto(link);
    await other.waitForFunction((total) => window.__pilotlight?.flame?.rootTotal === total, ms(2004));
    assert.equal(await other.getByRole('radiogroup', { name: 'Profile type' }).getByRole('radio', { name: 'Off-CPU' }).getAttribute('aria-checked'), 'true');
    await other.close();
    await page.goBack();
    await page.waitForFunction(() => window.__pilotlight?.flame?.rootTotal === 60);
    assert.equal(await picker.getByRole('radio', { name: 'CPU', exact: true }).getAttribute('aria-checked'), 'true');
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
  await context.close();
});
