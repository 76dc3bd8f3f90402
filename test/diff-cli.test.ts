import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { runDiffCommand } from '../src/cli/diff-command.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { requestFromFolded, K8S_CHECKOUT, K8S_INVENTORY } from './helpers/fixtures.js';
import { T_A, T_B, WINDOW_A, WINDOW_B, windowRequest } from './helpers/time-windows.js';
import { CLI } from './helpers/cli.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Base: window A as protobuf. Target: window B as gzipped OTLP/JSON, plus a second workload. */
async function files(): Promise<{ base: string; target: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pilotlight-diff-'));
  const base = join(dir, 'base.pb');
  const target = join(dir, 'target.json.gz');
  await writeFile(base, encodeRequest(windowRequest(WINDOW_A, T_A)));
  const targetReq = requestFromFolded([
    { resource: K8S_INVENTORY, folded: WINDOW_B, timeUnixNano: BigInt(T_B) * 1_000_000n, timestampsAt: BigInt(T_B) * 1_000_000n },
    { resource: K8S_CHECKOUT, folded: 'other 100' },
  ]);
  await writeFile(target, gzipSync(encodeRequest(targetReq, 'json')));
  return { base, target };
}

test('pilotlight diff prints exact base/target values as json, folded and table', async () => {
  const { base, target } = await files();
  const w = ['--workload', 'default/Deployment/inventory'];
  const json = await cli(['diff', base, target, ...w, '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as { name: string; baseSelf: number; baseTotal: number; self: number; total: number }[];
  assert.deepEqual(
    rows.map((r) => [r.name, r.baseSelf, r.baseTotal, r.self, r.total]),
    [
      ['leaf', 6, 6, 8, 8],
      ['gc', 2, 2, 0, 0], // only in the base
      ['idle', 4, 4, 2, 2],
      ['parse', 0, 0, 0, 5], // only in the target
      ['walk', 0, 6, 0, 3], // walk;walk;leaf counted once
      ['main', 0, 12, 0, 10],
    ],
  );
  assert.deepEqual(Object.keys(rows[0]), ['name', 'file', 'binary', 'kind', 'baseSelf', 'baseTotal', 'self', 'total']);

  // The other formats in process (each CLI start costs seconds on a busy machine).
  const workload = 'default/Deployment/inventory';
  const fold = await runDiffCommand(base, target, { format: 'folded', workload });
  assert.equal(fold, 'main;gc 2 0\nmain;idle 4 2\nmain;parse;leaf 0 5\nmain;walk;leaf 2 3\nmain;walk;walk;leaf 4 0\n');

  const table = (await runDiffCommand(base, target, { format: 'table', workload })).split('\n');
  assert.match(table[1], /^ +6 +8 +\+30\.00 +6 +8 +\+30\.00 +leaf$/);
  assert.match(table[5], /^ +0 +0 +0\.00 +6 +3 +-20\.00 +walk$/);
  assert.match(
    table[7],
    /^base: 12 samples in .*base\.pb \(default\/Deployment\/inventory\); target: 10 samples in .*target\.json\.gz \(default\/Deployment\/inventory\)$/,
  );

  // Without --workload the target's two workloads are merged: 'other' shows up on its side only.
  const all = JSON.parse(await runDiffCommand(base, target, { format: 'json' })) as { name: string; baseTotal: number; total: number }[];
  assert.deepEqual(
    all.find((r) => r.name === 'other'),
    { name: 'other', file: '', binary: '', kind: '', baseSelf: 0, baseTotal: 0, self: 100, total: 100 },
  );
});

test('pilotlight diff: a missing file, an unknown workload and a bad format are one-line errors', async () => {
  const { base, target } = await files();
  const missing = await cli(['diff', base, join(tmpdir(), 'no-such-file.pb')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^pilotlight: ENOENT: no such file or directory, open '.*no-such-file\.pb'\n$/);
  await assert.rejects(
    runDiffCommand(base, target, { format: 'table', workload: 'x/Deployment/nobody' }),
    /^Error: no samples for workload x\/Deployment\/nobody in .*base\.pb$/,
  );
  await assert.rejects(runDiffCommand('-', '-', { format: 'table' }), /only one of BASE and TARGET can be - \(stdin\)/);
  const format = await cli(['diff', base, target, '--format', 'svg']);
  assert.notEqual(format.code, 0);
  assert.match(format.stderr, /argument 'svg' is invalid. Allowed choices are table, json, folded/);
});
