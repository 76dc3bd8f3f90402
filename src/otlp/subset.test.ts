import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, encodeRequest } from './codec.js';
import { subsetRequest } from './subset.js';
import { RequestBuilder } from './builder.js';
import { aggregateRequest } from '../profile/aggregate.js';
import { foldedStacks } from '../profile/folded.js';
import { requestFromFolded, K8S_INVENTORY, K8S_CHECKOUT } from '../../test/helpers/fixtures.js';

test('a subset holds one workload, only the dictionary entries it uses, and aggregates the same', () => {
  const builder = new RequestBuilder();
  const req = requestFromFolded(
    [
      { resource: K8S_INVENTORY, folded: 'main;serve;parse@libparse.so#native 30\nmain;idle 5' },
      { resource: K8S_CHECKOUT, folded: 'main;checkout;pay 9\nmain;checkout;tax 3\nkworker;schedule#kernel 1' },
    ],
    builder,
  );
  // Attribute on a sample, to check attribute remapping.
  const p = req.resourceProfiles[0].scopeProfiles[0].profiles[0];
  p.samples[0].attributeIndices = [builder.attribute('thread.name', 'worker-1')];

  const sub = subsetRequest(req, [req.resourceProfiles[1]]);
  const bytes = encodeRequest(sub);
  const back = decodeRequest(bytes, 'protobuf'); // validates every index
  const full = aggregateRequest(req).get('shop/StatefulSet/checkout')!;
  const part = aggregateRequest(back);
  assert.deepEqual([...part.keys()], ['shop/StatefulSet/checkout']);
  assert.equal(foldedStacks(part.get('shop/StatefulSet/checkout')!.tree), foldedStacks(full.tree));
  assert.equal(part.get('shop/StatefulSet/checkout')!.cpuNanos, full.cpuNanos);
  const d = back.dictionary!;
  assert.ok(!d.stringTable.includes('parse'), 'strings of the other workload are not carried');
  assert.ok(d.stringTable.includes('tax'));
  for (const t of ['mappingTable', 'locationTable', 'functionTable', 'linkTable', 'stringTable', 'attributeTable', 'stackTable'] as const) {
    assert.ok(d[t].length >= 1, `${t} keeps its zero entry`);
  }
  assert.equal(d.stringTable[0], '');
  assert.ok(bytes.length < encodeRequest(req).length);

  const first = decodeRequest(encodeRequest(subsetRequest(req, [req.resourceProfiles[0]])), 'protobuf');
  const s0 = first.resourceProfiles[0].scopeProfiles[0].profiles[0].samples[0];
  const kv = first.dictionary!.attributeTable[s0.attributeIndices[0]];
  assert.equal(first.dictionary!.stringTable[kv.keyStrindex], 'thread.name');
  assert.equal(foldedStacks(aggregateRequest(first).get('default/Deployment/inventory')!.tree), 'main;idle 5\nmain;serve;parse 30\n');
});
