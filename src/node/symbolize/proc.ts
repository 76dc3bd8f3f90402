import { readFileSync } from 'node:fs';

/** Small /proc readers shared by the symbolizer and the workload resolver; undefined when gone. */

export function readProc(procRoot: string, pid: number, file: string): string | undefined {
  try {
    return readFileSync(`${procRoot}/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The process start time (clock ticks since boot, field 22 of /proc/PID/stat): together with
 * the pid it identifies a process, so a reused pid is noticed.
 */
export function processStartTime(procRoot: string, pid: number): string | undefined {
  const stat = readProc(procRoot, pid, 'stat');
  if (!stat) return undefined;
  // The comm field (2) is parenthesised and may contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** The pid as the process itself sees it (innermost pid namespace), from NSpid in status. */
export function namespacePid(procRoot: string, pid: number): number {
  const status = readProc(procRoot, pid, 'status');
  const m = status && /^NSpid:\s+(.*)$/m.exec(status);
  if (!m) return pid;
  const ids = m[1].trim().split(/\s+/);
  return Number(ids[ids.length - 1]) || pid;
}
