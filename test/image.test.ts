import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SourcesResponse } from '../src/api/types.js';
import { GO, hostSetting, IMAGE_DIR, ImageProcess, imageTestUnavailable, privilegedCaps, ROOT, run, STORAGE } from './helpers/image.js';
import { freePort, PEER_VERSIONS } from './helpers/peers.js';

/**
 * The Dockerfile, built and started on this machine. No registry is reachable here, so the
 * base images come from Debian packages (scripts/image-bases.sh: mmdebstrap's bookworm plus
 * this machine's Node.js, and plus its Go for the Go stage); buildah builds the Dockerfile on
 * them (`--isolation chroot`, the host's network for npm, apt and the Go module proxy) and runs
 * what it made. Checked: the image's own entrypoint and user start `pilotlight ui`, which
 * answers /healthz and serves the web app; the node sampler's tools are in the image where it
 * looks for them (bpftrace, c++filt, and the eBPF profiler the Go stage built from the pinned
 * module, at the pinned version); `pilotlight node` with bpftrace samples the host and its
 * profiles reach the UI; `pilotlight node --sampler ebpf-profiler` finds the profiler without
 * flags, and starts it where this machine lets it.
 *
 * The first run makes the bases and fills the caches (about 10 minutes on 2 cores); later
 * runs rebuild only what changed (the caches: IMAGE_DIR, the machine's npm cache and Go module
 * cache, both filled by npm run setup).
 */

const unavailable = imageTestUnavailable();
const LOG_DIR = join(ROOT, 'test-output', 'image');
const BUILD_LOG = join(LOG_DIR, 'build.log');
const RUN_LOG = join(LOG_DIR, 'run.log');
const IMAGE = 'localhost/pilotlight:image-test';

describe('the container image', { skip: unavailable, timeout: 45 * 60_000 }, () => {
  let entrypoint: string[] = [];
  let user = '';
  const started: ImageProcess[] = [];

  before(
    async () => {
      rmSync(LOG_DIR, { recursive: true, force: true });
      mkdirSync(LOG_DIR, { recursive: true });
      const bases = await run('bash', ['scripts/image-bases.sh'], BUILD_LOG, { BUILDAH_STORAGE: STORAGE.join(' ') });
      const nodeImage = /^NODE_IMAGE=(\S+)$/m.exec(bases)?.[1];
      const goImage = /^GO_IMAGE=(\S+)$/m.exec(bases)?.[1];
      assert.ok(nodeImage && goImage, `scripts/image-bases.sh named no base images:\n${bases}`);

      // Caches shared with the build's RUN steps: npm's and Go's module caches of this
      // machine (npm run setup filled them with what the build needs), the Go build cache and
      // the .debs apt fetches.
      const caches: [string | undefined, string][] = [
        [hostSetting('npm', ['config', 'get', 'cache']), '/root/.npm'],
        [hostSetting(GO!, ['env', 'GOMODCACHE']), '/go/pkg/mod'],
        [join(IMAGE_DIR, 'go-build'), '/root/.cache/go-build'],
        [join(IMAGE_DIR, 'apt-archives'), '/var/cache/apt/archives'],
      ];
      const volumes: string[] = [];
      for (const [dir, target] of caches) {
        if (!dir) continue;
        mkdirSync(dir, { recursive: true });
        volumes.push(`${dir}:${target}`);
      }
      const started = Date.now();
      await run(
        'buildah',
        [
          ...STORAGE,
          'bud',
          '--isolation',
          'chroot',
          '--network',
          'host',
          '--layers',
          // The Go stage and the Node build stage at once: one mostly compiles, the other mostly fetches.
          '--jobs',
          '2',
          '--pull=never',
          '--build-arg',
          `NODE_IMAGE=${nodeImage}`,
          '--build-arg',
          `GO_IMAGE=${goImage}`,
          ...volumes.flatMap((v) => ['--volume', v]),
          '--tag',
          IMAGE,
          '.',
        ],
        BUILD_LOG,
      );
      process.stderr.write(`# image: built ${IMAGE} in ${Math.round((Date.now() - started) / 1000)} s (log: ${BUILD_LOG})\n`);

      const inspected = JSON.parse(await run('buildah', [...STORAGE, 'inspect', '--type', 'image', IMAGE], BUILD_LOG)) as {
        OCIv1: { config: { Entrypoint?: string[]; User?: string } };
      };
      entrypoint = inspected.OCIv1.config.Entrypoint ?? [];
      user = inspected.OCIv1.config.User ?? '';
    },
    { timeout: 40 * 60_000 },
  );

  after(async () => {
    for (const p of started) await p.stop(RUN_LOG);
  });

  /** Starts a process of the image: its entrypoint and `args`, as run() options say. */
  async function start(args: string[], options: ConstructorParameters<typeof ImageProcess>[2] = {}): Promise<ImageProcess> {
    const p = new ImageProcess(IMAGE, [...entrypoint, ...args], options);
    started.push(p);
    await p.start(RUN_LOG);
    return p;
  }

  let uiPort = 0;
  let uiOtlpHttp = 0;

  test("the image's entrypoint and user run `pilotlight ui`: /healthz answers, the web app is served", async () => {
    assert.deepEqual(entrypoint, ['node', 'bin/pilotlight.js'], 'the entrypoint is the CLI');
    assert.equal(user, 'node', 'the gateway and the UI run unprivileged');
    uiPort = await freePort();
    uiOtlpHttp = await freePort();
    const ui = await start(['ui', '--host', '127.0.0.1', '--port', String(uiPort), '--otlp-grpc', 'off', '--otlp-http', `127.0.0.1:${uiOtlpHttp}`]);
    await ui.waitFor(/Pilotlight UI: http/, 120_000);

    const health = await fetch(`http://127.0.0.1:${uiPort}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    const page = await fetch(`http://127.0.0.1:${uiPort}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script[^>]+src="[^"]+\.js"/, 'the built web app (src/web/dist) is in the image');
  });

  test('the node sampler finds its tools in the image: bpftrace, c++filt, and the eBPF profiler built from the pinned module', async () => {
    // The lookups the sampler itself makes, from the image's compiled code, as root (as the
    // DaemonSet runs it); each tool then run once.
    const script = `
      import { execFileSync } from 'node:child_process';
      import { findExecutable, preflight } from '/app/dist/node/preflight.js';
      import { findEbpfProfiler } from '/app/dist/node/ebpf-profiler/preflight.js';
      const out = {};
      const tool = (name, find, args) => {
        try {
          const path = find();
          out[name] = { path, output: execFileSync(path, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() };
        } catch (err) {
          out[name] = { error: String(err.message).split('\\n')[0] };
        }
      };
      tool('bpftrace', () => preflight('bpftrace'), ['--version']);
      tool('c++filt', () => findExecutable('c++filt') ?? (() => { throw new Error('c++filt is not on PATH'); })(), ['_ZN4node5StartEiPPc']);
      tool('ebpf-profiler', () => findEbpfProfiler(), ['-version']);
      console.log('TOOLS ' + JSON.stringify(out));
    `;
    const tools = new ImageProcess(IMAGE, ['node', '--input-type=module', '-e', script], { user: '0', caps: privilegedCaps() });
    started.push(tools);
    await tools.start(RUN_LOG);
    await tools.ended();
    const line = await tools.waitFor(/^TOOLS /, 1_000);
    const found = JSON.parse(line.slice('TOOLS '.length)) as Record<string, { path?: string; output?: string; error?: string }>;

    assert.equal(found.bpftrace.error, undefined, 'bpftrace is found and runs');
    assert.match(found.bpftrace.output ?? '', /^bpftrace v\d+\.\d+/);
    assert.equal(found['c++filt'].error, undefined, 'c++filt is found and runs');
    assert.equal(found['c++filt'].output, 'node::Start(int, char**)');
    assert.equal(found['ebpf-profiler'].error, undefined, 'the eBPF profiler is found without --ebpf-profiler');
    assert.equal(found['ebpf-profiler'].path, '/usr/local/bin/ebpf-profiler');
    assert.equal(found['ebpf-profiler'].output, PEER_VERSIONS.EBPF_PROFILER_VERSION, 'the pinned version (tools/peers/versions.env)');
  });

  test('`pilotlight node` (bpftrace, as the DaemonSet runs it: root, privileged, host PIDs) samples and its profiles reach the UI in the image', async () => {
    assert.ok(uiOtlpHttp > 0, 'the UI test ran first');
    const node = await start(['node', '--sampler', 'bpftrace', '--gateway', `http://127.0.0.1:${uiOtlpHttp}`, '--stats-interval', '2s'], {
      user: '0',
      caps: privilegedCaps(),
    });
    const running = await node.waitFor(/"msg":"node sampler running"/, 180_000);
    assert.match(running, /"sampler":"bpftrace"/, 'bpftrace is the default sampler');
    await node.waitFor(/"samples":[1-9].*"msg":"sampler stats"/, 60_000);
    // What it sent arrived: the UI lists the workloads it saw.
    const deadline = Date.now() + 60_000;
    let sources: SourcesResponse['sources'] = [];
    while (Date.now() < deadline) {
      sources = ((await (await fetch(`http://127.0.0.1:${uiPort}/api/sources`)).json()) as SourcesResponse).sources;
      if (sources.length > 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(sources.length > 0, `the UI saw no workload from the node sampler; its last lines:\n${node.tail(5)}`);
    await node.stop(RUN_LOG);
  });

  test("`pilotlight node --sampler ebpf-profiler` finds the image's profiler without flags, and runs it where the machine allows", async (t) => {
    const node = await start(['node', '--sampler', 'ebpf-profiler', '--gateway', `http://127.0.0.1:${uiOtlpHttp || 1}`, '--stats-interval', '0'], {
      user: '0',
      caps: privilegedCaps(),
    });
    const outcome = await Promise.race([node.waitFor(/"msg":"node sampler running"/, 180_000).then(() => 'running'), node.ended().then(() => 'ended')]);
    if (outcome === 'running') {
      assert.match(node.lines.join('\n'), /"sampler":"ebpf-profiler"/);
    } else {
      // It stopped: not for want of the profiler (that message names where it looked), but for
      // what this machine withholds from it, named in one line (preflight.ts's wording).
      const output = node.lines.join('\n');
      assert.doesNotMatch(output, /eBPF profiler is not installed|is not at .*--ebpf-profiler/, 'the image holds the profiler where the sampler looks');
      const why = /the eBPF profiler (needs|could not|found no|was not allowed)[^"\n]*/.exec(output)?.[0];
      assert.ok(why, `the sampler stopped without naming what the profiler lacks here:\n${node.tail(10)}`);
      t.diagnostic(`the image's eBPF profiler was found; this machine cannot run it: ${why}`);
    }
    await node.stop(RUN_LOG);
  });
});
