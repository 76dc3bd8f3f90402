import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../config/load.js';
import { DEFAULT_LIMITS } from '../store/config.js';
import { configPath } from '../cli/up-command.js';
import { exporterTuning } from '../config/schema.js';
import { dialHost, targetOf, upPlan } from './plan.js';
import { browsable } from './up.js';

const defaults = parseConfig({});

test('running up without a file is the opt-in; with a file its profiling.enabled decides; a flag wins', () => {
  assert.equal(upPlan(defaults, undefined, {}, DEFAULT_LIMITS).enabled, true);
  assert.equal(upPlan(defaults, 'pilotlight.yaml', {}, DEFAULT_LIMITS).enabled, false);
  assert.equal(upPlan(parseConfig({ profiling: { enabled: true } }), 'pilotlight.yaml', {}, DEFAULT_LIMITS).enabled, true);
  const off = upPlan(parseConfig({ profiling: { enabled: true } }), 'pilotlight.yaml', { profiling: false }, DEFAULT_LIMITS);
  assert.deepEqual([off.enabled, off.enabledBy], [false, '--no-profiling']);
  assert.equal(upPlan(defaults, 'pilotlight.yaml', {}, DEFAULT_LIMITS).enabledBy, 'profiling.enabled in pilotlight.yaml');
});

test('the file sets ports and rates, flags override them', () => {
  const config = parseConfig({
    profiling: { ui: { port: 8080, otlp: { http: { port: 0 } } }, node: { hz: 49, interval: '2s' }, gateway: { grpc: { host: '0.0.0.0', port: 5317 } } },
  });
  const fromFile = upPlan(config, 'f.yaml', {}, DEFAULT_LIMITS);
  assert.deepEqual(fromFile.ui, {
    host: '127.0.0.1',
    port: 8080,
    otlpGrpc: { host: '127.0.0.1', port: 14317 },
    otlpHttp: { host: '127.0.0.1', port: 0 },
    limits: DEFAULT_LIMITS,
  });
  assert.deepEqual(fromFile.node, { hz: 49, intervalMs: 2000, bpftrace: 'bpftrace' });
  assert.deepEqual(fromFile.gateway.grpc, { host: '0.0.0.0', port: 5317 });
  const flagged = upPlan(config, 'f.yaml', { port: 0, hz: 99, interval: 500, gatewayGrpc: false, bpftrace: '/opt/bt' }, DEFAULT_LIMITS);
  assert.equal(flagged.ui.port, 0);
  assert.deepEqual(flagged.node, { hz: 99, intervalMs: 500, bpftrace: '/opt/bt' });
  assert.equal(flagged.gateway.grpc, false);
});

test('a plan whose parts cannot reach each other is refused, naming the key', () => {
  assert.throws(
    () => upPlan(defaults, undefined, { gatewayGrpc: false, gatewayHttp: false }, DEFAULT_LIMITS),
    /^ConfigFileError: flags: profiling\.gateway: both grpc and http are off/,
  );
  assert.throws(
    () => upPlan(defaults, 'x.yaml', { uiOtlpGrpc: false, uiOtlpHttp: false }, DEFAULT_LIMITS),
    /^ConfigFileError: x\.yaml: profiling\.ui\.otlp: both receivers are off/,
  );
});

test('parts are dialled on loopback when bound to a wildcard, gRPC preferred', () => {
  assert.equal(dialHost('0.0.0.0'), '127.0.0.1');
  assert.equal(dialHost('::'), '[::1]');
  assert.equal(dialHost('::1'), '[::1]');
  assert.equal(dialHost('10.0.0.5'), '10.0.0.5');
  assert.deepEqual(targetOf({ grpc: { host: '0.0.0.0', port: 1 }, http: { host: '0.0.0.0', port: 2 } }), { protocol: 'grpc', endpoint: '127.0.0.1:1' });
  assert.deepEqual(targetOf({ grpc: { host: '0.0.0.0', port: 1 }, http: { host: '0.0.0.0', port: 2 } }, 'http'), {
    protocol: 'http',
    endpoint: 'http://127.0.0.1:2',
  });
  assert.deepEqual(targetOf({ grpc: { host: '0.0.0.0', port: 1 } }, 'http'), { protocol: 'grpc', endpoint: '127.0.0.1:1' });
  assert.deepEqual(targetOf({ http: { host: '127.0.0.1', port: 2 } }), { protocol: 'http', endpoint: 'http://127.0.0.1:2' });
  assert.equal(browsable('http://0.0.0.0:3000'), 'http://127.0.0.1:3000');
  assert.equal(browsable('http://[::]:3000'), 'http://[::1]:3000');
  assert.equal(browsable('http://127.0.0.1:3000'), 'http://127.0.0.1:3000');
});

test('every hop gets the exporter tuning of profiling.exporter', () => {
  const config = parseConfig({
    profiling: { exporter: { enableDataCompression: false, timeout: '2s', retryOnFailure: { maxElapsedTime: '1m' }, queue: { maxItems: 7 } } },
  });
  assert.deepEqual(exporterTuning(config), {
    enableDataCompression: false,
    timeout: 2000,
    retryOnFailure: { enabled: true, initialInterval: 5000, maxInterval: 30_000, maxElapsedTime: 60_000 },
    sendingQueue: { maxItems: 7, maxBytes: 64 * 1024 * 1024 },
  });
});

test('the config file: --config, else $PILOTLIGHT_CONFIG, else ./pilotlight.yaml when present', () => {
  assert.equal(
    configPath('a.yaml', { PILOTLIGHT_CONFIG: 'b.yaml' }, () => true),
    'a.yaml',
  );
  assert.equal(
    configPath(undefined, { PILOTLIGHT_CONFIG: 'b.yaml' }, () => true),
    'b.yaml',
  );
  assert.equal(
    configPath(undefined, {}, () => true),
    'pilotlight.yaml',
  );
  assert.equal(
    configPath(undefined, { PILOTLIGHT_CONFIG: '' }, () => false),
    undefined,
  );
});

test('pilotlight.example.yaml shows every default, and its commented destinations are valid', async () => {
  const { readFile } = await import('node:fs/promises');
  const { parse } = await import('yaml');
  const text = await readFile(new URL('../../pilotlight.example.yaml', import.meta.url), 'utf8');
  const example = parseConfig(parse(text), 'pilotlight.example.yaml');
  assert.deepEqual(example, parseConfig({ profiling: { enabled: true } }));
  // Uncomment the destination examples: they must pass as written.
  const destinations = text
    .slice(text.indexOf('destinations: []'))
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^#/, ''))
    .join('\n');
  const withDestinations = parseConfig(parse(text.replace(/destinations: \[\][^]*$/, `destinations:\n${destinations}`)));
  assert.deepEqual(
    withDestinations.destinations.map((d) => [d.type, d.name]),
    [
      ['pyroscope', 'pyroscope'],
      ['otlp', 'collector'],
    ],
  );
});
