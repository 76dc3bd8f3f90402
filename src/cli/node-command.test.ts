import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../config/schema.js';
import { exporterSettings } from './node-command.js';

const defaults = configSchema.parse({ profiling: { enabled: true } });
const flags = { pid: [], cgroup: [], workload: [], statsInterval: 0, logLevel: 'info' };

test('the node sends over OTLP/HTTP to the local gateway by default', () => {
  const s = exporterSettings(flags, defaults);
  assert.equal(s.endpoint, 'http://127.0.0.1:4318');
  assert.equal(s.protocol, 'http');
});

test('--gateway alone picks the transport by its form: a URL is OTLP/HTTP, host:port is gRPC', () => {
  assert.equal(exporterSettings({ ...flags, gateway: 'collector:4317' }, defaults).protocol, 'grpc');
  assert.equal(exporterSettings({ ...flags, gateway: 'https://collector:4318' }, defaults).protocol, 'http');
  // --protocol still wins.
  assert.equal(exporterSettings({ ...flags, gateway: 'collector:4317', protocol: 'grpc' }, defaults).protocol, 'grpc');
  // The file's endpoint and protocol go together when --gateway is not given.
  const file = configSchema.parse({ profiling: { enabled: true, node: { gateway: { endpoint: 'gw:4317', protocol: 'grpc' } } } });
  assert.deepEqual([exporterSettings(flags, file).endpoint, exporterSettings(flags, file).protocol], ['gw:4317', 'grpc']);
});
