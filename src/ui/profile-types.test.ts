import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Profile as PprofProfile } from 'pprof-format';
import { buildUiApp } from './app.js';
import { ProfileStore } from '../store/store.js';
import { DEFAULT_LIMITS } from '../store/config.js';
import { encodeRequest } from '../otlp/codec.js';
import { RequestBuilder } from '../otlp/builder.js';
import { K8S_INVENTORY, requestFromFolded } from '../../test/helpers/fixtures.js';
import { CPU_PERIOD, T0, cpuAndOffCpuRequest } from '../../test/profile-types-fixture.js';
import type { ApiError, DiffResponse, ProfileResponse, SlotsResponse, TimelineResponse } from '../api/types.js';
import { ingest } from '../../test/helpers/ingest.js';

const KEY = 'default/Deployment/inventory';
const ENC = encodeURIComponent(KEY);

async function setup() {
  const store = new ProfileStore(DEFAULT_LIMITS);
  const app = await buildUiApp({ store });
  const on = await app.inject({ method: 'POST', url: `/api/sources/${ENC}/profiling` });
  assert.equal(on.statusCode, 200, on.body);
  const get = async <T>(url: string, status = 200): Promise<T> => {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, status, `${url}: ${res.body}`);
    return res.json() as T;
  };
  return { store, app, get };
}

test('GET profile: CPU by default, ?type=off_cpu the off-CPU profile; the response lists the types', async () => {
  const { store, get } = await setup();
  store.ingestEncoded(encodeRequest(cpuAndOffCpuRequest()));
  const cpu = await get<ProfileResponse>(`/api/sources/${ENC}/profile`);
  assert.deepEqual(cpu.profileTypes, [
    { key: 'cpu', label: 'CPU', unit: 'nanoseconds', samples: 4, events: 4 },
    { key: 'off_cpu', label: 'Off-CPU', unit: 'nanoseconds', samples: 12_000_000, events: 3 },
  ]);
  assert.equal(cpu.type.key, 'cpu');
  assert.deepEqual([cpu.samples, cpu.cpuNanos, cpu.periodNanos, cpu.flame.total[0]], [4, 4 * CPU_PERIOD, CPU_PERIOD, 4]);
  const off = await get<ProfileResponse>(`/api/sources/${ENC}/profile?type=off_cpu`);
  assert.deepEqual(off.type, { key: 'off_cpu', label: 'Off-CPU', unit: 'nanoseconds', samples: 12_000_000, events: 3 });
  assert.deepEqual([off.samples, off.cpuNanos, off.periodNanos, off.flame.total[0]], [12_000_000, 0, 0, 12_000_000]);
  const wait = off.symbols.find((s) => s.name === 'wait')!;
  assert.deepEqual([wait.self, wait.total], [7_000_000, 7_000_000]);
  assert.ok(!off.symbols.some((s) => s.name === 'work'), 'no CPU frames in the off-CPU profile');
  const ms0 = Number(T0 / 1_000_000n);
  const windowed = await get<ProfileResponse>(`/api/sources/${ENC}/profile?type=off_cpu&from=${ms0 + 4}&to=${ms0 + 5}`);
  assert.equal(windowed.samples, 3_000_000);
});

test('an unknown type is a 400 that lists the types there are, on every per-source endpoint', async () => {
  const { store, get } = await setup();
  store.ingestEncoded(encodeRequest(cpuAndOffCpuRequest()));
  for (const url of [
    `/api/sources/${ENC}/profile?type=alloc_space:bytes`,
    `/api/sources/${ENC}/timeline?type=alloc_space:bytes`,
    `/api/sources/${ENC}/profile.pb.gz?type=alloc_space:bytes`,
    `/api/diff?base=${ENC}&type=alloc_space:bytes`,
  ]) {
    const err = await get<ApiError>(url, 400);
    assert.equal(err.code, 'PL_UI_UNKNOWN_TYPE', url);
    assert.match(
      err.message,
      /type="alloc_space:bytes": no such profile type in default\/Deployment\/inventory; types there: cpu \(CPU\), off_cpu \(Off-CPU\)/,
      url,
    );
  }
  const empty = await get<ProfileResponse>(`/api/sources/${ENC}/profile?type=`);
  assert.equal(empty.type.key, 'cpu', 'an empty type is the default');
});

test('a slot without CPU data shows its first type by default; ?type=cpu is an empty CPU profile', async () => {
  const { store, get } = await setup();
  store.ingestEncoded(encodeRequest(cpuAndOffCpuRequest([{ frames: [{ name: 'main' }, { name: 'wait' }], offCpu: [[1, 10]] }])));
  const p = await get<ProfileResponse>(`/api/sources/${ENC}/profile`);
  assert.deepEqual([p.type.key, p.samples], ['off_cpu', 10]);
  const cpu = await get<ProfileResponse>(`/api/sources/${ENC}/profile?type=cpu`);
  assert.deepEqual([cpu.type, cpu.samples], [{ key: 'cpu', label: 'CPU', unit: 'nanoseconds', samples: 0, events: 0 }, 0]);
});

test('timeline, pprof download and diff follow the type', async () => {
  const { store, app, get } = await setup();
  store.ingestEncoded(encodeRequest(cpuAndOffCpuRequest()));
  const tl = await get<TimelineResponse>(`/api/sources/${ENC}/timeline?step=0.001&type=off_cpu`);
  assert.equal(tl.type.key, 'off_cpu');
  assert.deepEqual(
    tl.profileTypes.map((t) => t.key),
    ['cpu', 'off_cpu'],
  );
  assert.equal(
    tl.points.reduce((a, p) => a + p.samples, 0),
    12_000_000,
  );
  assert.equal(tl.periodNanos, 0);
  const cpuTl = await get<TimelineResponse>(`/api/sources/${ENC}/timeline?step=0.001`);
  assert.equal(cpuTl.type.key, 'cpu');
  assert.equal(
    cpuTl.points.reduce((a, p) => a + p.cpuNanos, 0),
    4 * CPU_PERIOD,
  );

  const pb = await app.inject({ method: 'GET', url: `/api/sources/${ENC}/profile.pb.gz?type=off_cpu` });
  assert.equal(pb.statusCode, 200);
  assert.match(String(pb.headers['content-disposition']), /filename="default-Deployment-inventory-off_cpu\.pb\.gz"/);
  const prof = PprofProfile.decode(gunzipSync(pb.rawPayload));
  assert.equal(prof.stringTable.strings[Number(prof.sampleType[0].type)], 'off_cpu');
  assert.equal(
    prof.sample.reduce((a, s) => a + Number(s.value[0]), 0),
    12_000_000,
  );

  const diff = await get<DiffResponse>(`/api/diff?base=${ENC}&type=off_cpu`);
  assert.deepEqual(diff.type, { key: 'off_cpu', label: 'Off-CPU', unit: 'nanoseconds' });
  assert.deepEqual([diff.base.samples, diff.target.samples, diff.target.cpuNanos], [12_000_000, 12_000_000, 0]);
  const cpuDiff = await get<DiffResponse>(`/api/diff?base=${ENC}`);
  assert.equal(cpuDiff.type.key, 'cpu');
  assert.equal(cpuDiff.target.samples, 4);
});

test('a cached CPU answer still lists a type that arrived since', async () => {
  const { store, get } = await setup();
  ingest(store, requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 3' }]));
  const first = await get<ProfileResponse>(`/api/sources/${ENC}/profile`);
  assert.deepEqual(
    first.profileTypes.map((t) => t.key),
    ['cpu'],
  );
  store.ingestEncoded(encodeRequest(cpuAndOffCpuRequest([{ frames: [{ name: 'main' }, { name: 'wait' }], offCpu: [[1, 10]] }])));
  const again = await get<ProfileResponse>(`/api/sources/${ENC}/profile`);
  assert.equal(again.samples, 3, 'the CPU tree did not change');
  assert.deepEqual(
    again.profileTypes.map((t) => t.key),
    ['cpu', 'off_cpu'],
  );
});

test('/metrics counts skipped profiles by reason; /api/slots has the same figures', async () => {
  const { store, app } = await setup();
  const b = new RequestBuilder();
  b.addSample(b.profile(K8S_INVENTORY, { periodNanos: CPU_PERIOD }), b.stackOfFrames([{ name: 'main' }]), { value: 2 });
  b.addSample(b.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: ['', ''], periodType: null }), b.stackOfFrames([{ name: 'main' }]), { value: 1 });
  store.ingestEncoded(encodeRequest(b.build()));
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  assert.match(metrics, /pilotlight_ui_profiles_skipped_total\{reason="missing_type"\} 1/);
  assert.match(metrics, /pilotlight_ui_profiles_skipped_total\{reason="unreadable_type"\} 0/);
  assert.match(metrics, /pilotlight_ui_profiles_skipped_total\{reason="duplicate_cpu"\} 0/);
  const slots = (await app.inject({ method: 'GET', url: '/api/slots' })).json() as SlotsResponse;
  assert.equal(slots.skippedProfiles.missing_type, 1);
  assert.equal(store.profile(KEY).samples, 2, 'the CPU profile of the same request is kept');
});
