import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { create } from '@bufbuild/protobuf';
import { RequestBuilder, type FrameSpec } from '../src/otlp/builder.js';
import { decodeRequest, encodeRequest, MAX_JSON_DEPTH } from '../src/otlp/codec.js';
import { OtlpDecodeError } from '../src/otlp/errors.js';
import { SampleSchema } from '../src/otlp/messages.js';
import { readRequest } from '../src/otlp/read-request.js';
import { WireChunker } from '../src/otlp/wire/chunk.js';
import { aggregateEncoded } from '../src/profile/aggregate-encoded.js';
import { foldedStacks } from '../src/profile/folded.js';
import { exportMethod } from '../src/pipeline/otlp-grpc.js';
import { Receiver } from '../src/pipeline/receiver/receiver.js';
import { decodeRpcStatus } from '../src/pipeline/rpc-status.js';
import { ProfileStore } from '../src/store/store.js';
import { K8S_INVENTORY, requestFromFolded } from './helpers/fixtures.js';
import { checkInput, FUZZ_LIMITS, FuzzBug, makeGzipBombs, makeSeeds, nextInput, rng, type FuzzInput, type Verdict } from './fuzz-harness.js';

/**
 * A fixed-seed sample of the fuzzer in bench/fuzz.bench.ts (which runs a million inputs):
 * every input is accepted with a consistent profile or rejected with a codec error, the one
 * ingest path and protobuf-es agree, and the real receiver answers 4xx / INVALID_ARGUMENT and
 * keeps serving. Regressions for what the fuzzer found sit at the end.
 */

const seeds = makeSeeds();
const bombs = makeGzipBombs(seeds, FUZZ_LIMITS.maxDecompressedBytes);

async function verdictOf(input: FuzzInput): Promise<Verdict> {
  try {
    return await checkInput(input);
  } catch (err) {
    if (err instanceof FuzzBug) {
      const head = Buffer.from(input.bytes.subarray(0, 2000)).toString('base64');
      assert.fail(
        `${err.message}\n  mutator: ${input.mutator}, ${input.encoding}${input.gzip ? ', gzip' : ''}, ${input.bytes.length} bytes\n  base64: ${head}`,
      );
    }
    throw err;
  }
}

test('mutation fuzzer, fixed seed: every input is accepted consistently or rejected with a codec error', async () => {
  const rand = rng(20260801);
  const counts = { accepted: 0, rejected: 0, json: 0, gzip: 0 };
  const reasons = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const input = nextInput(seeds, rand, bombs);
    if (input.encoding === 'json') counts.json++;
    if (input.gzip) counts.gzip++;
    const v = await verdictOf(input);
    if (v.accepted) counts.accepted++;
    else {
      counts.rejected++;
      reasons.add(v.reason);
    }
  }
  // The sample must exercise both outcomes and every kind of body, or it proves nothing.
  assert.ok(counts.accepted > 200, `accepted ${counts.accepted}`);
  assert.ok(counts.rejected > 1000, `rejected ${counts.rejected}`);
  assert.ok(counts.json > 300 && counts.gzip > 150, JSON.stringify(counts));
  assert.ok(reasons.size > 30, `only ${reasons.size} distinct rejection reasons`);
});

test('property: random bytes as protobuf, JSON or gzip never escape as another error', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('protobuf' as const, 'json' as const), fc.boolean(), async (bytes, encoding, gzip) => {
      await verdictOf({ bytes: gzip ? gzipSync(bytes) : bytes, encoding, gzip, mutator: 'fast-check' });
    }),
    { seed: 8, numRuns: 400 },
  );
});

test('property: arbitrary JSON values, and OTLP-shaped JSON with hostile leaves, are accepted or refused cleanly', async () => {
  const leaf = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom('-1', '1e3', '0x1', '9223372036854775808', 'NaN'),
  );
  const key = fc.constantFrom(
    'resourceProfiles',
    'scopeProfiles',
    'profiles',
    'samples',
    'dictionary',
    'stringTable',
    'stackTable',
    'locationTable',
    'functionTable',
    'attributeTable',
    'mappingTable',
    'linkTable',
    'stackIndex',
    'locationIndices',
    'values',
    'timestampsUnixNano',
    'nameStrindex',
    'attributes',
    'key',
    'value',
    'stringValue',
    'arrayValue',
    'keyStrindex',
    'period',
    'sampleType',
    'profileId',
    'traceId',
    '__proto__',
  );
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
    array: fc.array(tie('tree'), { maxLength: 4 }),
    object: fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
  }));
  const utf8 = new TextEncoder();
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.dictionary(key, tree, { maxKeys: 4 })), async (value) => {
      await verdictOf({ bytes: utf8.encode(JSON.stringify(value) ?? 'null'), encoding: 'json', gzip: false, mutator: 'fast-check' });
    }),
    { seed: 9, numRuns: 500 },
  );
});

test('property: valid requests built from random frames are accepted and their totals add up', async () => {
  const frame: fc.Arbitrary<FrameSpec> = fc.record(
    {
      name: fc.string({ maxLength: 12 }),
      file: fc.string({ maxLength: 8 }),
      line: fc.nat(1000),
      binary: fc.constantFrom('', 'app', '/lib/x.so'),
      address: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    },
    { requiredKeys: ['address'] },
  );
  const sample = fc.record({
    stack: fc.array(frame, { maxLength: 6 }),
    value: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    ts: fc.option(fc.array(fc.bigInt({ min: 1n, max: (1n << 63n) - 1n }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  });
  const profile = fc.record({
    resource: fc.dictionary(
      fc.constantFrom('k8s.namespace.name', 'k8s.deployment.name', 'service.name', 'process.executable.name', 'x'),
      fc.string({ maxLength: 10 }),
    ),
    period: fc.constantFrom(0, 1, 10_000_000),
    nanos: fc.boolean(),
    samples: fc.array(sample, { maxLength: 5 }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(profile, { minLength: 1, maxLength: 3 }), fc.boolean(), async (profiles, asJson) => {
      const b = new RequestBuilder();
      for (const p of profiles) {
        const prof = b.profile(p.resource, { periodNanos: p.period, sampleType: p.nanos ? ['cpu', 'nanoseconds'] : undefined });
        for (const s of p.samples) {
          // Values and timestamps pair by index when both are present.
          const value = s.ts && s.value !== undefined ? undefined : s.value;
          b.addSample(prof, b.stackOfFrames(s.stack), { value, timestamps: s.ts });
        }
      }
      const req = b.build();
      const v = await verdictOf({
        bytes: encodeRequest(req, asJson ? 'json' : 'protobuf'),
        encoding: asJson ? 'json' : 'protobuf',
        gzip: false,
        mutator: 'valid',
      });
      assert.ok(v.accepted, `a valid request was refused: ${'message' in v ? v.message : ''}`);
    }),
    { seed: 10, numRuns: 250 },
  );
});

describe('fuzz inputs through the real receiver (HTTP and gRPC)', () => {
  let receiver: Receiver;
  let httpUrl: string;
  let client: grpc.Client;
  let gzipClient: grpc.Client;
  const GOOD = encodeRequest(requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;work 3' }]));

  before(async () => {
    const store = new ProfileStore();
    receiver = new Receiver({
      grpc: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      registry: new Registry(),
      consumer: store,
      maxRequestBytes: 4 << 20,
      maxDecompressedBytes: FUZZ_LIMITS.maxDecompressedBytes,
    });
    const a = await receiver.start();
    httpUrl = `http://127.0.0.1:${a.http!.port}/v1development/profiles`;
    client = new grpc.Client(`127.0.0.1:${a.grpc!.port}`, grpc.credentials.createInsecure());
    gzipClient = new grpc.Client(`127.0.0.1:${a.grpc!.port}`, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip,
    });
  });
  after(async () => {
    client.close();
    gzipClient.close();
    await receiver.stop(1000);
  });

  function grpcExport(c: grpc.Client, bytes: Uint8Array): Promise<grpc.ServiceError | undefined> {
    return new Promise((resolve) => {
      c.makeUnaryRequest(exportMethod.path, exportMethod.requestSerialize, exportMethod.responseDeserialize, bytes, new grpc.Metadata(), (err) =>
        resolve(err ?? undefined),
      );
    });
  }

  async function httpExport(input: FuzzInput): Promise<{ status: number; message: string }> {
    const headers: Record<string, string> = { 'content-type': input.encoding === 'json' ? 'application/json' : 'application/x-protobuf' };
    if (input.gzip) headers['content-encoding'] = 'gzip';
    const res = await fetch(httpUrl, { method: 'POST', body: input.bytes as Uint8Array<ArrayBuffer>, headers });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status === 200) return { status: 200, message: '' };
    const message = input.encoding === 'json' ? (JSON.parse(body.toString()) as { message: string }).message : (decodeRpcStatus(body)?.message ?? '');
    return { status: res.status, message };
  }

  test('HTTP: accepted inputs are 200, rejected ones 400/413 with the codec message, and the server keeps serving', async () => {
    const rand = rng(77);
    let refused = 0;
    for (let i = 0; i < 80; i++) {
      const input = nextInput(seeds, rand, bombs);
      const v = await verdictOf(input);
      const r = await httpExport(input);
      if (v.accepted) {
        assert.equal(r.status, 200, `${input.mutator}: accepted by the codec, refused by HTTP: ${r.message}`);
        continue;
      }
      refused++;
      const tooLarge = v.reason.startsWith('DecompressedTooLargeError') || v.reason === 'too large';
      assert.equal(r.status, tooLarge ? 413 : 400, `${input.mutator}: ${v.message}`);
      if (!tooLarge) assert.equal(r.message, v.message);
    }
    assert.ok(refused > 20);
    assert.equal((await httpExport({ bytes: GOOD, encoding: 'protobuf', gzip: false, mutator: '' })).status, 200);
  });

  test('gRPC: mutated protobuf is OK or INVALID_ARGUMENT with the codec message, plain and gzip, and the server keeps serving', async () => {
    const rand = rng(78);
    let refused = 0;
    for (let i = 0; i < 80; i++) {
      const input = nextInput(seeds, rand);
      if (input.encoding !== 'protobuf' || input.gzip) continue;
      const v = await verdictOf(input);
      // grpc-js compresses per channel: the gzip client sends the same message compressed.
      for (const c of [client, gzipClient]) {
        const err = await grpcExport(c, input.bytes);
        if (v.accepted) {
          assert.equal(err, undefined, `${input.mutator}: accepted by the codec, refused over gRPC: ${err?.details}`);
        } else {
          refused++;
          assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, `${input.mutator}: ${v.message} → ${err?.code} ${err?.details}`);
          assert.equal(err.details, v.message);
        }
      }
    }
    assert.ok(refused > 20);
    assert.equal(await grpcExport(client, GOOD), undefined);
    assert.equal(await grpcExport(gzipClient, GOOD), undefined);
  });
});

// Regressions: inputs the fuzzer found.

test('regression: deeply nested OTLP/JSON is refused as malformed, not a stack overflow (500)', async () => {
  for (const depth of [MAX_JSON_DEPTH + 1, 5000, 200_000]) {
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
    ]) {
      const body = Buffer.from(`{"resourceProfiles":[],"x":${open.repeat(depth)}1${close.repeat(depth)}}`);
      assert.throws(
        () => readRequest(body, 'json'),
        (err: unknown) => err instanceof OtlpDecodeError && /nested more than \d+ levels deep/.test(err.message),
      );
    }
  }
  // Attribute values nested as deep as validation allows (32 array levels; kvlists to
  // protobuf-es's limit of 100 nested messages, which their protobuf encoding keeps to) are
  // taken in; deeper kvlists are refused.
  const nested = (levels: number, wrap: (inner: string) => string): string => {
    let value = '{"intValue":"1"}';
    for (let i = 0; i < levels; i++) value = wrap(value);
    return `{"resourceProfiles":[{"resource":{"attributes":[{"key":"deep","value":${value}}]},"scopeProfiles":[]}]}`;
  };
  const kvlists = (levels: number): string => nested(levels, (v) => `{"kvlistValue":{"values":[{"key":"k","value":${v}}]}}`);
  for (const body of [nested(32, (v) => `{"arrayValue":{"values":[${v}]}}`), kvlists(31)]) {
    assert.equal(readRequest(Buffer.from(body), 'json').wire.resourceProfiles.length, 1);
  }
  assert.throws(
    () => readRequest(Buffer.from(kvlists(32)), 'json'),
    (err: unknown) =>
      err instanceof OtlpDecodeError && /^malformed OTLP\/JSON ExportProfilesServiceRequest: .*maximum recursion depth of 100/.test(err.message),
  );
});

test("regression: a sender's non-empty zero entries survive the store's chunking (the chunk stayed valid and equal)", async () => {
  const req = requestFromFolded([
    { resource: K8S_INVENTORY, folded: 'main;serve;handle 4\nmain;idle 2' },
    { resource: { 'service.name': 'other' }, folded: 'main;x 1' },
  ]);
  const d = req.dictionary!;
  // Entry 0 of the attribute table refers to a string, and stack_table[0] is a real stack that
  // a sample uses: both legal (in range), neither the spec's empty zero entry.
  d.attributeTable[0].keyStrindex = d.stringTable.length - 1;
  d.attributeTable[0].unitStrindex = d.stringTable.length - 2;
  d.stackTable[0] = { ...d.stackTable[0], locationIndices: [...d.stackTable[2].locationIndices] };
  d.mappingTable[0] = { ...d.mappingTable[0], filenameStrindex: d.stringTable.length - 1 };
  req.resourceProfiles[0].scopeProfiles[0].profiles[0].samples.push(create(SampleSchema, { stackIndex: 0, values: [5n] }));
  const bytes = encodeRequest(req);
  const v = await verdictOf({ bytes, encoding: 'protobuf', gzip: false, mutator: 'regression' });
  assert.ok(v.accepted && v.samples === 12, JSON.stringify(v));

  const { wire } = readRequest(bytes, 'protobuf');
  const chunk = new WireChunker(wire, bytes).chunk([wire.resourceProfiles[0]]).bytes;
  const folded = (b: Uint8Array): string => foldedStacks(aggregateEncoded(b).get('default/Deployment/inventory')!.tree);
  assert.equal(folded(chunk), folded(bytes));
  const again = decodeRequest(chunk, 'protobuf');
  assert.equal(again.dictionary!.stringTable[again.dictionary!.attributeTable[0].keyStrindex], d.stringTable[d.attributeTable[0].keyStrindex]);
});
