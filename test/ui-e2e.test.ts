import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startUiServer } from '../src/ui/server.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { requestFromFolded, K8S_INVENTORY, K8S_CHECKOUT } from './helpers/fixtures.js';
import type { ProfileResponse, SourcesResponse } from '../src/api/types.js';

const KEY = 'default/Deployment/inventory';

test('end to end over loopback: OTLP/HTTP in, Enable Profiling, exact self/total out', async () => {
  const ui = await startUiServer({ port: 0, otlp: { grpc: false, http: { host: '127.0.0.1', port: 0 } } });
  try {
    const otlp = `http://127.0.0.1:${ui.otlp.http!.port}/v1development/profiles`;
    const send = async (folded: string): Promise<Response> =>
      fetch(otlp, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: Buffer.from(
          encodeRequest(
            requestFromFolded([
              { resource: K8S_INVENTORY, folded },
              { resource: K8S_CHECKOUT, folded: 'main;pay 2' },
            ]),
          ),
        ),
      });
    assert.equal((await send('main;before 3')).status, 200);
    const sources = (await (await fetch(`${ui.url}/api/sources`)).json()) as SourcesResponse;
    assert.deepEqual(
      sources.sources.map((s) => s.key),
      [KEY, 'shop/StatefulSet/checkout'],
    );

    const enable = await fetch(`${ui.url}/api/sources/${encodeURIComponent(KEY)}/profiling`, { method: 'POST' });
    assert.equal(enable.status, 200);
    assert.equal((await send('main;rec;rec;leaf 4\nmain;rec;leaf 2\nmain;idle 4')).status, 200);
    const res = await fetch(`${ui.url}/api/sources/${encodeURIComponent(KEY)}/profile`);
    assert.equal(res.status, 200);
    const p = (await res.json()) as ProfileResponse;
    assert.equal(p.samples, 10, 'data before Enable Profiling was dropped');
    const row = (name: string) => p.symbols.find((s) => s.name === name)!;
    assert.deepEqual([row('rec').self, row('rec').total], [0, 6]);
    assert.deepEqual([row('leaf').self, row('leaf').total], [6, 6]);
    assert.deepEqual([row('main').self, row('main').total], [0, 10]);
    assert.equal(ui.store.counters.dropped.noSlot, 3, 'inventory once before the slot, checkout twice');
    const health = await fetch(`${ui.url}/readyz`);
    assert.equal(health.status, 200);
  } finally {
    await ui.close();
  }
});

test('pilotlight ui refuses a bad PROFILES_* variable with one line naming it', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, '..', 'src', 'cli', 'main.ts'), 'ui', '--port', '0', '--otlp-grpc', 'off', '--otlp-http', 'off'],
    {
      env: { ...process.env, PROFILES_MAX_SLOTS: 'lots' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1);
  assert.equal(stderr, 'pilotlight: PROFILES_MAX_SLOTS="lots": must be a whole number\n');
});
