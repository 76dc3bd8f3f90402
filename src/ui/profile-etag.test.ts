import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUiApp } from './app.js';
import { ProfileStore } from '../store/store.js';
import { DEFAULT_LIMITS } from '../store/config.js';
import { requestFromFolded, K8S_INVENTORY } from '../../test/helpers/fixtures.js';
import { cpuAndOffCpuRequest } from '../../test/profile-types-fixture.js';
import { PROFILE_MEDIA_TYPE } from '../api/profile-codec.js';
import type { ProfileResponse } from '../api/types.js';
import { ingest } from '../../test/helpers/ingest.js';

const KEY = 'default/Deployment/inventory';
const URL = `/api/sources/${encodeURIComponent(KEY)}/profile`;

async function setup() {
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: 1 << 20 });
  const app = await buildUiApp({ store });
  await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent(KEY)}/profiling` });
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;work 3\nmain;idle 1' }]));
  return { store, app };
}

test('an unchanged profile is 304 Not Modified for the ETag the client holds, 200 with a new one after new data', async () => {
  const { store, app } = await setup();
  const first = await app.inject({ method: 'GET', url: URL });
  assert.equal(first.statusCode, 200);
  const tag = String(first.headers.etag);
  assert.match(tag, /^W\/"[A-Za-z0-9_-]+"$/);
  assert.equal(first.headers['cache-control'], 'no-cache');
  assert.match(String(first.headers.vary), /Accept/);

  for (let i = 0; i < 3; i++) {
    const again = await app.inject({ method: 'GET', url: URL, headers: { 'if-none-match': tag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.rawPayload.byteLength, 0, 'no body');
    assert.equal(again.headers.etag, tag);
  }
  // A list of tags, and the strong form of the same tag, match too (weak comparison).
  assert.equal((await app.inject({ method: 'GET', url: URL, headers: { 'if-none-match': `W/"other", ${tag}` } })).statusCode, 304);
  assert.equal((await app.inject({ method: 'GET', url: URL, headers: { 'if-none-match': tag.slice(2) } })).statusCode, 304);

  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;work 2' }]));
  const after = await app.inject({ method: 'GET', url: URL, headers: { 'if-none-match': tag } });
  assert.equal(after.statusCode, 200, 'new data: a full answer');
  assert.notEqual(after.headers.etag, tag);
  assert.equal((after.json() as ProfileResponse).samples, 6);
  assert.equal((await app.inject({ method: 'GET', url: URL, headers: { 'if-none-match': String(after.headers.etag) } })).statusCode, 304);
  await app.close();
});

test('the ETag names the question too: format, type, window and search', async () => {
  const { store, app } = await setup();
  ingest(store, cpuAndOffCpuRequest());
  const tagOf = async (url: string, headers: Record<string, string> = {}): Promise<string> => {
    const res = await app.inject({ method: 'GET', url, headers });
    assert.equal(res.statusCode, 200, res.body);
    return String(res.headers.etag);
  };
  const json = await tagOf(URL);
  const tags = [
    json,
    await tagOf(URL, { accept: PROFILE_MEDIA_TYPE }),
    await tagOf(`${URL}?type=off_cpu`),
    await tagOf(`${URL}?search=work`),
    await tagOf(`${URL}?from=0&to=${2 ** 52}`),
    await tagOf(`${URL}?from=1&to=${2 ** 52}`),
  ];
  assert.equal(new Set(tags).size, tags.length, 'every question has its own tag');
  // One question asked two ways (the default type is CPU here) is one answer.
  assert.equal(await tagOf(`${URL}?type=cpu`), json);
  // A tag of another question never gives a 304.
  const offCpu = await app.inject({ method: 'GET', url: `${URL}?type=off_cpu`, headers: { 'if-none-match': json } });
  assert.equal(offCpu.statusCode, 200);
  // The binary answer's 304 is per format as well.
  const bin = await app.inject({ method: 'GET', url: URL, headers: { accept: PROFILE_MEDIA_TYPE, 'if-none-match': json } });
  assert.equal(bin.statusCode, 200);
  assert.equal(bin.headers['content-type'], PROFILE_MEDIA_TYPE);
  await app.close();
});

test('a slot closed and opened again is new data, even with the same samples', async () => {
  const { store, app } = await setup();
  const tag = String((await app.inject({ method: 'GET', url: URL })).headers.etag);
  await app.inject({ method: 'DELETE', url: `/api/sources/${encodeURIComponent(KEY)}/profiling` });
  const gone = await app.inject({ method: 'GET', url: URL, headers: { 'if-none-match': tag } });
  assert.equal(gone.statusCode, 404, 'no slot: the error, not a 304');
  await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent(KEY)}/profiling` });
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;work 3\nmain;idle 1' }]));
  assert.equal((await app.inject({ method: 'GET', url: URL, headers: { 'if-none-match': tag } })).statusCode, 200);
  await app.close();
});

test('chunks dropped at the byte cap change the tag', async () => {
  const store = new ProfileStore({ ...DEFAULT_LIMITS, slotMaxBytes: 4096 });
  const app = await buildUiApp({ store });
  await app.inject({ method: 'POST', url: `/api/sources/${encodeURIComponent(KEY)}/profiling` });
  const tags = new Set<string>();
  for (let i = 0; i < 40; i++) {
    ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;work 3\nmain;idle 1' }]));
    const res = await app.inject({ method: 'GET', url: URL });
    tags.add(String(res.headers.etag));
  }
  assert.ok((await app.inject({ method: 'GET', url: '/api/slots' })).json().dropped.byteCapChunks > 0, 'old chunks were dropped');
  assert.equal(tags.size, 40, 'each chunk, kept or pushing an old one out, is a new version');
  await app.close();
});
