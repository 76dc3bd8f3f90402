import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { decodeRequest, encodeRequest } from '../codec.js';
import { subsetRequest } from '../subset.js';
import {
  AnyValueSchema,
  ExportProfilesServiceRequestSchema,
  KeyValueSchema,
  type AnyValue,
  type ExportProfilesServiceRequest,
  type KeyValue,
} from '../messages.js';
import { WireChunker } from './chunk.js';
import { readWireRequest } from './request.js';
import { validateWire } from './validate.js';
import { makeFleetRequest } from '../../../test/helpers/gen.js';
import { makeSeeds } from '../../../test/fuzz-harness.js';
import { K8S_CHECKOUT, K8S_INVENTORY, requestFromFolded } from '../../../test/helpers/fixtures.js';
import { RequestBuilder } from '../builder.js';

/**
 * A request with every index replaced by what it points at (strings, attributes, frames),
 * the dictionary's entry 0 of each table included: two requests that resolve equal hold the
 * same data, whatever order their dictionaries keep.
 */
function resolved(req: ExportProfilesServiceRequest): unknown {
  const d = req.dictionary!;
  const str = (i: number): string | undefined => d.stringTable[i];
  const any = (v: AnyValue | undefined): unknown => {
    if (!v) return undefined;
    const x = v.value;
    if (x.case === 'stringValueStrindex') return { strindex: str(x.value) };
    if (x.case === 'arrayValue') return { array: x.value.values.map(any) };
    if (x.case === 'kvlistValue') return { kvlist: x.value.values.map(kv) };
    return { [String(x.case)]: x.value };
  };
  const kv = (k: KeyValue): unknown => ({ key: k.key, keyStr: str(k.keyStrindex), value: any(k.value) });
  const attr = (i: number): unknown => {
    const a = d.attributeTable[i];
    return { key: str(a.keyStrindex), unit: str(a.unitStrindex), value: any(a.value) };
  };
  const mapping = (i: number): unknown => {
    const m = d.mappingTable[i];
    return { start: m.memoryStart, limit: m.memoryLimit, offset: m.fileOffset, file: str(m.filenameStrindex), attrs: m.attributeIndices.map(attr) };
  };
  const fn = (i: number): unknown => {
    const f = d.functionTable[i];
    return { name: str(f.nameStrindex), system: str(f.systemNameStrindex), file: str(f.filenameStrindex), startLine: f.startLine };
  };
  const loc = (i: number): unknown => {
    const l = d.locationTable[i];
    return {
      mapping: mapping(l.mappingIndex),
      address: l.address,
      lines: l.lines.map((x) => ({ fn: fn(x.functionIndex), line: x.line, column: x.column })),
      attrs: l.attributeIndices.map(attr),
    };
  };
  const stack = (i: number): unknown => d.stackTable[i].locationIndices.map(loc);
  const link = (i: number): unknown => ({ trace: d.linkTable[i].traceId, span: d.linkTable[i].spanId });
  return {
    zero: [str(0), attr(0), mapping(0), fn(0), loc(0), stack(0), link(0)],
    resourceProfiles: req.resourceProfiles.map((rp) => ({
      resource: rp.resource && { attrs: rp.resource.attributes.map(kv), dropped: rp.resource.droppedAttributesCount, refs: rp.resource.entityRefs },
      schemaUrl: rp.schemaUrl,
      scopes: rp.scopeProfiles.map((sp) => ({
        scope: sp.scope && { name: sp.scope.name, version: sp.scope.version, attrs: sp.scope.attributes.map(kv) },
        schemaUrl: sp.schemaUrl,
        profiles: sp.profiles.map((p) => ({
          sampleType: p.sampleType && [str(p.sampleType.typeStrindex), str(p.sampleType.unitStrindex)],
          periodType: p.periodType && [str(p.periodType.typeStrindex), str(p.periodType.unitStrindex)],
          fields: [p.timeUnixNano, p.durationNano, p.period, p.profileId, p.droppedAttributesCount, p.originalPayloadFormat, p.originalPayload],
          attrs: p.attributeIndices.map(attr),
          samples: p.samples.map((s) => ({
            stack: stack(s.stackIndex),
            link: link(s.linkIndex),
            attrs: s.attributeIndices.map(attr),
            values: s.values,
            ts: s.timestampsUnixNano,
          })),
        })),
      })),
    })),
  };
}

/** Every workload's wire chunk decodes to what subsetRequest builds for it. */
function checkChunks(req: ExportProfilesServiceRequest): void {
  const bytes = encodeRequest(req);
  const wire = readWireRequest(bytes);
  validateWire(wire);
  const chunker = new WireChunker(wire, bytes);
  assert.equal(wire.resourceProfiles.length, req.resourceProfiles.length);
  for (let i = 0; i < req.resourceProfiles.length; i++) {
    const chunk = chunker.chunk([wire.resourceProfiles[i]]);
    const got = decodeRequest(chunk.bytes, 'protobuf'); // validates every index
    const want = subsetRequest(req, [req.resourceProfiles[i]]);
    assert.deepEqual(resolved(got), resolved(want), `resource_profiles[${i}]`);
    for (const t of ['mappingTable', 'locationTable', 'functionTable', 'linkTable', 'stringTable', 'attributeTable', 'stackTable'] as const) {
      assert.equal(got.dictionary![t].length, want.dictionary![t].length, `${t}: only the entries in use`);
    }
  }
  // Parts of several resource profiles at once, in their order.
  if (req.resourceProfiles.length >= 2) {
    const got = decodeRequest(chunker.chunk(wire.resourceProfiles.slice(0, 2)).bytes, 'protobuf');
    assert.deepEqual(resolved(got), resolved(subsetRequest(req, req.resourceProfiles.slice(0, 2))));
  }
}

test('wire chunks of a shared-dictionary request hold what subsetRequest holds, entry for entry', () => {
  checkChunks(makeFleetRequest({ processes: 6, programs: 3, stacksPerProgram: 8, functions: 40, locations: 60, hotStacks: 2, seed: 3 }));
  checkChunks(makeFleetRequest({ processes: 3, programs: 2, stacksPerProgram: 4, functions: 20, locations: 25, hotStacks: 1, seed: 6, shape: 'timestamps' }));
});

test('wire chunks of the fuzzing seeds (mappings, inlining, units, attributes, empty) match subsetRequest', () => {
  for (const seed of makeSeeds()) checkChunks(seed.request);
});

test('attributes by reference, nested values, a non-empty entry 0 and sample attributes are renumbered', () => {
  const b = new RequestBuilder();
  const req = requestFromFolded(
    [
      { resource: K8S_INVENTORY, folded: 'main;serve;parse@libparse.so#native 30\nmain;idle 5' },
      { resource: K8S_CHECKOUT, folded: 'main;checkout;pay 9\nmain;checkout;tax 3\nkworker;schedule#kernel 1' },
    ],
    b,
  );
  const d = req.dictionary!;
  const strindex = (s: string): number => {
    const i = d.stringTable.indexOf(s);
    return i >= 0 ? i : d.stringTable.push(s) - 1;
  };
  // The Collector's form: keys and string values by reference into the string table.
  const rp = req.resourceProfiles[1];
  rp.resource!.attributes.push(
    create(KeyValueSchema, {
      keyStrindex: strindex('team'),
      value: create(AnyValueSchema, {
        value: {
          case: 'kvlistValue',
          value: {
            values: [
              create(KeyValueSchema, {
                keyStrindex: strindex('lead'),
                value: create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: strindex('ana') } }),
              }),
              create(KeyValueSchema, {
                key: 'tags',
                value: create(AnyValueSchema, {
                  value: {
                    case: 'arrayValue',
                    value: { values: [create(AnyValueSchema, { value: { case: 'stringValueStrindex', value: strindex('pay') } })] },
                  },
                }),
              }),
            ],
          },
        },
      }),
    }),
  );
  rp.scopeProfiles[0].profiles[0].samples[0].attributeIndices = [b.attribute('thread.name', 'worker-1')];
  req.resourceProfiles[0].scopeProfiles[0].profiles[0].attributeIndices = [b.attribute('profile.kind', 'cpu')];
  // A sender whose zero entries are not empty: they come along with what they refer to.
  d.stackTable[0].locationIndices = [1];
  d.functionTable[0].nameStrindex = strindex('zero-fn');
  checkChunks(req);
});

test('a one-workload request using its whole dictionary is answered with the received bytes', () => {
  const req = requestFromFolded([{ resource: K8S_INVENTORY, folded: 'main;a 3\nmain;b 1' }]);
  const bytes = encodeRequest(req);
  const wire = readWireRequest(bytes);
  const kept = new WireChunker(wire, bytes).chunk(wire.resourceProfiles, bytes);
  assert.equal(kept.whole, true);
  assert.equal(kept.bytes, bytes);
  const two = requestFromFolded([
    { resource: K8S_INVENTORY, folded: 'main;a 3' },
    { resource: K8S_CHECKOUT, folded: 'main;c 1' },
  ]);
  const twoBytes = encodeRequest(two);
  const twoWire = readWireRequest(twoBytes);
  const part = new WireChunker(twoWire, twoBytes).chunk([twoWire.resourceProfiles[0]], twoBytes);
  assert.equal(part.whole, false);
  assert.notEqual(part.bytes, twoBytes);
});

test('locations and functions are written from the columns, or from their bytes when the columns cannot hold a number exactly', () => {
  const narrow = makeFleetRequest({ processes: 4, programs: 2, stacksPerProgram: 5, functions: 20, locations: 30, hotStacks: 1, seed: 9 });
  const d = narrow.dictionary!;
  // Columns, large addresses (ten-byte varints), big (but 32-bit) line numbers.
  d.locationTable[1].lines[0].column = 17n;
  d.locationTable[2].address = 0xffffffff81000000n;
  d.locationTable[3].lines[0].line = 4_000_000_000n;
  d.functionTable[1].startLine = 3_000_000_000n;
  assert.equal(readWireRequest(encodeRequest(narrow)).dictionary!.narrowNumbers, true);
  checkChunks(narrow);
  // A line past 32 bits, or negative: the tables are rewritten from their bytes.
  for (const change of [
    (r: ExportProfilesServiceRequest) => (r.dictionary!.locationTable[4].lines[0].line = 2n ** 40n),
    (r: ExportProfilesServiceRequest) => (r.dictionary!.functionTable[2].startLine = -3n),
  ]) {
    const wide = create(ExportProfilesServiceRequestSchema, narrow);
    change(wide);
    assert.equal(readWireRequest(encodeRequest(wide)).dictionary!.narrowNumbers, false);
    checkChunks(wide);
  }
});

test('chunkers of different requests, used in turn, cut what each cuts alone (the working state is shared)', () => {
  const read = (req: ExportProfilesServiceRequest): [WireChunker, number] => {
    const bytes = encodeRequest(req);
    const wire = readWireRequest(bytes);
    validateWire(wire);
    return [new WireChunker(wire, bytes), wire.resourceProfiles.length];
  };
  const cut = (c: WireChunker, i: number): Uint8Array => c.chunk([c.req.resourceProfiles[i]]).bytes;
  const [big, nBig] = read(makeFleetRequest({ processes: 12, programs: 4, stacksPerProgram: 30, functions: 300, locations: 500, hotStacks: 2, seed: 11 }));
  const [small, nSmall] = read(makeFleetRequest({ processes: 4, programs: 2, stacksPerProgram: 3, functions: 10, locations: 12, hotStacks: 1, seed: 12 }));
  const alone = (c: WireChunker, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => cut(c, i));
  const wantSmall = alone(small, nSmall);
  const wantBig = alone(big, nBig);
  for (let i = 0; i < Math.max(nBig, nSmall); i++) {
    if (i < nSmall) assert.deepEqual(cut(small, i), wantSmall[i], `small request, part ${i}, after the big one`);
    if (i < nBig) assert.deepEqual(cut(big, i), wantBig[i], `big request, part ${i}, after the small one`);
  }
  // Each alone-cut chunk is itself what subsetRequest holds (checkChunks covers that); here
  // the small request's chunks must also still decode after the big request's larger tables.
  for (const b of wantSmall) decodeRequest(b, 'protobuf');
});
