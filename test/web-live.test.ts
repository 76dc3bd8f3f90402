import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Response } from 'playwright-core';
import { browserAndUi } from './helpers/web.js';
import { inventoryRequest } from './helpers/web-fixtures.js';
import { waitFor } from './helpers/wait.js';
import { PROFILE_MEDIA_TYPE } from '../src/api/profile-codec.js';
import '../src/web/debug.js';

const KEY = 'default/Deployment/inventory';
const PROFILE_PATH = /^\/api\/sources\/[^/]+\/profile$/;

interface Answer {
  status: number;
  /** Body bytes received (encoded, as on the wire). */
  bytes: number;
  contentType: string;
}

test('Live with nothing new fetches no profile body; new data comes in the binary form', { timeout: 120_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser, ui } = env;
  await fetch(`${ui.url}/api/sources/${encodeURIComponent(KEY)}/profiling`, { method: 'POST' });
  await ui.send(inventoryRequest());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // No event stream (as behind a proxy that buffers it): Live polls the profile every 2 s
  // whether or not anything changed, the case where an unchanged profile used to be fetched
  // again in full.
  await page.route('**/api/sources/*/events', (route) => route.fulfill({ status: 503, body: '' }));
  const answers: Answer[] = [];
  page.on('response', (res: Response) => {
    if (!PROFILE_PATH.test(new URL(res.url()).pathname)) return;
    void (async () => {
      const sizes = await res.request().sizes();
      answers.push({ status: res.status(), bytes: sizes.responseBodySize, contentType: (await res.allHeaders())['content-type'] ?? '' });
    })();
  });

  await page.goto(`${ui.url}/#/sources/${encodeURIComponent(KEY)}`);
  await page.waitForFunction(() => (window.__pilotlight?.flame?.rootTotal ?? 0) === 100);
  await page.getByTestId('updated-ago').filter({ hasText: '(polling)' }).waitFor();
  assert.equal(answers[0]?.status, 200);
  assert.equal(answers[0].contentType, PROFILE_MEDIA_TYPE, 'the web app asks for the binary form');
  assert.ok(answers[0].bytes > 0);

  // 3 s of Live with unchanged data.
  const from = answers.length;
  await page.waitForTimeout(3000);
  const idle = answers.slice(from);
  assert.ok(idle.length >= 1, 'Live kept asking');
  assert.deepEqual(
    idle.map((a) => a.status),
    idle.map(() => 304),
    'every poll is Not Modified',
  );
  const bytes = idle.reduce((s, a) => s + a.bytes, 0);
  assert.equal(bytes, 0, `${bytes} bytes of profile body over 3 s with nothing new`);
  const draws = await page.evaluate(() => window.__pilotlight!.flame!.draws);

  // New data: the next poll gets it, in the binary form, and the graph follows.
  await ui.send(inventoryRequest(2));
  await page.waitForFunction(() => window.__pilotlight?.flame?.rootTotal === 300, undefined, { timeout: 15_000 });
  // Answers are recorded once their sizes are read, which may come after the graph is drawn.
  await waitFor('the answer with the new data recorded', () => answers.slice(from).some((a) => a.status === 200));
  const fresh = answers.slice(from).filter((a) => a.status === 200);
  assert.equal(fresh.length, 1);
  assert.equal(fresh[0].contentType, PROFILE_MEDIA_TYPE);
  assert.ok(await page.evaluate((d) => window.__pilotlight!.flame!.draws > d, draws), 'redrawn');
  // The table follows too (sorted in the background).
  const table = page.getByRole('region', { name: 'Symbols table' });
  await table.locator('.symbols-row', { hasText: 'idle' }).filter({ hasText: '35.0%' }).first().waitFor();
  assert.deepEqual(pageErrors, []);
});
