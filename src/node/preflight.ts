import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** A reason the sampler cannot run here, worded for the person starting it. */
export class PreflightError extends Error {}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/**
 * Checks what the eBPF sampler needs before starting it, so a missing piece is one clear
 * message rather than a bpftrace error: root (or CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN),
 * bpftrace on PATH, and kernel perf events.
 */
export function preflight(bpftrace: string, procRoot = '/proc'): string {
  const caps = effectiveCaps(procRoot);
  const has = (c: bigint): boolean => ((caps >> c) & 1n) === 1n;
  if (!(has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)))) {
    throw new PreflightError(
      'the node sampler needs root (or the CAP_BPF and CAP_PERFMON capabilities) to load eBPF programs; run it as root or in a privileged container',
    );
  }
  const path = findExecutable(bpftrace);
  if (!path) {
    throw new PreflightError(
      `bpftrace is not installed (looked for "${bpftrace}" on PATH); install it (Debian/Ubuntu: apt-get install bpftrace) or pass --bpftrace PATH`,
    );
  }
  if (!existsSync(`${procRoot}/sys/kernel/perf_event_paranoid`)) {
    throw new PreflightError('this kernel has no perf events (/proc/sys/kernel/perf_event_paranoid is missing): CPU sampling needs CONFIG_PERF_EVENTS');
  }
  return path;
}

/** The process's effective capability set (all bits set when /proc cannot tell and we are root). */
export function effectiveCaps(procRoot: string): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`${procRoot}/self/status`, 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return process.getuid?.() === 0 ? -1n : 0n;
  }
}

export function findExecutable(name: string): string | undefined {
  const candidates =
    isAbsolute(name) || name.includes('/') ? [name] : (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return undefined;
}
