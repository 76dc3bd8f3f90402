import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { create } from '@bufbuild/protobuf';
import { decodeRequest, encodeRequest, gunzipBounded, DecompressedTooLargeError, requestToJson } from './codec.js';
import { OtlpDecodeError, OtlpValidationError } from './errors.js';
import { AnyValueSchema, KeyValueSchema, type ExportProfilesServiceRequest } from './messages.js';
import { requestFromFolded, K8S_INVENTORY } from '../../test/helpers/fixtures.js';

function valid(): ExportProfilesServiceRequest {
  return requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;serve;handle 3\nmain;idle 2' }]);
}

const SAMPLE = 'resource_profiles[0].scope_profiles[0].profiles[0].samples[0]';

/** Each case breaks one rule; the error must name the field and the problem. */
const BROKEN: [string, (r: ExportProfilesServiceRequest) => void, RegExp][] = [
  [
    'stack index past the stack table',
    (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].stackIndex = 913),
    new RegExp(`^${esc(SAMPLE)}\\.stack_index: 913 out of range \\(stack_table has \\d+ entries\\)$`),
  ],
  ['negative stack index', (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].stackIndex = -1), /stack_index: -1 out of range/],
  [
    'location index in a stack',
    (r) => (r.dictionary!.stackTable[1].locationIndices[1] = 99),
    /^dictionary\.stack_table\[1\]\.location_indices\[1\]: 99 out of range \(location_table has \d+ entries\)$/,
  ],
  [
    'function index in a line',
    (r) => (r.dictionary!.locationTable[1].lines[0].functionIndex = 500),
    /^dictionary\.location_table\[1\]\.lines\[0\]\.function_index: 500 out of range \(function_table has/,
  ],
  [
    'mapping index',
    (r) => (r.dictionary!.locationTable[1].mappingIndex = 7),
    /^dictionary\.location_table\[1\]\.mapping_index: 7 out of range \(mapping_table has 1 entries\)$/,
  ],
  [
    'function name string',
    (r) => (r.dictionary!.functionTable[1].nameStrindex = 10_000),
    /^dictionary\.function_table\[1\]\.name_strindex: 10000 out of range \(string_table has/,
  ],
  [
    'sample attribute',
    (r) => r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].attributeIndices.push(42),
    new RegExp(`^${esc(SAMPLE)}\\.attribute_indices\\[0\\]: 42 out of range \\(attribute_table has`),
  ],
  [
    'link index',
    (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[1].linkIndex = 3),
    /samples\[1\]\.link_index: 3 out of range \(link_table has 1 entries\)/,
  ],
  [
    'resource attribute key by reference',
    (r) => r.resourceProfiles[0].resource!.attributes.push(create(KeyValueSchema, { keyStrindex: 777 })),
    /^resource_profiles\[0\]\.resource\.attributes\[3\]\.key_strindex: 777 out of range/,
  ],
  [
    'resource attribute value by reference',
    (r) =>
      r.resourceProfiles[0].resource!.attributes.push(
        create(KeyValueSchema, { key: 'x', value: create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: 888 } }) }),
      ),
    /resource\.attributes\[3\]\.value\.string_value_strindex: 888 out of range/,
  ],
  ['missing dictionary', (r) => (r.dictionary = undefined), /^dictionary: missing, but the request has samples/],
  [
    'negative sample value',
    (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0].values[0] = -5n),
    new RegExp(`^${esc(SAMPLE)}\\.values\\[0\\]: must not be negative, got -5$`),
  ],
  [
    'values and timestamps of different lengths',
    (r) => {
      const s = r.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0];
      s.values = [1n, 2n];
      s.timestampsUnixNano = [1n, 2n, 3n];
    },
    /timestamps_unix_nano: has 3 entries but values has 2/,
  ],
  [
    'profile id of the wrong length',
    (r) => (r.resourceProfiles[0].scopeProfiles[0].profiles[0].profileId = new Uint8Array(5)),
    /profile_id: must be empty or 16 bytes, got 5/,
  ],
];

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

for (const [name, breakIt, message] of BROKEN) {
  test(`rejects ${name} with the offending path (protobuf and JSON)`, () => {
    const req = valid();
    breakIt(req);
    for (const encoding of ['protobuf', 'json'] as const) {
      const bytes = encodeRequest(req, encoding);
      assert.throws(
        () => decodeRequest(bytes, encoding),
        (err: unknown) => {
          assert.ok(err instanceof OtlpValidationError, `${encoding}: expected a validation error, got ${err}`);
          assert.match(err.message, message, encoding);
          return true;
        },
      );
    }
  });
}

test('a valid request passes and round-trips through both encodings', () => {
  const req = valid();
  const back = decodeRequest(encodeRequest(req, 'protobuf'), 'protobuf');
  assert.deepEqual(requestToJson(back), requestToJson(req));
  const viaJson = decodeRequest(encodeRequest(req, 'json'), 'json');
  assert.deepEqual(requestToJson(viaJson), requestToJson(req));
});

test('truncated protobuf is a decode error, never a partial result', () => {
  const bytes = encodeRequest(valid());
  for (const cut of [1, 7, Math.floor(bytes.length / 2), bytes.length - 1]) {
    assert.throws(() => decodeRequest(bytes.subarray(0, cut), 'protobuf'), OtlpDecodeError, `cut at ${cut}`);
  }
});

test('a length prefix claiming a huge repeated field is a decode error', () => {
  // Field 1 (resource_profiles), wire type 2, length 2^32 - 1, then 3 bytes.
  const huge = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]);
  assert.throws(() => decodeRequest(huge, 'protobuf'), /malformed protobuf/);
  // Packed sample values claiming a billion bytes inside an otherwise valid nesting.
  const packed = Uint8Array.from([0x22, 0x80, 0x94, 0xeb, 0xdc, 0x03, 1]);
  assert.throws(() => decodeRequest(packed, 'protobuf'), OtlpDecodeError);
  // A wire type that does not exist.
  assert.throws(() => decodeRequest(Uint8Array.from([0x0f, 0x00]), 'protobuf'), OtlpDecodeError);
});

test('bad JSON bodies are decode errors with a reason', () => {
  const cases: [string, RegExp][] = [
    ['{"resourceProfiles": [', /malformed JSON/],
    ['[1,2]', /must be a JSON object/],
    ['{"resourceProfiles": "nope"}', /malformed OTLP\/JSON/],
    ['{"resourceProfiles":[{"scopeProfiles":[{"profiles":[{"profileId":"not-hex!"}]}]}]}', /profile_id: ids in OTLP\/JSON are hex strings/],
  ];
  for (const [body, re] of cases) {
    assert.throws(
      () => decodeRequest(Buffer.from(body), 'json'),
      (err: unknown) => err instanceof OtlpDecodeError && re.test(err.message),
      body,
    );
  }
});

test('OTLP/JSON accepts 64-bit integers as strings or numbers', () => {
  const json = requestToJson(valid()) as { resourceProfiles: { scopeProfiles: { profiles: { period: unknown; samples: { values: unknown[] }[] }[] }[] }[] };
  const profile = json.resourceProfiles[0].scopeProfiles[0].profiles[0];
  profile.period = 50000000;
  profile.samples[0].values = ['3'];
  const back = decodeRequest(Buffer.from(JSON.stringify(json)), 'json');
  assert.equal(back.resourceProfiles[0].scopeProfiles[0].profiles[0].period, 50000000n);
});

test('gzip inflation stops at the limit (a bomb is refused while inflating)', async () => {
  const bomb = gzipSync(Buffer.alloc(32 * 1024 * 1024));
  assert.ok(bomb.length < 64 * 1024);
  await assert.rejects(gunzipBounded(bomb, 1024 * 1024), DecompressedTooLargeError);
  const ok = await gunzipBounded(gzipSync(Buffer.from('hello')), 1024);
  assert.equal(ok.toString(), 'hello');
  await assert.rejects(gunzipBounded(Buffer.from('not gzip'), 1024), /malformed gzip/);
});
