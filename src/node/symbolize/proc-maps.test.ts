import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findMapping, isFileBacked, parseMaps } from './proc-maps.js';

const MAPS = `00400000-00b6f000 r--p 00000000 fe:00 260689                             /usr/bin/node
00b72000-025fe000 r-xp 00772000 fe:00 260689                             /usr/bin/node
7f7841fc0000-7f7842000000 rwxp 00000000 00:00 0
7f9786e00000-7f9786f00000 r-xp 00026000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6
7f9786f00000-7f9786f10000 r-xp 00000000 00:05 99                         /opt/my app/lib x.so (deleted)
7ffd1b5f1000-7ffd1b5f3000 r-xp 00000000 00:00 0                          [vdso]
`;

test('parseMaps keeps executable mappings with paths, spaces and (deleted)', () => {
  const maps = parseMaps(MAPS);
  assert.equal(maps.length, 5);
  assert.deepEqual(maps[0], { start: 0xb72000, end: 0x25fe000, offset: 0x772000, dev: 'fe:00', inode: 260689, path: '/usr/bin/node', deleted: false });
  assert.equal(maps[3].path, '/opt/my app/lib x.so');
  assert.equal(maps[3].deleted, true);
  assert.equal(maps[1].path, '');
  assert.equal(isFileBacked(maps[1]), false);
  assert.equal(isFileBacked(maps[4]), false);
  assert.equal(isFileBacked(maps[2]), true);
});

test('findMapping finds the mapping containing an address', () => {
  const maps = parseMaps(MAPS);
  assert.equal(findMapping(maps, 0x18cfd1c)?.path, '/usr/bin/node');
  assert.equal(findMapping(maps, 0x7f7841fe49b8)?.path, '');
  assert.equal(findMapping(maps, 0x25fe000), undefined);
  assert.equal(findMapping(maps, 0x10), undefined);
});
