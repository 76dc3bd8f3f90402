import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flameTransformFields, flameTransformOf, formatRoute, parseRoute } from './route.js';

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

test('flame graph transforms are in the URL: hidden frames and patterns, focus, recursion, left-heavy', () => {
  const key = 'uv__io_poll\0\0libuv.so.1\0native';
  const r = { key: 'a/B/c', hasView: true, hide: [{ frame: key }, { pattern: '/^v8::/' }], focus: 'walk\0walk.c\0app\0native', rec: true, heavy: true };
  const hash = formatRoute(r);
  const params = new URLSearchParams(hash.slice(hash.indexOf('?') + 1));
  assert.equal(params.get('hide'), JSON.stringify([{ frame: key }, { pattern: '/^v8::/' }]));
  assert.equal(params.get('rec'), '1');
  assert.equal(params.get('heavy'), '1');
  assert.deepEqual(parseRoute(hash), r);
  assert.deepEqual(flameTransformOf(parseRoute(hash)), { hide: r.hide, focus: r.focus, collapseRecursion: true, leftHeavy: true });
  // Off is absent from the link.
  assert.deepEqual(flameTransformFields({ hide: [], focus: null, collapseRecursion: false, leftHeavy: false }), {
    hide: undefined,
    focus: undefined,
    rec: undefined,
    heavy: undefined,
  });
  assert.equal(
    formatRoute({ key: 'a/B/c', hasView: true, ...flameTransformFields({ hide: [], focus: null, collapseRecursion: false, leftHeavy: false }) }),
    '#/sources/a%2FB%2Fc',
  );
  // A mangled or hostile link: what is not a rule is dropped, the rest kept.
  const bad = (v: string): unknown => parseRoute(`#/sources/a?hide=${encodeURIComponent(v)}`).hide;
  assert.equal(bad('not json'), undefined);
  assert.equal(bad('{"frame":"x"}'), undefined);
  assert.deepEqual(bad('[1,null,"x",{"frame":2},{"pattern":"  "},{"pattern":"ok"},{"frame":"k","pattern":"p"}]'), [{ pattern: 'ok' }, { frame: 'k' }]);
  assert.equal((bad(JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ pattern: `p${i}` })))) as unknown[]).length, 64);
  assert.equal(parseRoute('#/sources/a?rec=yes&heavy=0').rec, undefined);
});
