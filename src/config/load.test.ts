import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig } from './load.js';
import { exporterTuning, PYROSCOPE_DROPPED_ATTRIBUTES } from './schema.js';
import { parseDuration } from './duration.js';
import { exporterConfigSchema } from '../pipeline/exporter/exporter-config.js';

test('defaults: profiling off, exporter tuning as the Helm values name it', () => {
  const c = parseConfig({});
  assert.equal(c.profiling.enabled, false);
  assert.deepEqual(c.profiling.exporter, {
    enableDataCompression: false,
    timeout: 5000,
    retryOnFailure: { enabled: true, initialInterval: 5000, maxInterval: 30_000, maxElapsedTime: 300_000 },
    queue: { maxItems: 1000, maxBytes: 64 * 1024 * 1024 },
  });
  // An exporter given no tuning (tests, code) has the file's defaults: compression off too.
  const bare = exporterConfigSchema.parse({ endpoint: '127.0.0.1:4317' });
  const { multiplier, randomizationFactor, ...retry } = bare.retryOnFailure;
  const { numConsumers, ...queue } = bare.sendingQueue;
  assert.deepEqual([multiplier, randomizationFactor, numConsumers], [1.5, 0.5, 4], 'tuning the file does not name');
  assert.deepEqual({ enableDataCompression: bare.enableDataCompression, timeout: bare.timeout, retryOnFailure: retry, sendingQueue: queue }, exporterTuning(c));
  assert.equal(c.profiling.ui.maxSlots, 24);
  assert.equal(c.profiling.ui.slotMaxBytes, 8388608);
  assert.equal(c.profiling.node.hz, 20);
  assert.deepEqual(c.destinations, []);
});

test('durations read as Helm writes them', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration(2), 2000);
  assert.equal(parseDuration('2'), 2000, 'a bare number is seconds, as a number or as text');
  assert.throws(() => parseDuration('soon'), /bad duration "soon"/);
});

test('a YAML file with destinations parses; bad keys and values are named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pilotlight-config-'));
  const good = join(dir, 'good.yaml');
  await writeFile(
    good,
    `profiling:
  enabled: true
  exporter:
    timeout: 2s
    retryOnFailure:
      maxElapsedTime: 1m
destinations:
  - type: pyroscope
    url: http://pyroscope:4040
    tenant: team-a
  - type: otlp
    name: collector
    endpoint: collector:4317
`,
  );
  const c = await loadConfigFile(good);
  assert.equal(c.profiling.enabled, true);
  assert.equal(c.profiling.exporter.timeout, 2000);
  assert.equal(c.profiling.exporter.retryOnFailure.maxElapsedTime, 60_000);
  assert.equal(c.profiling.exporter.retryOnFailure.initialInterval, 5000);
  assert.deepEqual(
    c.destinations.map((d) => d.name),
    ['pyroscope', 'collector'],
  );

  const bad: [string, RegExp][] = [
    ['profiling:\n  enabeld: true\n', /bad\.yaml: profiling: unknown key "enabeld"/],
    ['profiling:\n  ui:\n    maxSlots: many\n', /bad\.yaml: profiling\.ui\.maxSlots: .*expected number/i],
    ['profiling:\n  exporter:\n    timeout: soon\n', /profiling\.exporter\.timeout: bad duration "soon"/],
    ['destinations:\n  - type: pyroscope\n    url: not a url\n', /destinations\[0\]\.url: /],
    ['profiling: [\n', /not valid YAML/],
  ];
  for (const [text, re] of bad) {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, text);
    await assert.rejects(loadConfigFile(file), re, text);
  }
  await assert.rejects(loadConfigFile(join(dir, 'missing.yaml')), /missing\.yaml: ENOENT/);
});

test('destination defaults by type: Pyroscope reshaped and retrying 500, OTLP as received under the OTLP rules', () => {
  const [pyro, otlp, off] = parseConfig({
    destinations: [
      { type: 'pyroscope', url: 'http://pyroscope:4040' },
      { type: 'otlp', endpoint: 'collector:4317' },
      { type: 'pyroscope', name: 'all', url: 'http://pyroscope:4040', attributes: { drop: [] }, retryOnHttpStatus: [] },
    ],
  }).destinations;
  assert.deepEqual([pyro.attributes, pyro.retryOnHttpStatus], [{ serviceNameFromWorkload: true, drop: [...PYROSCOPE_DROPPED_ATTRIBUTES] }, [500]]);
  assert.ok(otlp.type === 'otlp');
  assert.deepEqual([otlp.attributes, otlp.retryOnHttpStatus, otlp.retryOnGrpcStatus], [{ serviceNameFromWorkload: false, drop: [] }, [], []]);
  // `drop: []` keeps the other defaults of `attributes`.
  assert.deepEqual([off.attributes, off.retryOnHttpStatus], [{ serviceNameFromWorkload: true, drop: [] }, []]);
  // Defaults are fresh per parse: changing one config leaves the next one as it was.
  pyro.attributes.drop.push('x');
  assert.deepEqual(parseConfig({ destinations: [{ type: 'pyroscope', url: 'http://p:4040' }] }).destinations[0].attributes.drop, [
    ...PYROSCOPE_DROPPED_ATTRIBUTES,
  ]);
});
