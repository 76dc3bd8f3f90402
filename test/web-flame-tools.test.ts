import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { browserAndUi, outputPath } from './helpers/web.js';
import { K8S_INVENTORY, requestFromFolded } from './helpers/fixtures.js';
import { XSS_NAME } from './helpers/web-fixtures.js';
import type { DrawnRect } from '../src/web/debug.js';

const KEY = 'default/Deployment/inventory';
const enc = encodeURIComponent;

/** Each function's binary and frame type: Node.js under libuv, its JS frames, a kernel frame. */
const FRAMES: Record<string, [binary: string, kind: string]> = {
  main: ['shop', 'native'],
  uv_run: ['libuv.so.1', 'native'],
  uv__io_poll: ['libuv.so.1', 'native'],
  uv__run_timers: ['libuv.so.1', 'native'],
  handle: ['', 'v8js'],
  parse: ['', 'v8js'],
  render: ['', 'v8js'],
  tick: ['shop', 'native'],
  walk: ['', 'v8js'],
  leaf: ['', 'v8js'],
  idle: ['shop', 'native'],
  gc_thread: ['shop', 'native'],
  gc: ['shop', 'native'],
  a_kworker: ['vmlinux', 'kernel'],
  sys_read: ['vmlinux', 'kernel'],
  [XSS_NAME]: ['shop', 'native'],
};

// 116 samples. uv__io_poll: self 4, total 59; handle under it: self 10, total 55. walk: 12 samples
// directly under main (recursing), 5 more under tick: 17 through it. Four top-level frames.
const STACKS = `
main;uv_run;uv__io_poll;handle;parse 30
main;uv_run;uv__io_poll;handle 10
main;uv_run;uv__io_poll;handle;render 15
main;uv_run;uv__io_poll 4
main;uv_run;uv__run_timers;tick;walk;leaf 5
main;uv_run;uv__run_timers 3
main;walk;walk;walk;leaf 6
main;walk;leaf 4
main;walk 2
main;idle 25
gc_thread;gc 7
a_kworker;sys_read 3
${XSS_NAME} 2
`;

function request() {
  const folded = STACKS.trim()
    .split('\n')
    .map((line) => {
      const sp = line.lastIndexOf(' ');
      const frames = line
        .slice(0, sp)
        .split(';')
        .map((n) => `${n}@${FRAMES[n][0]}#${FRAMES[n][1]}`);
      return `${frames.join(';')} ${line.slice(sp + 1)}`;
    })
    .join('\n');
  return requestFromFolded([{ resource: K8S_INVENTORY, folded, periodNanos: 10_000_000, timeUnixNano: BigInt(Date.now()) * 1_000_000n }]);
}

/** The frame key the UI names a frame by (name, file, binary, kind). */
const keyOf = (name: string): string => `${name}\0\0${FRAMES[name][0]}\0${FRAMES[name][1]}`;

async function rects(page: Page, probe = 'flame'): Promise<DrawnRect[]> {
  return page.evaluate((name) => window.__pilotlight?.[name]?.rects() ?? [], probe);
}

/** The drawn frame of this name (the widest, when it is drawn more than once). */
async function rect(page: Page, name: string): Promise<DrawnRect> {
  const all = (await rects(page)).filter((r) => r.name === name).sort((a, b) => b.w - a.w);
  assert.ok(all.length > 0, `${name} is drawn`);
  return all[0];
}

async function rightClick(page: Page, name: string): Promise<void> {
  const r = await rect(page, name);
  const box = (await page.locator('canvas[data-probe="flame"]').boundingBox())!;
  await page.mouse.click(box.x + r.x + Math.min(r.w / 2, 40), box.y + r.y + r.h / 2, { button: 'right' });
}

/** The names of the row of frames at a depth (0 = the root), left to right. */
async function row(page: Page, depth: number): Promise<string[]> {
  return (await rects(page))
    .filter((r) => Math.round(r.y / r.h) === depth)
    .sort((a, b) => a.x - b.x)
    .map((r) => r.name);
}

function hashParams(page: Page): URLSearchParams {
  const h = new URL(page.url()).hash;
  return new URLSearchParams(h.includes('?') ? h.slice(h.indexOf('?') + 1) : '');
}

async function probe(page: Page): Promise<{ zoom: string; root: string; rootTotal: number; focused: string | null }> {
  return page.evaluate(() => {
    const p = window.__pilotlight!.flame!;
    return { zoom: p.zoom, root: p.root, rootTotal: p.rootTotal, focused: p.focused };
  });
}

async function waitFlame(page: Page, check: string, arg?: unknown): Promise<void> {
  await page.waitForFunction(new Function('arg', `const p = window.__pilotlight?.flame; return !!p && (${check});`) as (arg: unknown) => boolean, arg, {
    timeout: 10_000,
  });
}

test('flame graph tools: frame menu, hide, focus, recursion, left-heavy, legend, keyboard', { timeout: 180_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser: b, ui } = env;
  const server = ui;
  assert.equal((await fetch(`${server.url}/api/sources/${enc(KEY)}/profiling`, { method: 'POST' })).status, 200);
  await server.send(request());
  const context = await b.newContext({ viewport: { width: 1440, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${server.url}/#/sources/${enc(KEY)}?mode=flame`);
  await waitFlame(page, 'p.rootTotal === 116 && p.rects().length > 10');

  await t.test('right-click opens the frame menu; Hide this frame merges it into its parent, in the URL', async () => {
    const before = await rect(page, 'uv__io_poll');
    assert.deepEqual([before.total, before.self], [59, 4]);
    assert.deepEqual([(await rect(page, 'handle')).self, (await rect(page, 'handle')).total], [10, 55]);
    await rightClick(page, 'handle');
    const menu = page.getByRole('menu', { name: 'Frame handle' });
    await menu.waitFor();
    assert.deepEqual(await menu.getByRole('menuitem').allInnerTexts(), [
      'Zoom',
      'Focus on this frame',
      'Sandwich',
      'Hide this frame',
      'Hide frames matching…',
      'Copy name',
    ]);
    assert.equal(await menu.getByRole('menuitemcheckbox', { name: 'Collapse recursion' }).getAttribute('aria-checked'), 'false');
    await page.waitForFunction(() => document.activeElement?.textContent === 'Zoom');
    assert.equal(await page.getByRole('tooltip').count(), 0, 'no tooltip over the menu');
    await page.screenshot({ path: outputPath('web-flame-menu.png') });
    await menu.getByRole('menuitem', { name: 'Hide this frame' }).click();
    await menu.waitFor({ state: 'detached' });
    await waitFlame(page, '!p.rects().some((r) => r.name === "handle")');
    assert.deepEqual(JSON.parse(hashParams(page).get('hide')!), [{ frame: keyOf('handle') }]);
    const after = await rect(page, 'uv__io_poll');
    assert.equal(after.self, before.self + 10, "the parent's self grew by exactly handle's self");
    assert.equal(after.total, before.total);
    assert.equal((await probe(page)).rootTotal, 116, 'no sample lost');
    // handle's callees are uv__io_poll's now.
    assert.deepEqual((await row(page, 4)).slice(0, 2), ['parse', 'render']);
    const chip = page.getByTestId('hide-chip');
    assert.equal((await chip.innerText()).replace(/\s+/g, ' ').trim(), 'Hidden handle ×');
    await page.screenshot({ path: outputPath('web-flame-hidden.png') });
    // A link reproduces the view.
    const other = await context.newPage();
    await other.goto(page.url());
    await waitFlame(other, 'p.rootTotal === 116 && p.rects().some((r) => r.name === "uv__io_poll" && r.self === 14)');
    assert.ok(!(await rects(other)).some((r) => r.name === 'handle'));
    await other.close();
    // × undoes it.
    await chip.getByRole('button', { name: 'Show handle again' }).click();
    await waitFlame(page, 'p.rects().some((r) => r.name === "handle")');
    assert.equal(hashParams(page).get('hide'), null);
    assert.equal((await rect(page, 'uv__io_poll')).self, 4);
  });

  await t.test('hide frames matching a pattern: /regex/ as the search reads it, an invalid one says why', async () => {
    await rightClick(page, 'uv_run');
    await page.getByRole('menuitem', { name: 'Hide frames matching…' }).click();
    const form = page.getByRole('dialog', { name: 'Hide frames matching a pattern' });
    const input = form.getByLabel('Hide pattern');
    assert.equal(await input.inputValue(), 'uv_run', 'starts from the frame name');
    await input.fill('/uv(/');
    await form.getByText(/invalid regular expression \/uv\(\/: Unterminated group/).waitFor();
    assert.equal(await form.getByRole('button', { name: 'Hide' }).isDisabled(), true);
    await input.fill('/^uv_/');
    await form.getByText('matches 3 functions in this graph').waitFor();
    await input.press('Enter');
    await form.waitFor({ state: 'detached' });
    await waitFlame(page, '!p.rects().some((r) => r.name.startsWith("uv_"))');
    assert.deepEqual(JSON.parse(hashParams(page).get('hide')!), [{ pattern: '/^uv_/' }]);
    // uv_run, uv__io_poll and uv__run_timers are main's: their self (4 + 3) is main's now.
    const main = await rect(page, 'main');
    assert.deepEqual([main.total, main.self], [104, 7]);
    assert.deepEqual(await row(page, 2), ['sys_read', 'gc', 'handle', 'idle', 'tick', 'walk']);
    assert.equal((await probe(page)).rootTotal, 116);
    assert.match(await page.getByTestId('hide-chip').innerText(), /Hidden\s+\/\^uv_\/ · 3 functions/);
    await page.getByRole('button', { name: 'Show /^uv_/ again' }).click();
    await waitFlame(page, 'p.rects().some((r) => r.name === "uv_run")');
  });

  await t.test('focus roots the graph at a function: every sample through it, merged; recursion collapses', async () => {
    await rightClick(page, 'walk');
    await page.getByRole('menuitem', { name: 'Focus on this frame' }).click();
    await waitFlame(page, 'p.root === "walk"');
    assert.equal(hashParams(page).get('focus'), keyOf('walk'));
    assert.equal((await probe(page)).rootTotal, 17, '12 under main and 5 under tick');
    assert.deepEqual(await row(page, 0), ['walk']);
    assert.deepEqual(await row(page, 1), ['leaf', 'walk']);
    assert.equal((await rect(page, 'leaf')).total, 9, 'walk;leaf: 4 under main and 5 under tick');
    assert.match(await page.getByTestId('focus-chip').innerText(), /^Focus\s+walk\s+14\.7% of all/);
    // Collapse recursion from the menu: walk;walk;walk;leaf joins walk;leaf.
    await rightClick(page, 'walk');
    await page.getByRole('menuitemcheckbox', { name: 'Collapse recursion' }).click();
    await waitFlame(page, 'p.rects().length === 2');
    assert.equal(hashParams(page).get('rec'), '1');
    assert.deepEqual(
      (await rects(page)).map((r) => [r.name, r.total, r.self]),
      [
        ['walk', 17, 2],
        ['leaf', 15, 15],
      ],
    );
    await page.getByTestId('rec-chip').waitFor();
    await page.screenshot({ path: outputPath('web-flame-focused.png') });
    const other = await context.newPage();
    await other.goto(page.url());
    await waitFlame(other, 'p.root === "walk" && p.rootTotal === 17 && p.rects().length === 2');
    // A link focused on a function the profile does not have says so, with the chip to undo it.
    await other.goto(page.url().replace(/focus=[^&]+/, `focus=${enc('gone\0\0\0native')}`));
    await other.getByTestId('focus-empty').filter({ hasText: 'gone is not in this profile' }).waitFor();
    await other.getByRole('button', { name: 'Remove focus on gone' }).click();
    await waitFlame(other, 'p.root === "all" && p.rootTotal === 116');
    await other.close();
    await page.getByRole('button', { name: 'Show all' }).click();
    await waitFlame(page, 'p.root === "all" && p.rootTotal === 116');
    assert.equal(hashParams(page).get('focus'), null);
    assert.equal(hashParams(page).get('rec'), null);
  });

  await t.test('left-heavy orders every row largest first, in the URL', async () => {
    assert.deepEqual(await row(page, 1), [XSS_NAME, 'a_kworker', 'gc_thread', 'main'], 'by name');
    const toggle = page.getByRole('button', { name: 'Left-heavy' });
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
    await toggle.click();
    await page.waitForFunction(() => location.hash.includes('heavy=1'));
    await waitFlame(page, 'p.rects().filter((r) => r.y === r.h).sort((a, b) => a.x - b.x)[0].name === "main"');
    assert.deepEqual(await row(page, 1), ['main', 'gc_thread', 'a_kworker', XSS_NAME]);
    assert.deepEqual(await row(page, 2), ['uv_run', 'idle', 'walk', 'gc', 'sys_read']);
    assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
    await page.screenshot({ path: outputPath('web-flame-left-heavy.png') });
    await toggle.click();
    await waitFlame(
      page,
      'p.rects().filter((r) => r.y === r.h).sort((a, b) => a.x - b.x)[0].name === "a_kworker" || p.rects().filter((r) => r.y === r.h).sort((a, b) => a.x - b.x)[1]?.name === "a_kworker"',
    );
    assert.ok(!hashParams(page).has('heavy'));
  });

  await t.test('the legend names the colour of each frame type drawn, in the renderer’s colours', async () => {
    const legend = page.getByRole('list', { name: 'Frame colours by type' });
    assert.deepEqual(await legend.locator('li').allInnerTexts(), ['kernel', 'native', 'JS (v8js)']);
    const shades = async (kind: string): Promise<string[]> => ((await legend.locator(`li[data-kind="${kind}"]`).getAttribute('data-shades')) ?? '').split('|');
    const drawn = await rects(page);
    for (const [kind, names] of [
      ['v8js', ['handle', 'parse', 'render', 'walk', 'leaf']],
      ['native', ['main', 'uv_run', 'idle', 'gc']],
      ['kernel', ['a_kworker', 'sys_read']],
    ] as const) {
      const s = await shades(kind);
      for (const n of names) for (const r of drawn.filter((x) => x.name === n)) assert.ok(s.includes(r.color), `${n} (${r.color}) is in the ${kind} swatch`);
    }
  });

  await t.test('profile text in the menu and the chips is text', async () => {
    await rightClick(page, XSS_NAME);
    const menu = page.getByRole('menu', { name: `Frame ${XSS_NAME}` });
    await menu.waitFor();
    assert.equal(await menu.locator('.frame-menu-title').textContent(), XSS_NAME);
    await menu.getByRole('menuitem', { name: 'Copy name' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), XSS_NAME, 'Copy name put the name on the clipboard');
    await rightClick(page, XSS_NAME);
    await page.getByRole('menuitem', { name: 'Hide this frame' }).click();
    await page.getByTestId('hide-chip').locator('strong', { hasText: XSS_NAME }).waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    await page.getByRole('button', { name: `Show ${XSS_NAME} again` }).click();
  });

  await t.test('keyboard only: focus the graph, arrows move, Enter zooms, Escape zooms out, the menu opens Sandwich', async () => {
    // A fresh page: no frame picked by the mouse yet.
    await page.reload();
    await waitFlame(page, 'p.rootTotal === 116 && p.rects().length > 10');
    // Tab from the search box into the graph.
    await page.getByLabel('Search functions').focus();
    const onCanvas = (): Promise<boolean> => page.evaluate(() => document.activeElement?.getAttribute('data-probe') === 'flame');
    for (let i = 0; i < 10 && !(await onCanvas()); i++) await page.keyboard.press('Tab');
    assert.ok(await onCanvas(), 'Tab reaches the graph');
    await waitFlame(page, 'p.focused === "all"');
    await page.getByRole('tooltip').filter({ hasText: 'all' }).waitFor();
    const press = async (key: string, focused: string): Promise<void> => {
      await page.keyboard.press(key);
      await waitFlame(page, 'p.focused === arg', focused);
    };
    await press('ArrowDown', 'main');
    await press('ArrowDown', 'uv_run');
    await press('ArrowDown', 'uv__io_poll');
    await press('ArrowRight', 'uv__run_timers');
    await press('ArrowLeft', 'uv__io_poll');
    await press('ArrowUp', 'uv_run');
    const tip = page.getByRole('tooltip');
    await tip.filter({ hasText: 'uv_run' }).waitFor();
    assert.match(await tip.innerText(), /Total\s+670 ms · 67 samples\s+57\.8%/);
    await page.screenshot({ path: outputPath('web-flame-keyboard.png') });
    await page.keyboard.press('Enter');
    await waitFlame(page, 'p.zoom === "uv_run"');
    assert.match(hashParams(page).get('zoom') ?? '', /uv_run/);
    await press('ArrowDown', 'uv__io_poll');
    await page.keyboard.press('Enter');
    await waitFlame(page, 'p.zoom === "uv__io_poll"');
    // Escape zooms out one level at a time, and the drawer stays open.
    await page.keyboard.press('Escape');
    await waitFlame(page, 'p.zoom === "uv_run"');
    await page.keyboard.press('Escape');
    await waitFlame(page, 'p.zoom === "main"');
    await page.keyboard.press('Escape');
    await waitFlame(page, 'p.zoom === "all"');
    assert.equal(await page.getByRole('dialog').count(), 1, 'the drawer is still open');
    // `/` goes to the search box.
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Search functions');
    await page.keyboard.press('Shift+Tab');
    for (let i = 0; i < 10 && !(await onCanvas()); i++) await page.keyboard.press('Tab');
    // Back in the graph, the keyboard is on the frame it was on.
    await waitFlame(page, 'p.focused === "uv__io_poll"');
    // The menu from the keyboard: Escape closes it and gives the keyboard back to the graph, zoom and drawer untouched.
    await page.keyboard.press('Shift+F10');
    const menu = page.getByRole('menu', { name: 'Frame uv__io_poll' });
    await menu.waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Sandwich');
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    assert.ok(await onCanvas(), 'the keyboard is back on the graph');
    assert.equal(await page.getByRole('dialog').count(), 1, 'the menu took the Escape, not the drawer');
    assert.equal((await probe(page)).zoom, 'all');
    await page.keyboard.press('Shift+F10');
    await menu.waitFor();
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Copy name');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.includes('mode=sandwich'));
    assert.equal(hashParams(page).get('fn'), keyOf('uv__io_poll'));
    await page.waitForFunction(() => (window.__pilotlight?.callers?.rects() ?? []).some((r) => r.name === 'uv_run'));
    assert.ok((await rects(page, 'callees')).some((r) => r.name === 'handle'));
  });

  await t.test('Escape in the graph, not zoomed, closes the drawer as elsewhere', async () => {
    await page.getByRole('tab', { name: 'Flame graph' }).click();
    await waitFlame(page, 'p.rootTotal === 116');
    await page.locator('canvas[data-probe="flame"]').focus();
    await page.keyboard.press('ArrowDown');
    await waitFlame(page, 'p.focused === "main"');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
  await context.close();
});
