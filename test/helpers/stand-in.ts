import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { pino } from 'pino';

/**
 * A shell script named `name` in a folder of its own, standing in for a program a supervisor
 * starts (bpftrace, the eBPF profiler): a real executable, started as that program is. `prelude`
 * comes before `body` (shell functions the body uses). Removed when the test ends.
 */
export function standIn(t: TestContext, name: string, body: string, prelude = ''): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), `pl-fake-${name}-`));
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${prelude}${body}\n`);
  chmodSync(path, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { path, dir };
}

/** A logger whose records the test reads. */
export function recordingLog(): { log: pino.Logger; records: { msg: string; [k: string]: unknown }[] } {
  const records: { msg: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line) as { msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), records };
}
