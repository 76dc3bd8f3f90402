import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRoute, parseRoute } from './route.js';

test('the profile type is part of the view in the URL, and survives a round trip', () => {
  const hash = formatRoute({ key: 'host/Service/waiter', hasView: true, type: 'off_cpu', mode: 'both' });
  assert.equal(hash, '#/sources/host%2FService%2Fwaiter?type=off_cpu&mode=both');
  assert.deepEqual(parseRoute(hash), { key: 'host/Service/waiter', hasView: true, type: 'off_cpu', mode: 'both' });
  // A sender's type key is any text: encoded in the link, read back as the same text.
  const odd = parseRoute(formatRoute({ key: 'a/B/c', hasView: true, type: 'alloc space:bytes&x=1' }));
  assert.equal(odd.type, 'alloc space:bytes&x=1');
  assert.equal(parseRoute('#/sources/a%2FB%2Fc?mode=table').type, undefined, 'no type: the slot default');
  assert.equal(parseRoute(`#/sources/a%2FB%2Fc?type=${'x'.repeat(1001)}`).type, undefined, 'an overlong type is ignored');
});
