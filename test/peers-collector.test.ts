import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { encodeRequest, PROTOBUF_CONTENT_TYPE } from '../src/otlp/codec.js';
import { Gateway } from '../src/gateway/gateway.js';
import type { ExportProfilesServiceRequest } from '../src/otlp/messages.js';
import { keyValues } from '../src/otlp/attributes.js';
import { consumerOf } from '../src/pipeline/consumer.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import { startUiServer } from '../src/ui/server.js';
import { buildCBurner, hasGcc } from './burners/build.js';
import { ebpfUnavailable, startChild } from './helpers/ebpf.js';
import { requestFromFolded } from './helpers/fixtures.js';
import { collectorBinary, PEER_VERSIONS, startCollector } from './helpers/peers.js';
import { foldedOf, samplesThrough, UiClient } from './helpers/ui-client.js';
import { CLI } from './helpers/cli.js';

/** A burner whose functions have names only this run knows: `<tag>_outer` calls `<tag>_inner`. */
function uniqueBurner(): { path: string; outer: string; inner: string } {
  const tag = `plc_${randomBytes(4).toString('hex')}`;
  const outer = `${tag}_outer`;
  const inner = `${tag}_inner`;
  return { path: buildCBurner([`-Dpl_burn_outer=${outer}`, `-Dpl_burn_inner=${inner}`]), outer, inner };
}

async function startUi(t: TestContext) {
  const ui = await startUiServer({ port: 0, otlp: { grpc: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } } });
  t.after(() => ui.close());
  return { ui, client: new UiClient(ui.url) };
}

for (const protocol of ['grpc', 'http'] as const) {
  test(`pilotlight node -> real OpenTelemetry Collector (OTLP/${protocol} in, profiles pipeline) -> Pilotlight UI`, async (t) => {
    const collector = collectorBinary();
    if (!collector.path) return t.skip(collector.why);
    const why = ebpfUnavailable();
    if (why) return t.skip(why);
    if (!hasGcc()) return t.skip('gcc is not installed (the test burner is C)');

    const { ui, client } = await startUi(t);
    const col = await startCollector(t, collector.path, { 'otlp_grpc/ui': { endpoint: `127.0.0.1:${ui.otlp.grpc!.port}`, tls: { insecure: true } } });
    const burner = uniqueBurner();
    const service = `pl-col-${protocol}-${randomBytes(3).toString('hex')}`;
    const key = `host/Service/${service}`;
    await client.enable(key);
    const child = startChild(t, burner.path, ['60'], { OTEL_SERVICE_NAME: service });
    const gateway = protocol === 'grpc' ? `127.0.0.1:${col.ports.grpc}` : `http://127.0.0.1:${col.ports.http}`;
    const node = startChild(t, process.execPath, [
      ...CLI,
      'node',
      '--sampler',
      'bpftrace',
      '--pid',
      String(child.pid),
      '--gateway',
      gateway,
      '--interval',
      '500ms',
    ]);
    const p = await client.profileWhen(
      key,
      (p) => samplesThrough(p, `main;${burner.outer};${burner.inner}`) >= 20,
      `20 samples of ${burner.inner} through the Collector`,
    );
    node.kill('SIGTERM');

    const through = samplesThrough(p, `main;${burner.outer};${burner.inner}`);
    assert.ok(through >= p.samples * 0.8, `the burner's chain, root first, holds most samples (${through}/${p.samples}):\n${foldedOf(p)}`);
    const inner = p.symbols.find((s) => s.name === burner.inner);
    assert.ok(inner && inner.kind === 'native', `${burner.inner} is a named native frame`);
    assert.equal(p.periodNanos, 50_000_000, 'the period (20 Hz) survives the Collector');
  });
}

test('OpenTelemetry Collector exporters (otlp gRPC, otlphttp protobuf, otlphttp JSON) -> Pilotlight gateway -> UI: every sample, every attribute', async (t) => {
  const collector = collectorBinary();
  if (!collector.path) return t.skip(collector.why);

  const { ui, client } = await startUi(t);
  // A second gateway target that keeps what the gateway forwards: the Collector's bytes as they came.
  const forwarded: ExportProfilesServiceRequest[] = [];
  const recorder = new Receiver({ grpc: false, http: { host: '127.0.0.1', port: 0 }, consumer: consumerOf((b) => void forwarded.push(b.request)) });
  const rec = await recorder.start();
  t.after(() => recorder.stop());
  const gateway = new Gateway({
    receiver: { grpc: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } },
    exporters: [
      { name: 'ui', protocol: 'grpc', endpoint: `127.0.0.1:${ui.otlp.grpc!.port}` },
      { name: 'recorder', protocol: 'http', endpoint: `http://127.0.0.1:${rec.http!.port}`, enableDataCompression: false },
    ],
  });
  const addrs = await gateway.start();
  t.after(() => gateway.stop(2000));

  const col = await startCollector(t, collector.path, {
    'otlp_grpc/gw': { endpoint: `127.0.0.1:${addrs.grpc!.port}`, tls: { insecure: true } },
    'otlp_http/gw': { endpoint: `http://127.0.0.1:${addrs.http!.port}` },
    'otlp_http/gwjson': { endpoint: `http://127.0.0.1:${addrs.http!.port}`, encoding: 'json' },
  });

  const resource = { 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout', 'k8s.pod.name': 'checkout-7d9f-abc', 'host.name': 'node-1' };
  const key = 'shop/Deployment/checkout';
  await client.enable(key);
  const folded = 'main;handle;price;discount 7\nmain;handle;render 3\nmain;idle 2';
  const body = Buffer.from(encodeRequest(requestFromFolded([{ resource, folded }])));
  const res = await fetch(`http://127.0.0.1:${col.ports.http}/v1development/profiles`, {
    method: 'POST',
    headers: { 'content-type': PROTOBUF_CONTENT_TYPE },
    body,
  });
  assert.equal(res.status, 200, await res.text());

  // Three Collector exporters, one copy each, all read under the Deployment's key.
  await client.profileWhen(key, (p) => p.samples >= 36, 'three copies of 12 samples', 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  const p = await client.profile(key);
  assert.equal(p.samples, 36, `exactly three copies arrived:\n${foldedOf(p)}`);
  assert.equal(samplesThrough(p, 'main;handle;price;discount'), 21);
  assert.equal(samplesThrough(p, 'main;handle;render'), 9);
  assert.equal(p.periodNanos, 50_000_000);

  // What the Collector's exporters wrote, as forwarded: resource attributes by plain key or by
  // string-table reference (the gateway resolves either; Pyroscope reads only plain keys).
  assert.equal(forwarded.length, 3);
  for (const req of forwarded) {
    const attrs = tableResourceAttributes(req);
    assert.equal(attrs['k8s.deployment.name'], 'checkout', JSON.stringify(attrs));
  }
  const byRef = forwarded.filter((req) => req.resourceProfiles.some((rp) => rp.resource?.attributes.some((kv) => kv.key === '' && kv.keyStrindex > 0))).length;
  t.diagnostic(`Collector ${PEER_VERSIONS.COLLECTOR_BUILDER_VERSION}: ${byRef} of 3 forwarded requests carry resource keys as string-table references`);
});

/** A request's first resource's attributes, keys and string values resolved through the string table. */
function tableResourceAttributes(req: ExportProfilesServiceRequest): Record<string, unknown> {
  return keyValues(req.resourceProfiles[0].resource?.attributes, req.dictionary?.stringTable ?? []);
}
