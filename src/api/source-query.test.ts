import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SourceInfo } from './types.js';
import { DEFAULT_SOURCE_SORT, filterSources, formatCores, nextSort, querySources, sortSources } from './source-query.js';

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
  assert.deepEqual([0, 0.001, 0.52, 1, 12.345].map(formatCores), ['0 cores', '<0.01 cores', '0.52 cores', '1.00 cores', '12.3 cores']);
});

test('a query cut to a limit keeps the first rows in its order, plus every profiled source and the kept one, and counts every match', () => {
  const active = { active: true, bytes: 1, chunks: 1, samples: 1, lastDataAt: 1, expiresAt: null };
  const rows = [
    src('default/Deployment/a', 0.9),
    src('default/Deployment/b', 0.8),
    src('default/Deployment/c', 0.7),
    src('default/Deployment/d', 0.6, { profiling: active }),
    src('default/Deployment/e', 0.5),
    src('other/Deployment/f', 0.4),
  ];
  const all = querySources(rows, { q: '', state: 'all', sort: DEFAULT_SOURCE_SORT });
  assert.equal(all.matched, 6);
  assert.equal(all.sources.length, 6, 'no limit: every row');
  const cut = querySources(rows, { q: '', state: 'all', sort: DEFAULT_SOURCE_SORT, limit: 2, keep: 'default/Deployment/e' });
  assert.deepEqual(keys(cut.sources), ['default/Deployment/a', 'default/Deployment/b', 'default/Deployment/d', 'default/Deployment/e']);
  assert.equal(cut.matched, 6);
  const filtered = querySources(rows, { q: 'OTHER', state: 'all', sort: DEFAULT_SOURCE_SORT, limit: 2 });
  assert.deepEqual(keys(filtered.sources), ['other/Deployment/f'], 'the filter finds a row beyond the first two');
  const profiling = querySources(rows, { q: '', state: 'profiling', sort: { key: 'name', dir: 'asc' }, limit: 10 });
  assert.deepEqual(keys(profiling.sources), ['default/Deployment/d']);
  const byName = querySources(rows, { q: 'default', state: 'off', sort: { key: 'name', dir: 'desc' }, limit: 1 });
  assert.deepEqual(
    keys(byName.sources),
    ['default/Deployment/e', 'default/Deployment/d'],
    'the first by name descending, and the profiled one though it is filtered out',
  );
  assert.equal(byName.matched, 4);
});
