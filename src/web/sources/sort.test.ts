import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceInfo } from '../../ui/api-types.js';
import { DEFAULT_SOURCE_SORT, filterSources, formatCores, nextSort, sortSources } from './sort.js';

function src(key: string, cpuCores: number, extra: Partial<SourceInfo> = {}): SourceInfo {
  const [namespace, kind, name] = key.split('/');
  return {
    key,
    namespace,
    kind,
    name,
    lastSeenAt: 1_000_000,
    cpuCores,
    cpuSeries: [],
    profiling: { active: false, bytes: 0, chunks: 0, samples: 0, lastDataAt: null, expiresAt: null },
    ...extra,
  };
}

const keys = (rows: SourceInfo[]): string[] => rows.map((s) => s.key);

test('busiest first by default; equal shown cores put workloads before containers and processes', () => {
  const rows = [
    src('host/Process/bash', 0),
    src('host/Process/kworker/0:1', 0.001),
    src('host/Container/redis', 0),
    src('host/Service/demo-imaging', 0.41),
    src('host/Process/ffmpeg', 2.5),
    src('host/Service/demo-shop', 0.52),
    src('default/Deployment/idle', 0),
    src('host/Service/quiet', 0.001),
  ];
  assert.deepEqual(keys(sortSources(rows, DEFAULT_SOURCE_SORT)), [
    'host/Process/ffmpeg',
    'host/Service/demo-shop',
    'host/Service/demo-imaging',
    // "<0.01 cores": the Service before the process.
    'host/Service/quiet',
    'host/Process/kworker/0:1',
    // "0 cores": the Deployment, then the container, then the process.
    'default/Deployment/idle',
    'host/Container/redis',
    'host/Process/bash',
  ]);
  // Ascending: the idlest first, and still workloads first within a tie.
  assert.deepEqual(keys(sortSources(rows, { key: 'cpu', dir: 'asc' })).slice(0, 3), ['default/Deployment/idle', 'host/Container/redis', 'host/Process/bash']);
});

test('a header click turns its column around; another column starts in its own first direction', () => {
  assert.deepEqual(nextSort(DEFAULT_SOURCE_SORT, 'cpu'), { key: 'cpu', dir: 'asc' });
  assert.deepEqual(nextSort({ key: 'cpu', dir: 'asc' }, 'cpu'), { key: 'cpu', dir: 'desc' });
  assert.deepEqual(nextSort(DEFAULT_SOURCE_SORT, 'name'), { key: 'name', dir: 'asc' });
  assert.deepEqual(nextSort(DEFAULT_SOURCE_SORT, 'lastSeen'), { key: 'lastSeen', dir: 'desc' });
});

test('by name, last seen and profiling state', () => {
  const on = { active: true, bytes: 10, chunks: 1, samples: 1, lastDataAt: 1_005_000, expiresAt: 2_000_000 };
  const rows = [src('host/Process/b', 0, { lastSeenAt: 1_003_000 }), src('host/Service/B', 0.2), src('ns/Deployment/a', 0, { profiling: on })];
  assert.deepEqual(keys(sortSources(rows, { key: 'name', dir: 'asc' })), ['ns/Deployment/a', 'host/Service/B', 'host/Process/b']);
  // A slot's newest data counts as last seen.
  assert.deepEqual(keys(sortSources(rows, { key: 'lastSeen', dir: 'desc' })), ['ns/Deployment/a', 'host/Process/b', 'host/Service/B']);
  assert.deepEqual(keys(sortSources(rows, { key: 'profiling', dir: 'desc' })), ['ns/Deployment/a', 'host/Service/B', 'host/Process/b']);
});

test('the filter matches namespace, kind and name; cores read with their unit', () => {
  const rows = [src('shop/StatefulSet/checkout', 0), src('host/Process/ls', 0)];
  assert.deepEqual(keys([...filterSources(rows, ' statefulset ')]), ['shop/StatefulSet/checkout']);
  assert.deepEqual(keys([...filterSources(rows, 'HOST/')]), ['host/Process/ls']);
  assert.deepEqual(
    [0, 0.001, 0.52, 1, 12.345].map(formatCores),
    ['0 cores', '<0.01 cores', '0.52 cores', '1.00 cores', '12.3 cores'],
  );
});
