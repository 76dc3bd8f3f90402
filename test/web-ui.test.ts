import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import type { Page } from 'playwright-core';
import { browserAndUi, outputPath } from './helpers/web.js';
import { inventoryRequest, otherSourcesRequest, XSS_NAME } from './helpers/web-fixtures.js';
import type { DrawnRect } from '../src/web/debug.js';

// The probe the app exposes on window (see src/web/debug.ts), read from the page.
async function rects(page: Page, probe = 'flame'): Promise<DrawnRect[]> {
  return page.evaluate((name) => window.__pilotlight?.[name]?.rects() ?? [], probe);
}

async function probe(page: Page, name = 'flame'): Promise<{ size: number; rootTotal: number; zoom: string; draws: number } | null> {
  return page.evaluate((n) => {
    const p = window.__pilotlight?.[n];
    return p ? { size: p.size, rootTotal: p.rootTotal, zoom: p.zoom, draws: p.draws } : null;
  }, name);
}

/** Whether the server holds a slot for the source, asked over the API rather than the page. */
async function slotActive(url: string, key: string): Promise<boolean | undefined> {
  const res = (await (await fetch(`${url}/api/sources`)).json()) as { sources: { key: string; profiling: { active: boolean } }[] };
  return res.sources.find((s) => s.key === key)?.profiling.active;
}

/** Page coordinates of the middle of a drawn frame. */
async function frameCenter(page: Page, name: string, probeName = 'flame'): Promise<{ x: number; y: number }> {
  const r = (await rects(page, probeName)).find((x) => x.name === name);
  assert.ok(r, `frame ${name} is drawn`);
  const box = await page.locator(`canvas[data-probe="${probeName}"]`).boundingBox();
  assert.ok(box);
  return { x: box.x + r.x + Math.min(r.w / 2, 40), y: box.y + r.y + r.h / 2 };
}

test('a user profiles a workload in the browser', { timeout: 180_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser: b, ui } = env;
  const server = ui;
  await server.send(inventoryRequest());
  await server.send(otherSourcesRequest());
  const context = await b.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.dismiss());

  await t.test('the Sources list shows every workload seen, filterable', async () => {
    await page.goto(server.url);
    await page.locator('tr.source-row', { hasText: 'inventory' }).waitFor();
    assert.equal(await page.locator('tr.source-row').count(), 3);
    await page.getByLabel('Filter sources').fill('shop');
    await page.waitForFunction(() => document.querySelectorAll('tr.source-row').length === 1);
    assert.match((await page.locator('tr.source-row').innerText()).replace(/\s+/g, ' ').trim(), /^checkout shop StatefulSet 0 cores \d+ s ago Off$/);
    await page.getByLabel('Filter sources').fill('');
    await page.screenshot({ path: outputPath('web-sources.png') });
  });

  await t.test('the drawer offers Enable Profiling, and an empty slot says what to check', async () => {
    await page.locator('tr.source-row', { hasText: 'inventory' }).click();
    const enable = page.getByRole('button', { name: 'Enable Profiling' });
    await enable.waitFor();
    assert.equal(await slotActive(server.url, 'default/Deployment/inventory'), false, 'opening the drawer opens no slot');
    await page.screenshot({ path: outputPath('web-enable.png') });
    await enable.click();
    await page.getByText('No profile samples yet').waitFor();
    assert.equal(await slotActive(server.url, 'default/Deployment/inventory'), true, 'Enable Profiling opened the slot');
    await page.screenshot({ path: outputPath('web-empty.png') });
  });

  await t.test('data arriving after Enable is drawn as a flame graph, live', async () => {
    await server.send(inventoryRequest());
    await page.waitForFunction(() => (window.__pilotlight?.flame?.rects().length ?? 0) > 5, undefined, { timeout: 15_000 });
    const drawn = await rects(page);
    const names = new Set(drawn.map((r) => r.name));
    for (const n of ['all', 'main', 'serve', 'handle', 'parse', 'render', 'idle', 'sys_read']) assert.ok(names.has(n), `${n} drawn`);
    const all = drawn.find((r) => r.name === 'all')!;
    const main = drawn.find((r) => r.name === 'main')!;
    assert.equal(main.w, all.w, 'main holds every sample');
    const idle = drawn.find((r) => r.name === 'idle')!;
    assert.ok(Math.abs(idle.w / all.w - 0.35) < 0.01, 'idle is 35% wide');
    // Real pixels: the middle of `main` is painted in its colour, not left blank.
    const pixel = await page.evaluate(
      ([x, y]) => {
        const c = document.querySelector('canvas.flame-canvas:not(.flame-overlay)') as HTMLCanvasElement;
        const d = c.getContext('2d')!.getImageData(Math.round(x * devicePixelRatio), Math.round(y * devicePixelRatio), 1, 1).data;
        return [d[0], d[1], d[2], d[3]];
      },
      [main.x + main.w / 2, main.y + 4],
    );
    assert.equal(pixel[3], 255, 'opaque');
    assert.ok(!(pixel[0] > 250 && pixel[1] > 250 && pixel[2] > 250), `painted, got ${pixel}`);
    await page
      .getByTestId('updated-ago')
      .filter({ hasText: /updated \d+ s ago/ })
      .waitFor();
    // The buffer status follows the slot's event stream, not only the slower Sources poll.
    await page
      .getByTestId('slot-status')
      .filter({ hasText: /100 samples buffered/ })
      .waitFor({ timeout: 5_000 });
    await page.screenshot({ path: outputPath('web-flame.png') });
  });

  await t.test('hovering a frame shows its numbers, file:line and binary', async () => {
    const at = await frameCenter(page, 'parse');
    await page.mouse.move(at.x, at.y);
    const tip = page.getByRole('tooltip');
    await tip.waitFor();
    const text = await tip.innerText();
    assert.match(text, /parse/);
    assert.match(text, /src\/parse\.c:31/);
    assert.match(text, /inventory/);
    assert.match(text, /Total\s+300 ms · 30 samples\s+30\.0%/);
    await page.screenshot({ path: outputPath('web-tooltip.png') });
  });

  await t.test('clicking a frame zooms into it, the breadcrumb zooms back out', async () => {
    const at = await frameCenter(page, 'handle');
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'handle');
    // The zoom is the chart's state at once and drawn on the next animation frame, which on a
    // busy machine may come after the probe says so: wait (up to the timeout) for a draw in which
    // the zoomed frame spans the chart, then check what that draw holds.
    await page.waitForFunction(() => {
      const r = window.__pilotlight?.flame?.rects() ?? [];
      const all = r.find((x) => x.name === 'all');
      return all !== undefined && r.some((x) => x.name === 'handle' && x.w === all.w);
    });
    const drawn = await rects(page);
    const all = drawn.find((r) => r.name === 'all')!;
    const handle = drawn.find((r) => r.name === 'handle')!;
    assert.equal(handle.w, all.w, 'the zoomed frame fills the width');
    assert.ok(!drawn.some((r) => r.name === 'idle'), 'frames outside the zoom are not drawn');
    await page.getByRole('navigation', { name: 'Zoom path' }).getByRole('button', { name: 'serve' }).waitFor();
    await page.screenshot({ path: outputPath('web-zoomed.png') });
  });

  await t.test('search highlights matches and shows their share', async () => {
    await page.getByLabel('Search functions').fill('parse');
    await page.getByTestId('match-share').filter({ hasText: '35.0%' }).waitFor();
    const drawn = await rects(page);
    assert.ok(drawn.filter((r) => r.name === 'parse').every((r) => r.highlighted));
    assert.ok(drawn.filter((r) => r.name !== 'parse').every((r) => !r.highlighted));
    const share = await page.getByTestId('match-share').innerText();
    assert.match(share, /2 frames · 35\.0% of total \(350 ms\) · 62\.5% of zoomed/);
    await page.screenshot({ path: outputPath('web-search.png') });
  });

  await t.test('live: new data changes the totals without a reload, zoom and search stay', async () => {
    const before = (await probe(page))!;
    await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 1));
    await server.send(inventoryRequest(2));
    await page.waitForFunction((t0) => (window.__pilotlight?.flame?.rootTotal ?? 0) > t0, before.rootTotal, { timeout: 15_000 });
    const after = (await probe(page))!;
    assert.equal(after.rootTotal, before.rootTotal * 3);
    assert.equal(after.zoom, 'handle', 'zoom kept');
    assert.equal(await page.getByLabel('Search functions').inputValue(), 'parse', 'search kept');
    assert.equal(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker), 1, 'no reload');
    await page.getByRole('button', { name: 'Reset zoom' }).click();
    await page.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'all');
    await page.getByLabel('Search functions').fill('');
  });

  await t.test('the symbols table sorts by Total, and a row highlights its function', async () => {
    const table = page.getByRole('region', { name: 'Symbols table' });
    await table.getByRole('button', { name: /^Total/ }).click();
    const names = await table.locator('.symbols-row .sym-text').allInnerTexts();
    assert.deepEqual(names.slice(0, 4), ['main', 'serve', 'handle', 'idle']);
    await table.getByRole('button', { name: /^Total/ }).click();
    const asc = await table.locator('.symbols-row .sym-text').allInnerTexts();
    assert.equal(asc.at(-1), 'main', 'second click sorts ascending');
    await table.getByRole('button', { name: /^Total/ }).click();
    await table.locator('.symbols-row', { hasText: 'render' }).click();
    await page.getByTestId('selected-chip').waitFor();
    await page.waitForFunction(() => window.__pilotlight?.flame?.rects().some((r) => r.highlighted && r.name === 'render'));
    const drawn = await rects(page);
    assert.ok(drawn.filter((r) => r.highlighted).every((r) => r.name === 'render'));
    await page.screenshot({ path: outputPath('web-table.png') });
  });

  await t.test('view modes show the flame graph, the table, or both', async () => {
    const flame = page.getByRole('region', { name: 'Flame graph' });
    const table = page.getByRole('region', { name: 'Symbols table' });
    await page.getByRole('tab', { name: 'Flame graph' }).click();
    await table.waitFor({ state: 'detached' });
    assert.equal(await flame.count(), 1);
    await page.waitForFunction(() => window.__pilotlight?.flame?.rects().some((r) => r.highlighted && r.name === 'render'));
    await page.screenshot({ path: outputPath('web-mode-flame.png') });
    await page.getByRole('tab', { name: 'Table' }).click();
    await flame.waitFor({ state: 'detached' });
    assert.equal(await table.count(), 1);
    assert.equal(await table.locator('.symbols-row.selected .sym-text').innerText(), 'render', 'the selection is kept across modes');
    await page.screenshot({ path: outputPath('web-mode-table.png') });
    await page.getByRole('tab', { name: 'Both' }).click();
    await flame.waitFor();
  });

  await t.test('the sandwich view shows callers above and callees below', async () => {
    await page.getByRole('tab', { name: 'Sandwich' }).click();
    await page.waitForFunction(() => (window.__pilotlight?.callees?.rects().length ?? 0) > 0 && (window.__pilotlight?.callers?.rects().length ?? 0) > 0);
    const callees = (await rects(page, 'callees')).map((r) => r.name);
    const callers = (await rects(page, 'callers')).map((r) => r.name);
    assert.ok(callees.includes('parse'), 'render calls parse');
    assert.ok(callers.includes('handle') && callers.includes('main'));
    await page.screenshot({ path: outputPath('web-sandwich.png') });
    await page.getByRole('tab', { name: 'Both' }).click();
  });

  await t.test('keyboard: Enter on a focused table row opens its sandwich, and the link carries the function', async () => {
    const table = page.getByRole('region', { name: 'Symbols table' });
    const row = table.locator('.symbols-row').filter({ has: page.locator('.sym-text', { hasText: /^handle$/ }) });
    await row.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.includes('mode=sandwich') && location.hash.includes('fn='));
    await page.waitForFunction(() => (window.__pilotlight?.callers?.rects() ?? []).some((r) => r.name === 'serve'));
    const callees = (await rects(page, 'callees')).map((r) => r.name);
    assert.ok(callees.includes('parse') && callees.includes('render'), `handle calls parse and render: ${callees.join(', ')}`);
    // The copied link opens the same sandwich in a new tab.
    const other = await context.newPage();
    await other.goto(page.url());
    await other.waitForFunction(() => (window.__pilotlight?.callers?.rects() ?? []).some((r) => r.name === 'serve'));
    assert.ok((await rects(other, 'callees')).some((r) => r.name === 'render'));
    await other.close();
    await page.getByRole('tab', { name: 'Both' }).click();
  });

  await t.test('Download pprof gives a gzip profile.proto with every sample', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download pprof' }).click()]);
    const file = outputPath('web-download.pb.gz');
    await download.saveAs(file);
    const prof = PprofProfile.decode(gunzipSync(await readFile(file)));
    const total = prof.sample.reduce((a, s) => a + Number(s.value[0]), 0);
    assert.equal(total, 300, '100 + 200 samples');
  });

  await t.test('profile text is shown as text, never run', async () => {
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    const table = page.getByRole('region', { name: 'Symbols table' });
    await table.getByLabel('Filter symbols').fill('onerror');
    assert.equal(await table.locator('.symbols-row .sym-text').first().textContent(), XSS_NAME);
    await table.getByLabel('Filter symbols').fill('');
    const at = await frameCenter(page, XSS_NAME);
    await page.mouse.move(at.x, at.y);
    await page.getByRole('tooltip').filter({ hasText: XSS_NAME }).waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    await page.mouse.move(5, 5);
  });

  await t.test('closing the drawer keeps the slot; reopening shows the same data', async () => {
    const before = (await probe(page))!;
    await page.getByRole('button', { name: 'Close' }).click();
    await page.locator('tr.source-row', { hasText: 'inventory' }).filter({ hasText: 'Profiling' }).waitFor();
    assert.equal(await slotActive(server.url, 'default/Deployment/inventory'), true, 'closing the drawer keeps the slot');
    await page.screenshot({ path: outputPath('web-sources-profiling.png') });
    await page.locator('tr.source-row', { hasText: 'inventory' }).click();
    await page.waitForFunction((t0) => window.__pilotlight?.flame?.rootTotal === t0, before.rootTotal);
  });

  await t.test('keyboard: Enter on a source opens the drawer with focus inside, Tab stays in it, Escape gives focus back to the row', async () => {
    await page.getByRole('button', { name: 'Close' }).click();
    const row = page.locator('tr.source-row', { hasText: 'inventory' });
    await row.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const focusInside = (): Promise<boolean> => dialog.evaluate((d) => d.contains(document.activeElement));
    assert.ok(await focusInside(), 'focus moved into the drawer');
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press(i % 2 ? 'Tab' : 'Shift+Tab');
      if (i % 7 === 0) assert.ok(await focusInside(), `still inside after ${i + 1} presses`);
    }
    for (let i = 0; i < 60; i++) await page.keyboard.press('Tab');
    assert.ok(await focusInside(), 'Tab never walks out to the page behind');
    await page.getByRole('button', { name: 'Close' }).focus();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.ok(await row.evaluate((r) => r === document.activeElement), 'focus is back on the row');
    await row.click();
    await dialog.waitFor();
  });

  await t.test('with Live off the graph holds still until Refresh', async () => {
    // The drawer was just reopened: wait for its graph before reading it.
    await page.waitForFunction(() => (window.__pilotlight?.flame?.rootTotal ?? 0) > 0);
    const before = (await probe(page))!;
    await page.getByLabel('Live').uncheck();
    try {
      await server.send(inventoryRequest());
      // The buffer status (from the Sources poll) sees the new samples; the graph must not.
      await page
        .getByTestId('slot-status')
        .filter({ hasText: /400 samples buffered/ })
        .waitFor({ timeout: 10_000 });
      // Longer than a live refetch takes to follow new data (at most a second apart, plus the fetch).
      await page.waitForTimeout(2500);
      assert.equal((await probe(page))!.rootTotal, before.rootTotal, 'no refetch while Live is off');
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForFunction((t0) => (window.__pilotlight?.flame?.rootTotal ?? 0) > t0, before.rootTotal);
    } finally {
      // Live stays on for the tests after this one, whatever happened here.
      await page.getByLabel('Live').check();
    }
  });

  await t.test('a hovered frame keeps its tooltip through live updates while the mouse is still', async () => {
    const at = await frameCenter(page, 'parse');
    await page.mouse.move(at.x, at.y);
    const tip = page.getByRole('tooltip').filter({ hasText: 'parse' });
    await tip.waitFor();
    const samplesIn = async (): Promise<number> => Number(/Total\s+\S+ \S+ · (\d+) samples/.exec(await tip.innerText())?.[1]);
    const parseBefore = await samplesIn();
    const before = (await probe(page))!;
    await server.send(inventoryRequest());
    await page.waitForFunction((t0) => (window.__pilotlight?.flame?.rootTotal ?? 0) > t0, before.rootTotal);
    // 3 s of Live with the mouse still: the tooltip is found again on every new graph.
    await page.waitForTimeout(3000);
    assert.equal(await tip.count(), 1, 'the tooltip is still there');
    assert.equal(await samplesIn(), parseBefore + 30, 'with the new numbers (30 more samples of parse)');
    await page.mouse.move(5, 5);
    await tip.waitFor({ state: 'detached' });
  });

  await t.test('Disable asks first: Keep profiling keeps the slot, confirming closes it and offers Enable again', async () => {
    await page.getByRole('button', { name: 'Disable…' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Disable profiling' });
    assert.match(await confirm.innerText(), /500 buffered samples are dropped/);
    await page.screenshot({ path: outputPath('web-disable-confirm.png') });
    await confirm.getByRole('button', { name: 'Keep profiling' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.equal(await slotActive(server.url, 'default/Deployment/inventory'), true, 'nothing dropped without the confirmation');
    await page.getByRole('button', { name: 'Disable…' }).click();
    await page.getByRole('button', { name: 'Disable and drop samples' }).click();
    await page.getByRole('button', { name: 'Enable Profiling' }).waitFor();
    assert.equal(await slotActive(server.url, 'default/Deployment/inventory'), false);
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
  await context.close();
});
