import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { RequestBuilder, type SimpleValue } from '../src/otlp/builder.js';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import type { SourcesResponse } from '../src/api/types.js';
import { USAGE_PATH } from '../src/api/pipeline.js';
import { browserAndUi, outputPath } from './helpers/web.js';
import { XSS_NAME } from './helpers/web-fixtures.js';

const PERIOD = 10_000_000; // 10 ms: 1000 samples in a 10 s bucket are one core
const BUCKET = 10_000;

interface FleetSource {
  key: string;
  resource: Record<string, SimpleValue>;
  /** Cores per 10 s bucket, for the 29 buckets before the current one, oldest first. */
  cores: (i: number) => number;
}

const proc = (name: string, cores: (i: number) => number): FleetSource => ({
  key: `host/Process/${name}`,
  resource: { 'process.executable.name': name },
  cores,
});
const k8s = (ns: string, attr: string, kind: string, name: string, cores: (i: number) => number): FleetSource => ({
  key: `${ns}/${kind}/${name}`,
  resource: { 'k8s.namespace.name': ns, [attr]: name },
  cores,
});

/**
 * A host with 100 sources, as a real one shows them: two demo services, a few Kubernetes workloads
 * and containers, and a long tail of bare processes (short-lived commands, kernel workers),
 * most of them idle. demo-shop is the busiest; a busy bare process (ffmpeg) comes next.
 */
function fleet(): FleetSource[] {
  const out: FleetSource[] = [
    { key: 'host/Service/demo-shop', resource: { 'service.name': 'demo-shop' }, cores: (i) => 1.5 + 0.3 * Math.sin(i / 3) },
    { key: 'host/Service/demo-imaging', resource: { 'service.name': 'demo-imaging' }, cores: (i) => 0.45 + 0.1 * Math.cos(i / 2) },
    proc('ffmpeg', (i) => (i > 12 ? 0.9 : 0)),
    k8s('default', 'k8s.deployment.name', 'Deployment', 'inventory', (i) => 0.3 + (i % 5 === 0 ? 0.2 : 0)),
    k8s('shop', 'k8s.statefulset.name', 'StatefulSet', 'checkout', () => 0.12),
    k8s('monitoring', 'k8s.deployment.name', 'Deployment', 'prometheus', (i) => 0.2 + 0.05 * (i % 3)),
    k8s('kube-system', 'k8s.daemonset.name', 'DaemonSet', 'kube-proxy', () => 0.02),
    k8s('batch', 'k8s.cronjob.name', 'CronJob', 'nightly-report', () => 0),
    { key: 'host/Container/redis', resource: { 'container.name': 'redis' }, cores: () => 0.05 },
    { key: 'host/Container/postgres', resource: { 'container.name': 'postgres' }, cores: (i) => (i % 7 === 0 ? 0.4 : 0.03) },
    { key: 'host/Container/idle-sidecar', resource: { 'container.name': 'idle-sidecar' }, cores: () => 0 },
    proc(XSS_NAME, () => 0),
  ];
  const commands = [
    'ls',
    'grep',
    'sed',
    'awk',
    'cat',
    'bash',
    'sh',
    'sshd',
    'cron',
    'systemd-journald',
    'python3',
    'git',
    'make',
    'cc1',
    'ld',
    'tar',
    'gzip',
    'curl',
    'find',
    'sort',
  ];
  for (let i = 0; out.length < 100; i++) {
    const name = i < commands.length ? commands[i] : `kworker/${i % 8}:${Math.floor(i / 8)}`;
    // Short-lived: a blip of CPU once, at a different moment for each.
    out.push(proc(name, (b) => (b === i % 29 ? 0.01 + (i % 4) * 0.01 : 0)));
  }
  return out;
}

/** Every source's samples, one profile per 10 s bucket (spread over it), up to the bucket before `nowMs`'s. */
function fleetRequest(sources: FleetSource[], nowMs: number): ExportProfilesServiceRequest {
  const b = new RequestBuilder();
  const stack = b.stackOfFrames([{ name: 'main' }, { name: 'work' }]);
  const lastStart = (Math.floor(nowMs / BUCKET) - 1) * BUCKET;
  for (const s of sources) {
    let any = false;
    for (let i = 0; i < 29; i++) {
      const samples = Math.round((s.cores(i) * (BUCKET * 1e6)) / PERIOD);
      if (samples === 0 && (any || i < 28)) continue;
      any = true;
      const start = lastStart - (28 - i) * BUCKET;
      const p = b.profile(s.resource, { periodNanos: PERIOD, timeUnixNano: BigInt(start) * 1_000_000n, durationNano: BigInt(BUCKET) * 1_000_000n });
      b.addSample(p, stack, { value: samples });
    }
  }
  return b.build();
}

async function rowKeys(page: Page): Promise<string[]> {
  return page.locator('tr.source-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key') ?? ''));
}

async function ariaSort(page: Page, column: string): Promise<string | null> {
  return page.getByRole('columnheader', { name: column, exact: true }).getAttribute('aria-sort');
}

test('the Sources list of a 100-source fleet: busiest first, sortable, filter focused', { timeout: 180_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser: b, ui } = env;
  const sources = fleet();
  assert.equal(sources.length, 100);
  // One source profiled, to show that state too.
  const enabled = await fetch(`${ui.url}/api/sources/${encodeURIComponent('default/Deployment/inventory')}/profiling`, { method: 'POST' });
  assert.equal(enabled.status, 200);
  await ui.send(fleetRequest(sources, Date.now()));
  const api = (await (await fetch(`${ui.url}/api/sources`)).json()) as SourcesResponse;
  assert.equal(api.sources.length, 100);
  const shopCores = api.sources.find((s) => s.key === 'host/Service/demo-shop')!.cpuCores;
  assert.ok(shopCores > 1.2 && shopCores < 1.9, `demo-shop uses about 1.5 cores, got ${shopCores}`);

  const context = await b.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(ui.url);
  await page.waitForFunction(() => document.querySelectorAll('tr.source-row').length === 100);

  await t.test('the filter box has the keyboard when the page opens', async () => {
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Filter sources');
  });

  await t.test('busiest first: demo-shop is the first row, with its cores and a sparkline', async () => {
    const keys = await rowKeys(page);
    assert.equal(keys[0], 'host/Service/demo-shop');
    assert.deepEqual(keys.slice(1, 3), ['host/Process/ffmpeg', 'host/Service/demo-imaging']);
    assert.equal(await ariaSort(page, 'CPU'), 'descending');
    assert.equal(await ariaSort(page, 'Name'), 'none');
    const first = page.locator('tr.source-row').first();
    assert.match((await first.innerText()).replace(/\s+/g, ' '), /^demo-shop host Service 1\.\d\d cores \d+ s ago Off$/);
    assert.equal(await first.locator('svg.sparkline path.spark-line').count(), 1);
    // The idle ones at the bottom: workloads before containers before processes.
    const zeroKinds = await page
      .locator('tr.source-row')
      .evaluateAll((rows) => rows.filter((r) => r.querySelector('.cores')?.textContent === '0 cores').map((r) => r.getAttribute('data-key')!.split('/')[1]));
    const rank = (k: string): number => ({ CronJob: 0, Container: 2, Process: 3 })[k] ?? 1;
    assert.deepEqual(zeroKinds.slice(0, 2), ['CronJob', 'Container'], 'the CronJob and the container lead the idle rows');
    assert.deepEqual(
      zeroKinds.map(rank),
      [...zeroKinds.map(rank)].sort((a, b) => a - b),
      `kinds grouped: ${zeroKinds.join(', ')}`,
    );
    assert.match(await page.locator('tr.source-row[data-key="default/Deployment/inventory"]').innerText(), /Profiling/);
    await page.screenshot({ path: outputPath('web-sources-fleet.png') });
    await page.screenshot({ path: outputPath('web-sources-fleet-full.png'), fullPage: true });
  });

  await t.test('clicking the CPU header turns the order around, and back', async () => {
    await page.getByRole('button', { name: 'CPU', exact: true }).click();
    assert.equal(await ariaSort(page, 'CPU'), 'ascending');
    const asc = await rowKeys(page);
    assert.equal(asc.at(-1), 'host/Service/demo-shop', 'the busiest is last');
    assert.equal(asc[0], 'batch/CronJob/nightly-report', 'an idle workload first, before idle containers and processes');
    await page.getByRole('button', { name: 'CPU', exact: true }).click();
    assert.equal(await ariaSort(page, 'CPU'), 'descending');
    assert.equal((await rowKeys(page))[0], 'host/Service/demo-shop');
  });

  await t.test('the headers are keyboard buttons: Enter on Name sorts by name', async () => {
    await page.getByRole('button', { name: 'Name', exact: true }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await ariaSort(page, 'Name'), 'ascending');
    assert.equal(await ariaSort(page, 'CPU'), 'none');
    const names = await page.locator('tr.source-row .src-name').allInnerTexts();
    assert.deepEqual(
      names,
      [...names].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0)),
    );
    await page.getByRole('button', { name: 'CPU', exact: true }).click();
  });

  await t.test('names are text: a name that is HTML is shown as typed and never runs', async () => {
    const row = page.locator(`tr.source-row[data-key="${'host/Process/' + XSS_NAME.replace(/"/g, '\\"')}"]`);
    assert.equal(await row.locator('.src-name').innerText(), XSS_NAME);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  });

  await t.test('the filter narrows the list; Enter on a row opens its drawer', async () => {
    await page.getByLabel('Filter sources').fill('demo');
    await page.waitForFunction(() => document.querySelectorAll('tr.source-row').length === 2);
    assert.deepEqual(await rowKeys(page), ['host/Service/demo-shop', 'host/Service/demo-imaging']);
    await page.locator('tr.source-row').nth(1).focus();
    await page.keyboard.press('Enter');
    const drawer = page.getByRole('dialog', { name: 'Source host/Service/demo-imaging' });
    await drawer.waitFor();
    await drawer.getByRole('button', { name: 'Close' }).click();
    await drawer.waitFor({ state: 'detached' });
  });

  await t.test('opened on a drawer link, the page leaves the keyboard alone', async () => {
    const other = await context.newPage();
    await other.goto(`${ui.url}/#/sources/${encodeURIComponent('host/Service/demo-shop')}`);
    await other.getByRole('dialog').waitFor();
    await other.waitForFunction(() => document.querySelectorAll('tr.source-row').length === 100);
    assert.notEqual(await other.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Filter sources');
    await other.close();
  });

  assert.deepEqual(pageErrors, [], 'no errors in the page');
  await context.close();
});

test('a fleet beyond one answer: the list shows the busiest 500 and says so, and the filter finds the rest on the server', { timeout: 180_000 }, async (t) => {
  const env = await browserAndUi(t);
  if (!env) return;
  const { browser: b, ui } = env;
  // 3,000 Deployments as a gateway reports them (usage only, no stacks); svc-0000 busiest.
  const bucket = Math.floor(Date.now() / BUCKET) * BUCKET - 2 * BUCKET;
  const usage = {
    sources: Array.from({ length: 3000 }, (_, i) => ({
      namespace: 'fleet',
      kind: 'Deployment',
      name: `svc-${String(i).padStart(4, '0')}`,
      cpu: [[bucket, (3000 - i) * 1_000_000]],
    })),
  };
  const posted = await fetch(`${ui.url}${USAGE_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(usage) });
  assert.equal(posted.status, 204, await posted.text());

  const context = await b.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const answers: number[] = [];
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/api/sources') void r.body().then((body) => answers.push(body.length));
  });
  await page.goto(ui.url);
  await page.waitForFunction(() => document.querySelectorAll('tr.source-row').length === 500);
  assert.equal((await rowKeys(page))[0], 'fleet/Deployment/svc-0000');
  assert.match(await page.getByTestId('sources-cut').innerText(), /Showing the first 500 of 3,000 matching sources/);
  assert.match(await page.locator('.sources-toolbar').innerText(), /500 of 3,000 sources/);
  assert.ok(answers.length > 0 && Math.max(...answers) < 600_000, `each answer holds 500 rows, not 3,000: ${answers.join(', ')} bytes`);
  await page.getByTestId('sources-cut').scrollIntoViewIfNeeded();
  await page.screenshot({ path: outputPath('web-sources-cut-list.png') });

  await page.getByLabel('Filter sources').fill('svc-2999');
  await page.waitForFunction(() => document.querySelectorAll('tr.source-row').length === 1);
  assert.deepEqual(await rowKeys(page), ['fleet/Deployment/svc-2999'], 'the idlest, far past the first 500, found by the server');
  assert.equal(await page.getByTestId('sources-cut').count(), 0);

  // A drawer opened on a source past the first 500 still has its source.
  await page.getByLabel('Filter sources').fill('');
  await page.waitForFunction(() => document.querySelectorAll('tr.source-row').length === 500);
  await page.goto(`${ui.url}/#/sources/${encodeURIComponent('fleet/Deployment/svc-2500')}`);
  const drawer = page.getByRole('dialog', { name: 'Source fleet/Deployment/svc-2500' });
  await drawer.waitFor();
  await drawer.getByRole('button', { name: 'Enable Profiling' }).waitFor();
  await page.screenshot({ path: outputPath('web-sources-cut.png') });
  assert.deepEqual(pageErrors, [], 'no errors in the page');
  await context.close();
});
