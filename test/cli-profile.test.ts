import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { Profile as PprofProfile } from 'pprof-format';
import { encodeRequest } from '../src/otlp/codec.js';
import { requestFromFolded, K8S_INVENTORY, K8S_CHECKOUT, folded } from './helpers/fixtures.js';
import { cpuAndOffCpuRequest } from './profile-types-fixture.js';
import { CLI } from './helpers/cli.js';

const run = promisify(execFile);

async function cli(args: string[], input?: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  if (input) {
    try {
      const stdout = execFileSync(process.execPath, [...CLI, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
      return { code: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  }
  try {
    const { stdout, stderr } = await run(process.execPath, [...CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const STACKS = 'main;serve;parse 30\nmain;serve;render 20\nmain;idle 50';

async function fixtureFiles(): Promise<{ dir: string; pb: string; json: string; gz: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pilotlight-cli-'));
  const req = requestFromFolded([
    { resource: K8S_INVENTORY, folded: STACKS },
    { resource: K8S_CHECKOUT, folded: 'main;checkout 9' },
  ]);
  const pb = join(dir, 'req.pb');
  const json = join(dir, 'req.json');
  const gz = join(dir, 'req.pb.gz');
  await writeFile(pb, encodeRequest(req, 'protobuf'));
  await writeFile(json, encodeRequest(req, 'json'));
  await writeFile(gz, gzipSync(encodeRequest(req, 'protobuf')));
  return { dir, pb, json, gz };
}

test('pilotlight profile prints folded stacks of one workload from protobuf, JSON and gzip alike', async () => {
  const f = await fixtureFiles();
  for (const file of [f.pb, f.json, f.gz]) {
    const r = await cli(['profile', file, '--format', 'folded', '--workload', 'default/Deployment/inventory']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, folded(STACKS), file);
  }
});

test('pilotlight profile prints the symbols table by default, ranked by self', async () => {
  const f = await fixtureFiles();
  const r = await cli(['profile', f.pb, '--workload', 'default/Deployment/inventory']);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n');
  assert.match(rows[0], /SELF\s+SELF%\s+TOTAL\s+TOTAL%\s+SYMBOL/);
  assert.match(rows[1], /^\s+50\s+50\.00%\s+50\s+50\.00%\s+idle$/);
  assert.match(rows[2], /^\s+30\s+30\.00%\s+30\s+30\.00%\s+parse$/);
  assert.match(r.stdout, /\s0\s+0\.00%\s+100\s+100\.00%\s+main\n/);
});

test('pilotlight profile reads stdin and writes json', async () => {
  const f = await fixtureFiles();
  const r = await cli(['profile', '-', '--format', 'json', '--workload', 'shop/StatefulSet/checkout'], await readFile(f.json));
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.workload, 'shop/StatefulSet/checkout');
  assert.equal(out.samples, 9);
  assert.deepEqual(
    out.symbols.map((s: { name: string }) => s.name),
    ['checkout', 'main'],
  );
});

test('pilotlight profile writes pprof that pprof-format decodes', async () => {
  const f = await fixtureFiles();
  const out = join(f.dir, 'out.pb.gz');
  const r = await cli(['profile', f.pb, '--format', 'pprof', '--workload', 'default/Deployment/inventory', '--output', out]);
  assert.equal(r.code, 0, r.stderr);
  const p = PprofProfile.decode(gunzipSync(await readFile(out)));
  assert.equal(
    p.sample.reduce((s, x) => s + Number(x.value[0]), 0),
    100,
  );
});

test('go tool pprof reads the pprof we write', async (t) => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    t.skip('go is not installed (apt-get install golang-go); .ci/run installs it');
    return;
  }
  const f = await fixtureFiles();
  const out = join(f.dir, 'go.pb.gz');
  assert.equal((await cli(['profile', f.pb, '--format', 'pprof', '--workload', 'default/Deployment/inventory', '--output', out])).code, 0);
  // Go builds pprof on first use (Go >= 1.24 ships no prebuilt tool): the machine's build
  // cache keeps it (setup warms it), while HOME stays a scratch directory.
  const gocache = execFileSync('go', ['env', 'GOCACHE'], { encoding: 'utf8' }).trim();
  const top = execFileSync('go', ['tool', 'pprof', '-top', '-sample_index=samples', out], {
    encoding: 'utf8',
    env: { ...process.env, HOME: f.dir, GOCACHE: gocache, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
  });
  assert.match(top, /^\s*50\s+50(\.00)?%.*\bidle$/m);
  assert.match(top, /^\s*30\s+30(\.00)?%.*\bparse$/m);
});

test('bad files give one clear line on stderr and exit 1', async () => {
  const f = await fixtureFiles();
  const truncated = join(f.dir, 'bad.pb');
  await writeFile(truncated, (await readFile(f.pb)).subarray(0, 20));
  const cases: [string[], RegExp][] = [
    [['profile', truncated], /^pilotlight: malformed protobuf ExportProfilesServiceRequest: .+\n$/],
    [['profile', join(f.dir, 'missing.pb')], /^pilotlight: ENOENT: no such file or directory.*\n$/],
    [['profile', f.pb, '--workload', 'nope/Deployment/x'], /^pilotlight: no samples for workload nope\/Deployment\/x in .*\n$/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  }
  const badJson = join(f.dir, 'bad.json');
  await writeFile(badJson, '{"resourceProfiles":[{"scopeProfiles":[{"profiles":[{"samples":[{"stackIndex":5}]}]}]}],"dictionary":{"stackTable":[{}]}}');
  const r = await cli(['profile', badJson]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'pilotlight: resource_profiles[0].scope_profiles[0].profiles[0].samples[0].stack_index: 5 out of range (stack_table has 1 entries)\n');
});

test('pilotlight profile --type picks a profile type: off-CPU time in nanoseconds, CPU by default, a missing type named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pilotlight-cli-'));
  const file = join(dir, 'ebpf.pb');
  await writeFile(file, encodeRequest(cpuAndOffCpuRequest()));
  const off = await cli(['profile', file, '--type', 'off_cpu', '--format', 'folded']);
  assert.equal(off.code, 0, off.stderr);
  assert.equal(off.stdout, folded('main;read;sys_read 5000000\nmain;wait 7000000'));
  const table = await cli(['profile', file, '--type', 'off_cpu']);
  assert.match(table.stdout, /\n12000000 nanoseconds of Off-CPU in default\/Deployment\/inventory\n$/);
  const cpu = await cli(['profile', file, '--format', 'folded']);
  assert.equal(cpu.stdout, folded('main;work 3\nmain;idle 1'));
  const none = await cli(['profile', file, '--type', 'alloc_space:bytes']);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, `pilotlight: no alloc_space:bytes profile in ${file}; types there: cpu, off_cpu\n`);
});

test('pilotlight profile FILE | head: a reader that stops early ends the command quietly, with no stack trace', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pilotlight-cli-'));
  const file = join(dir, 'big.pb');
  // Far more output than a pipe holds (64 KiB), so the CLI is still writing when the reader goes.
  const stacks = Array.from({ length: 5000 }, (_, i) => `main;serve;handler_${i};leaf_${i} ${i + 1}`).join('\n');
  await writeFile(file, encodeRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: stacks }])));
  for (const format of ['table', 'folded']) {
    const child = spawn(process.execPath, [...CLI, 'profile', file, '--format', format], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // `head -c 100`: the first chunk, then the read end of the pipe is closed.
    let first = '';
    child.stdout.once('data', (d: Buffer) => {
      first = d.toString();
      child.stdout.destroy();
    });
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    assert.ok(first.length > 0, `${format}: some output was read`);
    assert.equal(stderr, '', `${format}: nothing on stderr, no EPIPE stack trace`);
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, `${format}: exits 0`);
  }
});
