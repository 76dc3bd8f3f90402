import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { gunzipBoundedSync, isGzip, sniffEncoding } from '../otlp/codec.js';
import { readRequest, type ReadRequest } from '../otlp/read-request.js';
import { aggregateWireTypes } from '../profile/aggregate-encoded.js';
import { emptyWorkloadProfile, mergeWorkloadProfile, type WorkloadProfile } from '../profile/workload-profile.js';
import { CPU } from '../profile/profile-type.js';
import { flameGraph } from '../profile/flame.js';
import { foldedStacks } from '../profile/folded.js';
import { toPprof } from '../profile/pprof.js';
import { symbolsTable } from '../profile/symbols.js';
import { parseWorkloadKey } from '../profile/workload.js';

export type ProfileFormat = 'table' | 'folded' | 'json' | 'pprof';

export interface ProfileCommandOptions {
  format: ProfileFormat;
  workload?: string;
  /** The profile type (cpu, off_cpu, or type:unit); cpu by default. */
  type?: string;
  output?: string;
}

/** Files are read whole; this bounds what a gzip file may inflate to. */
const MAX_FILE_BYTES = 1024 * 1024 * 1024;

/** A request file (protobuf or OTLP/JSON, gzipped or not, `-` for stdin), read the one way requests come in. */
export async function readRequestFile(path: string): Promise<ReadRequest> {
  let bytes: Uint8Array = path === '-' ? await readStdin() : await readFile(path);
  if (isGzip(bytes)) bytes = gunzipBoundedSync(bytes, MAX_FILE_BYTES);
  return readRequest(bytes, sniffEncoding(bytes));
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Loads a file and merges its workloads (or the one asked for) into one profile of one type (cpu by default). */
export async function loadProfile(path: string, workload?: string, type: string = CPU.key): Promise<WorkloadProfile> {
  const { wire } = await readRequestFile(path);
  const byWorkload = aggregateWireTypes(wire, { workload });
  if (workload !== undefined && byWorkload.size === 0) {
    throw new Error(`no samples for workload ${workload} in ${path}`);
  }
  const all = [...byWorkload.values()].map((w) => w.types.get(type)).filter((p): p is WorkloadProfile => p !== undefined);
  if (all.length === 0) {
    const there = [...new Set([...byWorkload.values()].flatMap((w) => [...w.types.keys()]))];
    if (type !== CPU.key || there.length > 0) throw new Error(`no ${type} profile in ${path}${there.length ? `; types there: ${there.join(', ')}` : ''}`);
  }
  if (all.length === 1) return all[0];
  const merged = emptyWorkloadProfile(parseWorkloadKey('all/All/all')!, {}, all[0]?.type ?? CPU);
  for (const p of all) mergeWorkloadProfile(merged, p);
  return merged;
}

export async function runProfileCommand(file: string, opts: ProfileCommandOptions): Promise<void> {
  const profile = await loadProfile(file, opts.workload, opts.type);
  let out: string | Uint8Array;
  switch (opts.format) {
    case 'folded':
      out = foldedStacks(profile.tree);
      break;
    case 'json':
      out =
        JSON.stringify({
          workload: profile.workload.key,
          samples: profile.samples,
          cpuNanos: profile.cpuNanos,
          periodNanos: profile.periodNanos,
          flame: flameGraph(profile.tree),
          symbols: symbolsTable(profile.tree),
        }) + '\n';
      break;
    case 'pprof':
      out = gzipSync(toPprof(profile));
      if (!opts.output) {
        if (process.stdout.isTTY) throw new Error('pprof is binary: give --output FILE or redirect stdout');
      }
      break;
    default:
      out = formatTable(profile);
  }
  if (opts.output) await writeFile(opts.output, out);
  else process.stdout.write(out);
}

export function formatTable(profile: WorkloadProfile, limit = Infinity): string {
  const rows = symbolsTable(profile.tree);
  const total = profile.samples || 1;
  const pct = (v: number): string => `${((100 * v) / total).toFixed(2)}%`;
  const lines = [`${'SELF'.padStart(10)} ${'SELF%'.padStart(8)} ${'TOTAL'.padStart(10)} ${'TOTAL%'.padStart(8)}  SYMBOL`];
  for (const r of rows.slice(0, limit)) {
    lines.push(`${String(r.self).padStart(10)} ${pct(r.self).padStart(8)} ${String(r.total).padStart(10)} ${pct(r.total).padStart(8)}  ${r.name}`);
  }
  const unit = profile.type.key === CPU.key ? 'samples' : `${profile.type.unit} of ${profile.type.label}`;
  lines.push(`${profile.samples} ${unit} in ${profile.workload.key}`);
  return lines.join('\n') + '\n';
}
