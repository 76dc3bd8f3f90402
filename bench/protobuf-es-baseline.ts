import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { ExportProfilesServiceRequestSchema } from '../src/otlp/messages.js';
import { readBodies, writeBodies } from './bodies-file.js';
import { quantile } from './measure.js';

/**
 * The benchmarks' common baseline, protobuf-es `fromBinary`, timed in a process of its own.
 *
 * Timed inside a benchmark process it depends on what that process did first: under tsx, the
 * generators in test/helpers/gen.ts build their requests through protobuf-es before the first
 * decode, and V8 then optimises `fromBinary` on that mixed feedback and keeps it slow (35 MB/s
 * of the store benchmark's chunks against 63–67 MB/s for the same bytes in a fresh process,
 * and 60 when the first decode came before the generator). A receiver that decodes with
 * protobuf-es does nothing else with it, so the baseline is a process that only decodes: the
 * bytes go over in a file, a child reads them, decodes each body once per pass, and reports.
 */
export interface FromBinaryTiming {
  /** Bodies decoded per pass, and their bytes. */
  bodies: number;
  bytes: number;
  /** Median over the timed passes of one pass over every body: wall ms and CPU ms of the child. */
  wallMs: number;
  cpuMs: number;
  /** The 90th percentile and the fastest pass, wall ms. */
  wallP90Ms: number;
  wallMinMs: number;
  /** Per body: wallMs / bodies, cpuMs / bodies. */
  wallMsPerBody: number;
  cpuMsPerBody: number;
  /** Throughput of the median pass: MB (10^6 bytes) per wall second and per CPU second. */
  mbPerSec: number;
  mbPerCpuSec: number;
}

/** Times `fromBinary` of `bodies` in a child process: `passes` timed passes after warming up. */
export async function fromBinaryInOwnProcess(bodies: Uint8Array[], passes = 5): Promise<FromBinaryTiming> {
  const dir = mkdtempSync(join(tmpdir(), 'pilotlight-baseline-'));
  try {
    const file = join(dir, 'bodies.bin');
    writeBodies(file, bodies);
    const self = fileURLToPath(import.meta.url);
    const args = [...(self.endsWith('.js') ? [] : ['--import', 'tsx']), self, file, String(passes)];
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, out) => (err ? reject(err) : resolve(out))),
    );
    return JSON.parse(stdout) as FromBinaryTiming;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function child(file: string, passes: number): void {
  const bodies = readBodies(file);
  const bytes = bodies.reduce((s, b) => s + b.byteLength, 0);
  const pass = (): void => {
    for (const body of bodies) fromBinary(ExportProfilesServiceRequestSchema, body, { readUnknownFields: false });
  };
  // Warm up for at least one pass and half a second, so the JIT has settled.
  const warm0 = performance.now();
  do pass();
  while (performance.now() - warm0 < 500);
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < passes; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    pass();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  walls.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  const wallMs = quantile(walls, 0.5);
  const cpuMs = quantile(cpus, 0.5);
  const timing: FromBinaryTiming = {
    bodies: bodies.length,
    bytes,
    wallMs,
    cpuMs,
    wallP90Ms: quantile(walls, 0.9),
    wallMinMs: walls[0],
    wallMsPerBody: wallMs / bodies.length,
    cpuMsPerBody: cpuMs / bodies.length,
    mbPerSec: bytes / 1e6 / (wallMs / 1000),
    mbPerCpuSec: bytes / 1e6 / (cpuMs / 1000),
  };
  process.stdout.write(JSON.stringify(timing));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) child(process.argv[2], Number(process.argv[3]));
