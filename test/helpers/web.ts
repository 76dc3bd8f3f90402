import { existsSync, statSync, readdirSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { encodeRequest } from '../../src/otlp/codec.js';
import { startUiServer } from '../../src/ui/server.js';
import { DEFAULT_LIMITS } from '../../src/store/config.js';
import type { StoreLimits } from '../../src/api/types.js';
import type { ExportProfilesServiceRequest } from '../../src/otlp/messages.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const WEB_DIST = join(ROOT, 'src', 'web', 'dist');
export const OUTPUT = join(ROOT, 'test-output');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the web app when src/web/dist is missing or older than its sources. */
export function ensureWebBuilt(): void {
  const index = join(WEB_DIST, 'index.html');
  // What the bundle is built from: the app, the model and the API contract it shares with the server.
  const sources = Math.max(newestMtime(join(ROOT, 'src', 'web')), newestMtime(join(ROOT, 'src', 'profile')), newestMtime(join(ROOT, 'src', 'api')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync(join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--config', join(ROOT, 'src', 'web', 'vite.config.ts'), '--logLevel', 'warn'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Chromium from the system (never downloaded); null with the reason when it is missing. */
export async function launchChromium(): Promise<{ browser: Browser | null; reason: string }> {
  if (!existsSync(CHROMIUM)) return { browser: null, reason: `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH); browser tests skipped` };
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  return { browser, reason: '' };
}

export function outputPath(name: string): string {
  mkdirSync(OUTPUT, { recursive: true });
  return join(OUTPUT, name);
}

export interface RunningUi {
  /** The web app and API, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Sends an OTLP request to the UI's receiver, as a node or gateway would. */
  send: (req: ExportProfilesServiceRequest) => Promise<void>;
  close: () => Promise<void>;
}

/** The real UI server (store + OTLP/HTTP receiver + API + web app) on loopback ports. */
export async function startUi(limits: Partial<StoreLimits> = {}): Promise<RunningUi> {
  const ui = await startUiServer({
    host: '127.0.0.1',
    port: 0,
    webRoot: WEB_DIST,
    limits: { ...DEFAULT_LIMITS, ...limits },
    eventsHeartbeatMs: 1000,
    otlp: { grpc: false, http: { host: '127.0.0.1', port: 0 } },
  });
  const otlpUrl = `http://127.0.0.1:${ui.otlp.http!.port}/v1development/profiles`;
  return {
    url: ui.url,
    send: async (req) => {
      const res = await fetch(otlpUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array(encodeRequest(req)) });
      if (!res.ok) throw new Error(`OTLP export failed: ${res.status} ${await res.text()}`);
    },
    close: () => ui.close(),
  };
}

/**
 * Chromium and a real UI (the web app built) for one test, both closed after it; undefined
 * when there is no Chromium, the test then skipped saying why.
 */
export async function browserAndUi(t: TestContext, limits: Partial<StoreLimits> = {}): Promise<{ browser: Browser; ui: RunningUi } | undefined> {
  const { browser, reason } = await launchChromium();
  if (!browser) {
    t.skip(reason);
    return undefined;
  }
  t.after(() => browser.close());
  ensureWebBuilt();
  const ui = await startUi(limits);
  t.after(() => ui.close());
  return { browser, ui };
}
