import { SAMPLE_MAP } from './output.js';

export interface ProgramOptions {
  hz: number;
  intervalMs: number;
  /** Sample only these processes (tgids); empty = all. */
  pids: readonly number[];
  /** Processes never sampled (the sampler's own). */
  excludePids: readonly number[];
  /**
   * Exclude the bpftrace process itself via positional parameter `$1`: the sampler starts
   * bpftrace through `sh -c 'exec bpftrace … "$$"'`, so `$1` is bpftrace's own pid, known only
   * once it runs.
   */
  excludeSelfParam: boolean;
}

/**
 * The eBPF program: count samples per (pid, tid, comm, kernel stack, user stack) in a kernel
 * map, print it and clear it every interval. Aggregating in the kernel keeps the output to one
 * line per distinct stack per interval, whatever the sampling rate.
 */
export function buildProgram(o: ProgramOptions): string {
  const conds: string[] = ['pid != 0']; // the idle task: no process to attribute
  for (const p of o.excludePids) conds.push(`pid != ${Math.trunc(p)}`);
  if (o.excludeSelfParam) conds.push('pid != $1');
  if (o.pids.length > 0) conds.push(`(${o.pids.map((p) => `pid == ${Math.trunc(p)}`).join(' || ')})`);
  return [
    `profile:hz:${Math.trunc(o.hz)} /${conds.join(' && ')}/ {`,
    `  ${SAMPLE_MAP}[pid, tid, comm, kstack, ustack] = count();`,
    `}`,
    `interval:ms:${Math.trunc(o.intervalMs)} {`,
    `  print(${SAMPLE_MAP});`,
    `  clear(${SAMPLE_MAP});`,
    `}`,
    '',
  ].join('\n');
}
