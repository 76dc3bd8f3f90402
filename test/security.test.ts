import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { create } from '@bufbuild/protobuf';
import { RequestBuilder } from '../src/otlp/builder.js';
import { LineSchema, LocationSchema } from '../src/otlp/messages.js';
import { encodeRequest } from '../src/otlp/codec.js';
import { exportMethod } from '../src/pipeline/otlp-grpc.js';
import { decodeRpcStatus } from '../src/pipeline/rpc-status.js';
import type { ProfileResponse, SourcesResponse } from '../src/api/types.js';
import { startUiServer, type UiServer } from '../src/ui/server.js';

/**
 * The UI process as an attacker meets it: hostile names in profiles come back out of the API
 * as the exact text (JSON, never markup), bodies and inflated sizes are bounded, the bearer
 * token guards both OTLP transports, and static files never leave the web root. The browser
 * side of "names render as text" is in test/web-ui.test.ts.
 */

const TOKEN = 'tok-3f9a';
const SECRET = 'SECRET-5a1c-do-not-serve';

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'quote\' " back\\slash',
  'nul\u0000byte',
  'line\nbreak\r\nheader: injected',
  '{{constructor.constructor("alert(1)")()}}',
  '${7*7}',
  '../../etc/passwd',
  '%2e%2e%2f%00',
  '\u202eRTL override',
  '🔥 émoji',
  '__proto__',
  'x'.repeat(5000),
];

interface Env {
  ui: UiServer;
  webRoot: string;
  dir: string;
  otlpHttp: string;
  grpcAddr: string;
}

async function start(dir: string, opts: { maxRequestBytes?: number; maxDecompressedBytes?: number } = {}): Promise<Env> {
  const webRoot = join(dir, 'web');
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>index</title>');
  writeFileSync(join(webRoot, 'hello.txt'), 'hello from the web root');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  writeFileSync(join(dir, 'package.json'), `{"name":"${SECRET}"}`);
  const ui = await startUiServer({
    host: '127.0.0.1',
    port: 0,
    webRoot,
    otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, bearerToken: TOKEN, ...opts },
  });
  return { ui, webRoot, dir, otlpHttp: `http://127.0.0.1:${ui.otlp.http!.port}/v1development/profiles`, grpcAddr: `127.0.0.1:${ui.otlp.grpc!.port}` };
}

function post(env: Env, body: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(env.otlpHttp, {
    method: 'POST',
    body: body as Uint8Array<ArrayBuffer>,
    headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${TOKEN}`, ...headers },
  });
}

function grpcExport(addr: string, bytes: Uint8Array, authorization?: string, gzip = false): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(
    addr,
    grpc.credentials.createInsecure(),
    gzip ? { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip } : {},
  );
  const md = new grpc.Metadata();
  if (authorization !== undefined) md.set('authorization', authorization);
  return new Promise((resolve) => {
    client.makeUnaryRequest(exportMethod.path, exportMethod.requestSerialize, exportMethod.responseDeserialize, bytes, md, (err) => {
      client.close();
      resolve(err ?? undefined);
    });
  });
}

/** A GET with the path sent byte for byte (fetch and URL would normalize `..` away). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string; type: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'GET', path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hostile names in profiles', () => {
  let env: Env;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pilotlight-sec-'));
    env = await start(dir);
  });
  after(async () => {
    await env.ui.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every name field comes back from the API as the exact text, in JSON', async () => {
    const b = new RequestBuilder();
    const workloads: { ns: string; name: string }[] = [];
    for (const [i, s] of HOSTILE.entries()) {
      // Workload names are trimmed and the namespace ends at the first slash; keep both intact.
      // Kubernetes names stop at 63 (namespace) and 253 characters.
      const ns = `ns-${i}-${s.replace(/\//g, '_').trim()}`.slice(0, 63);
      const name = `w-${s}`.trim().slice(0, 253);
      workloads.push({ ns, name });
      const p = b.profile({ 'k8s.namespace.name': ns, 'k8s.deployment.name': name, 'service.name': s }, { periodNanos: 1_000_000 });
      const binary = `lib${s.replace(/\//g, '_')}.so`;
      const mapping = b.mapping(`/opt/${binary}`, 0x1000n, 0x2000n, 0n, { 'build.id': s });
      const named = b.location({ name: `fn ${s}`, file: `file ${s}`, line: 7, kind: s });
      const bare = b.location({ address: 0x1234n }, mapping);
      const dict = b.dictionary;
      // A function known only by its system name.
      const sys = dict.functionTable.push({ ...dict.functionTable[0], systemNameStrindex: b.string(`sys ${s}`) }) - 1;
      const sysLoc = dict.locationTable.push(create(LocationSchema, { lines: [create(LineSchema, { functionIndex: sys })] })) - 1;
      b.addSample(p, b.stack([named, bare, sysLoc]), { value: 3, attributes: { 'thread.name': s } });
    }
    for (const w of workloads) {
      const r = await fetch(`${env.ui.url}/api/sources/${encodeURIComponent(`${w.ns}/Deployment/${w.name}`)}/profiling`, { method: 'POST' });
      assert.equal(r.status, 200, await r.text());
    }
    assert.equal((await post(env, encodeRequest(b.build()))).status, 200);

    const sources = await fetch(`${env.ui.url}/api/sources`);
    assert.match(sources.headers.get('content-type') ?? '', /^application\/json/);
    const list = ((await sources.json()) as SourcesResponse).sources;
    for (const [i, s] of HOSTILE.entries()) {
      const w = workloads[i];
      const src = list.find((x) => x.namespace === w.ns);
      assert.ok(src, `source for ${JSON.stringify(w.ns).slice(0, 60)}`);
      assert.equal(src.name, w.name);
      assert.equal(src.key, `${w.ns}/Deployment/${w.name}`);

      const res = await fetch(`${env.ui.url}/api/sources/${encodeURIComponent(src.key)}/profile`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const text = await res.text();
      const profile = JSON.parse(text) as ProfileResponse;
      assert.equal(profile.key, src.key);
      const f = profile.flame.frames;
      assert.ok(f.name.includes(`fn ${s}`), `function name ${i}`);
      assert.ok(f.file.includes(`file ${s}`), `file name ${i}`);
      assert.ok(f.kind.includes(s), `frame kind attribute ${i}`);
      assert.ok(f.name.includes(`sys ${s}`), `system name ${i}`);
      assert.ok(f.binary.includes(`lib${s.replace(/\//g, '_')}.so`), `mapping file name ${i}`);
      assert.ok(
        profile.symbols.some((row) => JSON.stringify(row).includes(JSON.stringify(`fn ${s}`).slice(1, -1))),
        `symbols row ${i}`,
      );
      // JSON escapes what would break out of a string; nothing is turned into anything else.
      assert.ok(![...text].some((c) => c.charCodeAt(0) < 0x20), 'control characters are escaped');

      const pprof = await fetch(`${env.ui.url}/api/sources/${encodeURIComponent(src.key)}/profile.pb.gz`);
      assert.equal(pprof.status, 200);
      const disposition = pprof.headers.get('content-disposition') ?? '';
      assert.match(disposition, /^attachment; filename="[A-Za-z0-9._-]+\.pb\.gz"$/);
    }
  });

  test('a hostile source key in the URL is echoed only inside JSON', async () => {
    for (const s of HOSTILE.slice(0, 6)) {
      const res = await fetch(`${env.ui.url}/api/sources/${encodeURIComponent(`a/B/${s}`)}/profile`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as { message: string };
      assert.ok(body.message.includes(`a/B/${s}`));
    }
  });
});

describe('limits and the bearer token', () => {
  let env: Env;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pilotlight-sec-'));
    env = await start(dir, { maxRequestBytes: 1 << 20, maxDecompressedBytes: 4 << 20 });
  });
  after(async () => {
    await env.ui.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const GOOD = encodeRequest(new RequestBuilder().build());

  test('bearer token: missing or wrong is 401 over HTTP and UNAUTHENTICATED over gRPC; right passes', async () => {
    for (const auth of [undefined, '', 'Bearer', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, `Bearer  ${TOKEN} extra`]) {
      const headers: Record<string, string> = { authorization: auth ?? '' };
      const r = await fetch(env.otlpHttp, {
        method: 'POST',
        body: GOOD as Uint8Array<ArrayBuffer>,
        headers: { 'content-type': 'application/x-protobuf', ...(auth === undefined ? {} : headers) },
      });
      assert.equal(r.status, 401, `HTTP with ${JSON.stringify(auth)}`);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      const err = await grpcExport(env.grpcAddr, GOOD, auth);
      assert.equal(err?.code, grpc.status.UNAUTHENTICATED, `gRPC with ${JSON.stringify(auth)}`);
    }
    // The token is checked before the body is read: a huge body without it is still 401.
    assert.equal(
      (
        await fetch(env.otlpHttp, {
          method: 'POST',
          body: Buffer.alloc(2 << 20) as Uint8Array<ArrayBuffer>,
          headers: { 'content-type': 'application/x-protobuf' },
        })
      ).status,
      401,
    );
    assert.equal((await post(env, GOOD)).status, 200);
    assert.equal((await post(env, GOOD, { authorization: `bearer ${TOKEN}` })).status, 200, 'the scheme is case-insensitive');
    assert.equal(await grpcExport(env.grpcAddr, GOOD, `Bearer ${TOKEN}`), undefined);
  });

  test('a body past maxRequestBytes is 413 and the receiver keeps serving', async () => {
    const r = await post(env, Buffer.alloc((1 << 20) + 1));
    assert.equal(r.status, 413);
    assert.match(decodeRpcStatus(Buffer.from(await r.arrayBuffer()))!.message, /maxRequestBytes/);
    assert.equal((await post(env, GOOD)).status, 200);
  });

  test('a gzip bomb is refused while inflating: 8 GiB of zeros in an 8 MB body would not fit in memory', async () => {
    // 64 MiB of zeros compress to ~64 KB; gzip members concatenate, so 128 of them inflate to
    // 8 GiB — more than a Buffer can hold, so only a bounded inflate can answer at all.
    const member = gzipSync(Buffer.alloc(64 << 20), { level: 9 });
    const small = await start(mkdtempSync(join(tmpdir(), 'pilotlight-sec-')), { maxRequestBytes: 16 << 20, maxDecompressedBytes: 4 << 20 });
    try {
      const bomb = Buffer.concat(Array.from({ length: 128 }, () => member));
      const r = await post(small, bomb, { 'content-encoding': 'gzip' });
      assert.equal(r.status, 413);
      assert.match(decodeRpcStatus(Buffer.from(await r.arrayBuffer()))!.message, /decompressed request exceeds maxDecompressedBytes = 4194304/);
      assert.equal((await post(small, GOOD)).status, 200);
    } finally {
      await small.ui.close();
      rmSync(small.dir, { recursive: true, force: true });
    }
  });

  test('gRPC: a compressed message inflating past maxDecompressedBytes is RESOURCE_EXHAUSTED', async () => {
    const b = new RequestBuilder();
    const p = b.profile({ 'service.name': 'big' }, { periodNanos: 1 });
    b.addSample(p, b.stackOfFrames([{ name: 'a'.repeat(5 << 20) }]), { value: 1 });
    const big = encodeRequest(b.build());
    const err = await grpcExport(env.grpcAddr, big, `Bearer ${TOKEN}`, true);
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(await grpcExport(env.grpcAddr, GOOD, `Bearer ${TOKEN}`, true), undefined);
  });
});

describe('static files', () => {
  let env: Env;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pilotlight-sec-'));
    env = await start(dir);
  });
  after(async () => {
    await env.ui.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('files in the web root are served', async () => {
    const r = await rawGet(env.ui.url, '/hello.txt');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello from the web root');
    assert.equal((await rawGet(env.ui.url, '/assets/app.js')).body, 'console.log(1)');
  });

  test('path traversal out of the web root is refused in every spelling', async () => {
    const paths = [
      '/../secret.txt',
      '/../package.json',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/package.json',
      '/.%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/..%2fsecret.txt',
      '/..%2Fpackage.json',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/%252e%252e/secret.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '//../secret.txt',
      '/./../secret.txt',
      '/assets/..%00/../secret.txt',
      '/hello.txt%00/../../secret.txt',
      `/${'../'.repeat(12)}secret.txt`,
      `/..%2f..%2f..%2f..%2f${dir.split('/').filter(Boolean).map(encodeURIComponent).join('%2f')}%2fsecret.txt`,
    ];
    for (const path of paths) {
      const r = await rawGet(env.ui.url, path);
      assert.ok(!r.body.includes(SECRET), `${path} served the file outside the web root (${r.status})`);
      // Refused outright, or the web app's index page (its client-side route fallback).
      assert.ok(r.status >= 400 || r.body.includes('<title>index</title>'), `${path}: ${r.status} ${r.body.slice(0, 80)}`);
    }
  });
});
