import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { encodeRequest } from '../src/otlp/codec.js';
import { parseWorkloadKey } from '../src/profile/workload.js';
import { startUiServer } from '../src/ui/server.js';
import { K8S_INVENTORY, requestFromFolded } from './helpers/fixtures.js';
import { waitFor } from './helpers/wait.js';
import { CLI } from './helpers/cli.js';

const run = promisify(execFile);
const BYTES = Buffer.from(encodeRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;serve;parse 30\nmain;idle 5' }])));
const INVENTORY = 'default/Deployment/inventory';

interface Running {
  child: ChildProcess;
  http: string;
  grpc: string;
  stdout: () => string;
}

/** Starts `pilotlight gateway ...` and waits for it to print where it listens. */
async function startGatewayCli(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [...CLI, 'gateway', '--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const ready = new Promise<{ http: string; grpc: string }>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const h = /OTLP\/HTTP {2}(http:\/\/\S+)/.exec(out);
      const g = /OTLP\/gRPC {2}(\S+)/.exec(out);
      if (h && g) resolve({ http: h[1], grpc: g[1] });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before listening: ${err}${out}`)));
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    return { child, ...(await ready), stdout: () => out };
  } finally {
    clearTimeout(timer);
  }
}

function post(base: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}/v1development/profiles`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', ...headers }, body: BYTES });
}

describe('pilotlight gateway (child process)', () => {
  test('prints its addresses, serves /healthz, feeds the real UI server, requires the env bearer token, and stops on SIGTERM', async () => {
    const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } } });
    ui.store.open(parseWorkloadKey(INVENTORY)!);
    const gw = await startGatewayCli(['--ui-endpoint', `127.0.0.1:${ui.otlp.grpc!.port}`, '--log-level', 'warn'], { PILOTLIGHT_BEARER_TOKEN: 'tok-1' });
    try {
      assert.match(gw.stdout(), /→ ui {2}grpc 127\.0\.0\.1:\d+/);
      const health = await fetch(`${gw.http}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await fetch(`${gw.http}/readyz`)).status, 200);

      assert.equal((await post(gw.http)).status, 401, 'no token, no entry');
      const ok = await post(gw.http, { authorization: 'Bearer tok-1' });
      assert.equal(ok.status, 200, await ok.clone().text());
      await waitFor('the UI holds the request', () => (ui.store.slot(INVENTORY)?.chunks.length ?? 0) > 0);
      assert.equal(ui.store.profile(INVENTORY).samples, 35);

      gw.child.kill('SIGTERM');
      const [code] = (await once(gw.child, 'exit')) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
      await ui.close();
    }
  });

  test('a bad config exits non-zero with one line naming the key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pilotlight-gw-'));
    const cases: [string, RegExp][] = [
      ['destinations:\n  - type: loki\n    url: http://loki:3100\n', /^pilotlight: \S+bad\.yaml: destinations\[0\]\.type: /],
      [
        'profiling:\n  enabled: true\ndestinations:\n  - type: otlp\n    name: backup\n    endpoint: a:4317\n  - type: pyroscope\n    name: backup\n    url: http://pyro:4040\n',
        /^pilotlight: \S+bad\.yaml: destinations\[1\]\.name: "backup" is already used/,
      ],
    ];
    for (const [yaml, message] of cases) {
      const file = join(dir, 'bad.yaml');
      await writeFile(file, yaml);
      const r = await run(process.execPath, [...CLI, 'gateway', '--config', file, '--otlp-grpc', 'off', '--otlp-http', '127.0.0.1:0']).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(r.code, 1, yaml);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
  });
});
