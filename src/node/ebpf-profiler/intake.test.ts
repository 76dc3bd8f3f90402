import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test, type TestContext } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { buildCBurner, hasGcc } from '../../../test/burners/build.js';
import {
  AnyValueSchema,
  ExportProfilesServiceRequestSchema,
  KeyValueAndUnitSchema,
  KeyValueSchema,
  type ExportProfilesServiceRequest,
} from '../../otlp/messages.js';
import { encodeRequest } from '../../otlp/codec.js';
import { readRequest } from '../../otlp/read-request.js';
import type { WireRequest } from '../../otlp/wire/request.js';
import { Attribution } from '../attribution.js';
import { readElf } from '../symbolize/elf.js';
import { parseMaps } from '../symbolize/proc-maps.js';
import { Symbolizer } from '../symbolize/symbolizer.js';
import { ProfilerIntake } from './intake.js';

/** A request as the agent's receiver hands it to the intake: read and validated on the wire path. */
const wireOf = (request: ExportProfilesServiceRequest): WireRequest => readRequest(encodeRequest(request), 'protobuf').wire;

/** A frame as the eBPF profiler reports one. */
type Frame =
  | { kind: 'native'; file: string; start: bigint; limit: bigint; offset: bigint; buildId?: string; address: bigint }
  | { kind: string; name: string; file?: string; line?: number };

/**
 * A request laid out as the profiler's reporter lays one out (reporter/internal/pdata): one
 * resource per process with process.pid and the executable on it, CPU samples with timestamps
 * only and thread attributes, address-only native frames in a mapping named by the file's base
 * name whose memory_start is the ELF virtual address of its file offset.
 */
function profilerRequest(pid: number, exe: string, stack: Frame[], timestamps: number, thread = exe): ExportProfilesServiceRequest {
  const strings = [''];
  const str = (s: string): number => {
    const i = strings.indexOf(s);
    return i >= 0 ? i : strings.push(s) - 1;
  };
  const attributes = [create(KeyValueAndUnitSchema)];
  const attr = (key: string, value: string | bigint): number =>
    attributes.push(
      create(KeyValueAndUnitSchema, {
        keyStrindex: str(key),
        value: create(AnyValueSchema, { value: typeof value === 'string' ? { case: 'stringValue', value } : { case: 'intValue', value } }),
      }),
    ) - 1;
  const mappings: object[] = [{}];
  const functions: object[] = [{}];
  const locations: object[] = [{}];
  for (const f of stack) {
    if ('address' in f) {
      mappings.push({
        memoryStart: f.start,
        memoryLimit: f.limit,
        fileOffset: f.offset,
        filenameStrindex: str(f.file),
        attributeIndices: f.buildId ? [attr('process.executable.build_id.gnu', f.buildId)] : [],
      });
      locations.push({ mappingIndex: mappings.length - 1, address: f.address, attributeIndices: [attr('profile.frame.type', 'native')] });
    } else {
      functions.push({ nameStrindex: str(f.name), filenameStrindex: str(f.file ?? '') });
      locations.push({ lines: [{ functionIndex: functions.length - 1, line: BigInt(f.line ?? 0) }], attributeIndices: [attr('profile.frame.type', f.kind)] });
    }
  }
  const now = BigInt(Date.now()) * 1_000_000n;
  return create(ExportProfilesServiceRequestSchema, {
    resourceProfiles: [
      {
        resource: {
          attributes: [
            create(KeyValueSchema, { key: 'process.pid', value: create(AnyValueSchema, { value: { case: 'intValue', value: BigInt(pid) } }) }),
            create(KeyValueSchema, { key: 'process.executable.name', value: create(AnyValueSchema, { value: { case: 'stringValue', value: exe } }) }),
          ],
        },
        scopeProfiles: [
          {
            scope: { name: 'go.opentelemetry.io/ebpf-profiler' },
            profiles: [
              {
                sampleType: { typeStrindex: str('samples'), unitStrindex: str('count') },
                periodType: { typeStrindex: str('cpu'), unitStrindex: str('nanoseconds') },
                period: 50_000_000n,
                timeUnixNano: now - 1_000_000_000n,
                durationNano: 1_000_000_000n,
                samples: [
                  {
                    stackIndex: 1,
                    timestampsUnixNano: Array.from({ length: timestamps }, (_, i) => now - BigInt(i)),
                    attributeIndices: [attr('thread.name', thread), attr('thread.id', BigInt(pid)), attr('cpu.logical_number', 0n)],
                  },
                ],
              },
              {
                sampleType: { typeStrindex: str('off_cpu'), unitStrindex: str('nanoseconds') },
                samples: [{ stackIndex: 1, values: [5_000_000n], timestampsUnixNano: [now] }],
              },
            ],
          },
        ],
      },
    ],
    dictionary: {
      stringTable: strings,
      attributeTable: attributes,
      mappingTable: mappings,
      functionTable: functions,
      locationTable: locations,
      stackTable: [{}, { locationIndices: locations.map((_, i) => i).slice(1) }],
    },
  });
}

function intake(o: { workloads?: string[]; offCpu?: boolean } = {}): { intake: ProfilerIntake; symbolizer: Symbolizer } {
  const attribution = new Attribution(
    { procRoot: '/proc', kubernetes: 'off', podListIntervalMs: 30_000, cgroups: [], workloads: o.workloads ?? [] },
    pino({ level: 'silent' }),
  );
  const symbolizer = new Symbolizer('/proc');
  return { intake: new ProfilerIntake({ attribution, symbolizer, procRoot: '/proc', excluded: () => false, offCpu: o.offCpu }), symbolizer };
}

/** The C burner running under a service name, with where `pl_burn_inner` is: its ELF address, the profiler's mapping of it and the address in the process. */
function burner(t: TestContext): {
  pid: number;
  exe: string;
  buildId: string;
  inner: bigint;
  mapping: { start: bigint; limit: bigint; offset: bigint };
  runtime: number;
} {
  const exe = buildCBurner();
  const child = spawn(exe, ['30'], { stdio: 'ignore', env: { ...process.env, OTEL_SERVICE_NAME: 'pl-intake-burner' } });
  t.after(() => child.kill('SIGKILL'));
  const elf = readElf(exe)!;
  const inner = BigInt(`0x${/^([0-9a-f]+) T pl_burn_inner$/m.exec(execFileSync('nm', [exe], { encoding: 'utf8' }))![1]}`);
  let text = '';
  for (let i = 0; i < 100 && !text.includes(exe); i++) {
    execFileSync('sleep', ['0.02']);
    text = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
  }
  const m = parseMaps(text).find((e) => e.path === exe)!;
  const start = BigInt(elf.vaddrOfOffset(m.offset)!);
  const address = inner + 4n;
  return {
    pid: child.pid!,
    exe,
    buildId: elf.buildId,
    inner: address,
    mapping: { start, limit: start + BigInt(m.end - m.start), offset: BigInt(m.offset) },
    runtime: m.start + Number(address - start),
  };
}

test("the profiler's address-only native frame is named by our symbolizer, as bpftrace's frame at that address is", (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const b = burner(t);
  const { intake: i, symbolizer } = intake();
  const request = profilerRequest(b.pid, basename(b.exe), [{ kind: 'native', file: basename(b.exe), ...b.mapping, buildId: b.buildId, address: b.inner }], 7);
  const got = i.read(wireOf(request));
  assert.equal(got.samples.length, 1);
  const [s] = got.samples;
  assert.equal(s.count, 7, 'a sample with timestamps only counts one per timestamp');
  assert.equal(s.frames[0].name, 'pl_burn_inner');
  // The very frame the bpftrace path gets for that address in that process.
  assert.equal(s.frames[0], symbolizer.user(b.pid, [`0x${b.runtime.toString(16)}`])[0]);
  assert.equal(s.frames[0].binary, b.exe);
  // Attributed as bpftrace attributes the pid: the service's key, service.name on the resource, pid and thread on samples.
  assert.equal(s.resource['service.name'], 'pl-intake-burner');
  assert.equal(s.resource['process.pid'], undefined);
  assert.deepEqual({ pid: s.attributes['process.pid'], thread: s.attributes['thread.name'] }, { pid: b.pid, thread: basename(b.exe) });
  assert.equal(s.attributes['thread.id'], undefined, "only the attributes bpftrace's samples carry");
  assert.deepEqual([...got.skippedProfiles], [['off_cpu/nanoseconds', 1]], 'off-CPU is counted, not mixed into CPU');
});

test('a frame of another build of the file, or of a process that is gone, is kept as the profiler sent it', (t) => {
  if (!hasGcc()) return t.skip('gcc is not installed');
  const b = burner(t);
  const { intake: i } = intake();
  const file = basename(b.exe);
  const other = i.read(wireOf(profilerRequest(b.pid, file, [{ kind: 'native', file, ...b.mapping, buildId: '00'.repeat(20), address: b.inner }], 1))).samples[0]
    .frames[0];
  assert.deepEqual(
    { name: other.name, binary: other.binary, address: other.address, buildId: other.buildId, segment: other.segment },
    {
      name: undefined,
      binary: file,
      address: b.inner,
      buildId: '00'.repeat(20),
      segment: { vaddr: Number(b.mapping.start), filesz: Number(b.mapping.limit - b.mapping.start), offset: Number(b.mapping.offset) },
    },
  );
  const gone = i.read(wireOf(profilerRequest(2 ** 22 + 7, file, [{ kind: 'native', file, ...b.mapping, address: b.inner }], 1))).samples[0];
  assert.equal(gone.frames[0].name, undefined);
  assert.equal(gone.frames[0].binary, file);
  assert.equal(gone.resource['service.name'], file, 'an exited process is filed under its executable');
});

test("interpreted frames are kept as sent, kernel frames become the symbolizer's, and the filters apply", (t) => {
  const { intake: i, symbolizer } = intake({ workloads: ['host/Process/pl-wanted'] });
  const stack: Frame[] = [
    { kind: 'kernel', name: 'do_syscall_64' },
    { kind: 'cpython', name: 'pl_hot', file: '/srv/hot.py', line: 4 },
    { kind: 'cpython', name: '<module>', file: '/srv/hot.py', line: 11 },
  ];
  const wanted = i.read(wireOf(profilerRequest(2 ** 22 + 9, 'pl-wanted', stack, 3)));
  assert.equal(wanted.samples.length, 1);
  const [kernel, hot, module] = wanted.samples[0].frames;
  assert.equal(kernel, symbolizer.kernel(['do_syscall_64'])[0]);
  assert.deepEqual(hot, { name: 'pl_hot', file: '/srv/hot.py', line: 4, kind: 'cpython' });
  assert.equal(module.name, '<module>');
  assert.equal(i.read(wireOf(profilerRequest(2 ** 22 + 9, 'pl-wanted', stack, 1))).samples[0].frames[1], hot, 'the same frame object from request to request');
  const other = i.read(wireOf(profilerRequest(2 ** 22 + 11, 'pl-other', stack, 5)));
  assert.deepEqual([other.samples.length, other.filteredSamples], [0, 5]);
  t.diagnostic(`window ${wanted.windowStartMs}..${wanted.windowEndMs}`);
  assert.equal(wanted.windowEndMs - wanted.windowStartMs, 1000);
});

test('with offCpu on, the off-CPU profile becomes off-CPU samples in nanoseconds, apart from the CPU ones; filtered alike', () => {
  const stack: Frame[] = [
    { kind: 'kernel', name: 'schedule' },
    { kind: 'cpython', name: 'pl_wait', file: '/srv/hot.py', line: 14 },
  ];
  const off = intake({ workloads: ['host/Process/pl-waiter'] }).intake.read(wireOf(profilerRequest(2 ** 22 + 13, 'pl-waiter', stack, 3)));
  assert.deepEqual([...off.skippedProfiles], [['off_cpu/nanoseconds', 1]], 'off by default: skipped');
  assert.equal(off.offCpuSamples.length, 0);
  const { intake: i } = intake({ workloads: ['host/Process/pl-waiter'], offCpu: true });
  const got = i.read(wireOf(profilerRequest(2 ** 22 + 13, 'pl-waiter', stack, 3)));
  assert.deepEqual([...got.skippedProfiles], []);
  assert.deepEqual(
    got.samples.map((s) => s.count),
    [3],
    'CPU: one per timestamp, as without off-CPU',
  );
  assert.deepEqual(
    got.offCpuSamples.map((s) => s.count),
    [5_000_000],
    'off-CPU: the nanoseconds waited',
  );
  const [w] = got.offCpuSamples;
  assert.equal(w.frames, got.samples[0].frames, 'the same frames as the CPU sample of that stack');
  assert.equal(w.resource, got.samples[0].resource);
  assert.deepEqual(w.attributes, got.samples[0].attributes);
  const other = i.read(wireOf(profilerRequest(2 ** 22 + 15, 'pl-other', stack, 2)));
  assert.deepEqual([other.samples.length, other.offCpuSamples.length, other.filteredSamples], [0, 0, 2]);
});
