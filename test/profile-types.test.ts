import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startUiServer, type UiServer } from '../src/ui/server.js';
import { DEFAULT_LIMITS } from '../src/store/config.js';
import { encodeRequest } from '../src/otlp/codec.js';
import type { ProfileResponse } from '../src/api/types.js';
import { K8S_INVENTORY } from './helpers/fixtures.js';
import { CPU_PERIOD, EBPF_STACKS, T0, cpuAndOffCpuRequest } from './profile-types-fixture.js';

const KEY = 'default/Deployment/inventory';
const ENC = encodeURIComponent(KEY);

/** The eBPF profiler's CPU + off-CPU scope, plus a profile with no sample type name. */
function request(): Parameters<typeof encodeRequest>[0] {
  return cpuAndOffCpuRequest(EBPF_STACKS, K8S_INVENTORY, T0, (b) => {
    const typeless = b.profile(K8S_INVENTORY, { periodNanos: 0, sampleType: ['', ''], periodType: null });
    b.addSample(typeless, b.stackOfFrames([{ name: 'main' }]), { value: 1 });
  });
}

for (const encoding of ['protobuf', 'json'] as const) {
  test(`over OTLP/HTTP (${encoding}): CPU and off-CPU kept apart, a typeless profile counted in /metrics`, async () => {
    let ui: UiServer | undefined;
    try {
      ui = await startUiServer({ host: '127.0.0.1', port: 0, limits: DEFAULT_LIMITS, otlp: { grpc: false, http: { host: '127.0.0.1', port: 0 } } });
      const otlp = `http://127.0.0.1:${ui.otlp.http!.port}/v1development/profiles`;
      const post = (body: Uint8Array) =>
        fetch(otlp, {
          method: 'POST',
          headers: { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-protobuf' },
          body: Buffer.from(body),
        });
      assert.equal((await fetch(`${ui.url}/api/sources/${ENC}/profiling`, { method: 'POST' })).status, 200);

      const sent = await post(encodeRequest(request(), encoding));
      assert.equal(sent.status, 200, await sent.text());
      const cpu = (await (await fetch(`${ui.url}/api/sources/${ENC}/profile`)).json()) as ProfileResponse;
      assert.deepEqual(
        cpu.profileTypes.map((t) => [t.key, t.samples]),
        [
          ['cpu', 4],
          ['off_cpu', 12_000_000],
        ],
      );
      assert.deepEqual([cpu.type.key, cpu.samples, cpu.cpuNanos], ['cpu', 4, 4 * CPU_PERIOD]);
      const off = (await (await fetch(`${ui.url}/api/sources/${ENC}/profile?type=off_cpu`)).json()) as ProfileResponse;
      assert.deepEqual([off.type.key, off.samples, off.cpuNanos], ['off_cpu', 12_000_000, 0]);
      const metrics = await (await fetch(`${ui.url}/metrics`)).text();
      assert.match(metrics, /pilotlight_ui_profiles_skipped_total\{reason="missing_type"\} 1/);

      // A string index past the table is a malformed request: the receiver refuses it whole,
      // naming the field, before anything is stored (and before a gateway would forward it).
      const bad = request();
      bad.resourceProfiles[0].scopeProfiles[0].profiles[1].sampleType!.typeStrindex = 9999;
      const refused = await post(encodeRequest(bad, encoding));
      assert.equal(refused.status, 400);
      assert.match(await refused.text(), /sample_type\.type_strindex: 9999 out of range/);
      const after = (await (await fetch(`${ui.url}/api/sources/${ENC}/profile`)).json()) as ProfileResponse;
      assert.equal(after.samples, 4, 'nothing of the refused request was kept');
    } finally {
      await ui?.close();
    }
  });
}
