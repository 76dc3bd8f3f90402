import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestBuilder } from '../src/otlp/builder.js';
import { browserAndUi, outputPath } from './helpers/web.js';

const KEY = 'shop/Deployment/checkout';
const HOT = 'v8::internal::Heap::CollectGarbage(v8::internal::AllocationSpace)';
const OWN = 'CollectGarbage(v8::internal::AllocationSpace)';

/** Long C++ and Java names, as real services have them; HOT has the most self time. */
function longNamesRequest() {
  const b = new RequestBuilder();
  const p = b.profile(
    { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout' },
    { periodNanos: 50_000_000, timeUnixNano: BigInt(Date.now()) * 1_000_000n, durationNano: 1_000_000_000n },
  );
  const main = { name: 'main', binary: '/usr/bin/node' };
  const start = { name: 'node::Start(int, char**)', binary: '/usr/bin/node' };
  const java = { name: 'com.example.shop.checkout.pricing.DiscountEngine.applyDiscounts', binary: '[anon]', kind: 'jvm' };
  b.addSample(p, b.stackOfFrames([main, start, { name: HOT, binary: '/usr/bin/node' }]), { value: 40 });
  b.addSample(p, b.stackOfFrames([main, start, java]), { value: 25 });
  b.addSample(p, b.stackOfFrames([main, start]), { value: 5 });
  return b.build();
}

test('Both mode gives names room: the hot function keeps its own name at 1000×700 and 1440×900', { timeout: 120_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser: b, ui } = env;
  const server = ui;
  await fetch(`${server.url}/api/sources/${encodeURIComponent(KEY)}/profiling`, { method: 'POST' });
  await server.send(longNamesRequest());
  for (const [width, height] of [
    [1000, 700],
    [1440, 900],
  ] as const) {
    const context = await b.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    await page.goto(`${server.url}/#/sources/${encodeURIComponent(KEY)}?mode=both`);
    const table = page.getByRole('region', { name: 'Symbols table' });
    const top = table.locator('.symbols-row').first();
    await top.waitFor();
    // The row with the most self time: at 1000×700 (table over graph) its whole name shows;
    // wider, beside the graph, the namespaces in front give way first and the function's own
    // name stays, cut (if at all) only in its argument list.
    const own = top.locator('.sym-own');
    assert.equal(await own.textContent(), OWN);
    const widths = await top.locator('.sym-text').evaluate((el) => {
      const [prefix, ownEl] = [el.querySelector('.sym-prefix') as HTMLElement, el.querySelector('.sym-own') as HTMLElement];
      const probe = document.createElement('span');
      probe.textContent = 'CollectGarbage(';
      ownEl.appendChild(probe);
      const fnWidth = probe.getBoundingClientRect().width;
      probe.remove();
      return { prefix: [prefix.scrollWidth, prefix.clientWidth], own: [ownEl.scrollWidth, ownEl.clientWidth], fnWidth };
    });
    if (width === 1000) {
      assert.ok(widths.prefix[0] <= widths.prefix[1] && widths.own[0] <= widths.own[1], `the whole name shows at 1000×700: ${JSON.stringify(widths)}`);
    } else {
      assert.ok(widths.own[1] >= widths.fnWidth, `the function's own name shows at ${width}×${height}: ${JSON.stringify(widths)}`);
    }
    assert.equal(await top.getAttribute('title'), `${HOT}\nnode`, 'the full name on hover');
    // Both panels are there, and the flame graph is as tall as the room it has.
    const flame = page.getByRole('region', { name: 'Flame graph' });
    await flame.waitFor();
    await page.screenshot({ path: outputPath(`web-layout-${width}x${height}.png`) });
    await context.close();
  }
});

test('zooming into a deep frame brings it near the top, its callees below it in view', { timeout: 120_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser: b, ui } = env;
  const key = 'shop/Deployment/deep';
  await fetch(`${ui.url}/api/sources/${encodeURIComponent(key)}/profiling`, { method: 'POST' });
  // A 60-deep chain (a framework's layers) with the work at the bottom.
  const builder = new RequestBuilder();
  const p = builder.profile(
    { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'deep' },
    { periodNanos: 50_000_000, timeUnixNano: BigInt(Date.now()) * 1_000_000n, durationNano: 1_000_000_000n },
  );
  const chain = Array.from({ length: 60 }, (_, i) => ({ name: `layer${i}`, binary: '/srv/app' }));
  builder.addSample(p, builder.stackOfFrames([...chain, { name: 'work', binary: '/srv/app' }]), { value: 10 });
  builder.addSample(p, builder.stackOfFrames([...chain.slice(0, 41), { name: 'other', binary: '/srv/app' }]), { value: 4 });
  await ui.send(builder.build());
  const context = await b.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const zoom = chain.slice(0, 41).map((f) => `${f.name}\0\0app\0`);
  await page.goto(`${ui.url}/#/sources/${encodeURIComponent(key)}?mode=flame&zoom=${encodeURIComponent(JSON.stringify(zoom))}`);
  await page.waitForFunction(() => window.__pilotlight?.flame?.zoom === 'layer40');
  await page.waitForFunction(() => (window.__pilotlight?.flame?.rects() ?? []).some((r) => r.name === 'layer40'));
  const drawn = await page.evaluate(() => window.__pilotlight!.flame!.rects());
  const zoomed = drawn.find((r) => r.name === 'layer40');
  // Scrolled so the zoomed frame is in view (as near the top as the rows below it allow:
  // unscrolled, row 41 is below the view and not drawn), with its whole subtree, down to the
  // deepest callee, in view under it.
  assert.ok(zoomed && zoomed.y >= 0, `the zoomed frame is drawn in view (${JSON.stringify(zoomed)})`);
  assert.ok(drawn.some((r) => r.name === 'other') && drawn.some((r) => r.name === 'work'), 'its callees are in view, the deepest too');
  await page.screenshot({ path: outputPath('web-zoom-deep.png') });
  await context.close();
});
