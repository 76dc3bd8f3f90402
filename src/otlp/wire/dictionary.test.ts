import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, encodeRequest } from '../codec.js';
import { RequestBuilder } from '../builder.js';
import { readRequest } from '../read-request.js';

/**
 * The string table's UTF-8 check. When the bytes from a dictionary's first string entry to the
 * end of its last are all ASCII, its strings are not checked one by one; otherwise each is.
 * Either way the wire path must accept and reject exactly what protobuf-es does.
 */

const MARK = 'QQQQ';

/** A request whose string table holds `strings` in order, with `MARK` (if any) made invalid UTF-8. */
function requestWith(strings: string[]): Uint8Array {
  const b = new RequestBuilder();
  for (const s of strings) b.string(s);
  const bytes = Buffer.from(encodeRequest(b.build()));
  const at = bytes.indexOf(MARK);
  // 0xc3 starts a two-byte sequence; 0x28 cannot continue it.
  if (at >= 0) bytes.set([0xc3, 0x28], at);
  return new Uint8Array(bytes);
}

/** The strings the wire path read, or its error; and protobuf-es's. */
function bothRead(bytes: Uint8Array): { wire: string[] | Error; es: string[] | Error } {
  const attempt = (read: () => string[]): string[] | Error => {
    try {
      return read();
    } catch (err) {
      return err as Error;
    }
  };
  return {
    wire: attempt(() => {
      const d = readRequest(bytes, 'protobuf').wire.dictionary!;
      return Array.from({ length: d.stringCount }, (_, i) => d.str(i)!);
    }),
    es: attempt(() => decodeRequest(bytes, 'protobuf').dictionary!.stringTable),
  };
}

const long = 'java.util.concurrent.ThreadPoolExecutor$Worker.run'.repeat(4);

for (const [name, strings] of [
  ['short ASCII strings', ['main', 'handle', 'src/server.go', 'libc.so.6']],
  ['a string of 128 bytes or more among them', ['main', long, 'handle']],
  ['valid UTF-8 beyond ASCII', ['main', 'héllo', '函数', 'handle']],
] as const) {
  test(`string table, ${name}: read as protobuf-es reads it`, () => {
    const { wire, es } = bothRead(requestWith([...strings]));
    assert.ok(!(es instanceof Error), String(es));
    assert.deepEqual(wire, es);
    assert.deepEqual((wire as string[]).slice(1), strings);
  });
}

for (const [name, strings] of [
  ['first of the table', [`${MARK}main`, 'handle', 'src/server.go']],
  ['in the middle', ['main', `x${MARK}`, 'handle']],
  ['last of the table', ['main', 'handle', `${MARK}`]],
  ['beside a string of 128 bytes or more', ['main', long, `a${MARK}b`]],
  ['beside valid UTF-8 beyond ASCII', ['héllo', `a${MARK}b`]],
] as const) {
  test(`string table, invalid UTF-8 ${name}: refused as protobuf-es refuses it`, () => {
    const { wire, es } = bothRead(requestWith([...strings]));
    assert.ok(es instanceof Error, 'protobuf-es accepted invalid UTF-8');
    assert.ok(wire instanceof Error, `the wire path accepted invalid UTF-8: ${JSON.stringify(wire)}`);
    assert.equal(wire.message, es.message);
  });
}
