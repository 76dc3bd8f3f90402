import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { ExportProfilesServiceRequestSchema } from '../src/otlp/messages.js';
import { checkInput, FUZZ_LIMITS, FuzzBug, makeGzipBombs, makeSeeds, nextInput, rng, type FuzzInput } from '../test/fuzz-harness.js';
import { fmt, peakRssMiB, quantile, table } from './measure.js';
import type { BenchResult } from './report.js';

/**
 * The fuzzer at full size: FUZZ_INPUTS (default 1,000,000) mutated and random OTLP bodies —
 * protobuf, OTLP/JSON and gzip — through the one receive path as test/fuzz-harness.ts runs it
 * (bounded gunzip → read and validate, OTLP/JSON encoded to protobuf first → aggregate on the
 * wire → the store's consume), with protobuf-es decoding and message aggregation as its oracle.
 * Prints counts by outcome and reason (the store is checked on every FUZZ_STORE_EVERY-th
 * input, default 4), inputs/s against a plain protobuf-es decode of the unmutated seeds, the
 * slowest input and peak RSS. Any input that escapes as another error, makes the path and its
 * oracle disagree or gives inconsistent totals is a bug: it is saved under FUZZ_OUT (default
 * $TMPDIR/pilotlight-fuzz) and the bench exits non-zero. FUZZ_SEED picks the random sequence.
 */
export async function main(): Promise<BenchResult> {
  const total = Number(process.env.FUZZ_INPUTS ?? 1_000_000);
  const seed = Number(process.env.FUZZ_SEED ?? 1);
  const outDir = process.env.FUZZ_OUT ?? join(tmpdir(), 'pilotlight-fuzz');
  const seeds = makeSeeds();
  const bombs = makeGzipBombs(seeds, FUZZ_LIMITS.maxDecompressedBytes);
  const rand = rng(seed);
  console.log(
    `${total.toLocaleString('en-US')} inputs, seed ${seed}; ${seeds.length} seed requests (${seeds.map((s) => s.bytes.length).join(', ')} bytes); ` +
      `gunzip limit ${FUZZ_LIMITS.maxDecompressedBytes / 2 ** 20} MiB`,
  );

  const baseline = seedDecodeRate(seeds);
  const rssStart = peakRssMiB();
  const times = new Float64Array(total);
  const byKind = { protobuf: [0, 0], json: [0, 0], gzip: [0, 0] };
  const reasons = new Map<string, number>();
  const bugs = new Map<string, number>();
  const slow: { ms: number; mutator: string }[] = [];
  let accepted = 0;
  let saved = 0;
  const t0 = performance.now();
  let nextReport = t0 + 30_000;

  for (let i = 0; i < total; i++) {
    const input = nextInput(seeds, rand, bombs);
    const kind = input.gzip ? byKind.gzip : byKind[input.encoding];
    const start = performance.now();
    try {
      // The store costs more than the rest together: check it on every 4th input.
      const v = await checkInput(input, { ...FUZZ_LIMITS, store: i % STORE_EVERY === 0 });
      if (v.accepted) {
        accepted++;
        kind[0]++;
      } else {
        kind[1]++;
        reasons.set(v.reason, (reasons.get(v.reason) ?? 0) + 1);
      }
    } catch (err) {
      const key = err instanceof FuzzBug ? err.message.slice(0, 160) : `harness: ${String(err)}`.slice(0, 160);
      bugs.set(key, (bugs.get(key) ?? 0) + 1);
      if (saved < 20) saveInput(outDir, `bug-${saved++}`, input, key);
    }
    const ms = performance.now() - start;
    times[i] = ms;
    if (ms > 1000) {
      slow.push({ ms, mutator: input.mutator });
      if (saved < 20) saveInput(outDir, `slow-${saved++}`, input, `${ms.toFixed(0)} ms`);
    }
    if (start > nextReport) {
      nextReport = start + 30_000;
      console.log(
        `  … ${(i + 1).toLocaleString('en-US')} inputs, ${fmt((i + 1) / ((start - t0) / 1000))}/s, ${bugs.size} bug kinds, peak RSS ${fmt(peakRssMiB())} MiB`,
      );
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const rate = total / seconds;
  const sorted = times.sort();
  const rejected = total - accepted - [...bugs.values()].reduce((a, b) => a + b, 0);

  console.log(
    `\n${total.toLocaleString('en-US')} inputs in ${fmt(seconds)} s: ${fmt(rate)} inputs/s (plain fromBinary of the unmutated seeds: ${fmt(baseline)}/s)`,
  );
  console.log(
    table(
      ['body', 'accepted', 'rejected'],
      Object.entries(byKind).map(([k, [a, r]]) => [k, a.toLocaleString('en-US'), r.toLocaleString('en-US')]),
    ),
  );
  console.log(
    `\naccepted ${accepted.toLocaleString('en-US')}, rejected ${rejected.toLocaleString('en-US')}, bugs ${(total - accepted - rejected).toLocaleString('en-US')}`,
  );
  const top = [...reasons].sort((a, b) => b[1] - a[1]);
  console.log(`\nrejections by reason (${top.length} distinct; top 25):`);
  console.log(
    table(
      ['reason', 'inputs'],
      top.slice(0, 25).map(([r, n]) => [r, n.toLocaleString('en-US')]),
    ),
  );
  console.log(
    `\nper input: p50 ${fmt(quantile(sorted as unknown as number[], 0.5))} ms, p99 ${fmt(quantile(sorted as unknown as number[], 0.99))} ms, ` +
      `max ${fmt(sorted[total - 1] ?? NaN)} ms; inputs over 1 s: ${slow.length}`,
  );
  console.log(`peak RSS ${fmt(peakRssMiB())} MiB (${fmt(rssStart)} MiB before the loop); heap now ${fmt(process.memoryUsage().heapUsed / 2 ** 20)} MiB`);
  console.log('(the machine is shared and busy: rates are noisy; the baseline was measured in the same run)');
  if (bugs.size > 0) {
    console.log(`\nBUGS (inputs saved in ${outDir}):`);
    for (const [k, n] of bugs) console.log(`  ${n} × ${k}`);
    process.exitCode = 1;
  }

  return {
    title: `${total.toLocaleString('en-US')} fuzz inputs (protobuf, OTLP/JSON, gzip)`,
    figures: [
      {
        name: 'fuzz inputs through gunzip + read + validate + aggregate + store, with the message oracle',
        value: rate,
        unit: 'inputs/s',
        better: 'higher',
        baseline: { name: 'fromBinary of the valid seeds', value: baseline },
      },
      { name: 'per-input time, p99', value: quantile(sorted as unknown as number[], 0.99), unit: 'ms', better: 'lower' },
      { name: 'per-input time, max', value: sorted[total - 1] ?? NaN, unit: 'ms', better: 'lower' },
      { name: 'peak RSS', value: peakRssMiB(), unit: 'MiB', better: 'lower', baseline: { name: 'before the loop', value: rssStart } },
    ],
    notes: [
      `accepted ${accepted}, rejected ${rejected} (${top.length} distinct reasons), bugs ${total - accepted - rejected}`,
      ...Object.entries(byKind).map(([k, [a, r]]) => `${k}: ${a} accepted, ${r} rejected`),
      ...top.slice(0, 10).map(([r, n]) => `rejected ${n}× — ${r}`),
      ...[...bugs].map(([k, n]) => `BUG ${n}× — ${k}`),
    ],
  };
}

const STORE_EVERY = Number(process.env.FUZZ_STORE_EVERY ?? 4);

/** Inputs/s of a plain protobuf-es decode over the same seed mix, unmutated. */
function seedDecodeRate(seeds: ReturnType<typeof makeSeeds>): number {
  const n = 20_000;
  for (let i = 0; i < 2000; i++) fromBinary(ExportProfilesServiceRequestSchema, seeds[i % seeds.length].bytes);
  const t = performance.now();
  for (let i = 0; i < n; i++) fromBinary(ExportProfilesServiceRequestSchema, seeds[i % seeds.length].bytes);
  return n / ((performance.now() - t) / 1000);
}

function saveInput(dir: string, name: string, input: FuzzInput, why: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.bin`), input.bytes);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ why, mutator: input.mutator, encoding: input.encoding, gzip: input.gzip }, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
