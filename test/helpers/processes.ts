import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI_MAIN } from './cli.js';

/**
 * Pilotlight's commands (and helper scripts) as child processes, for the tests and benches that
 * run the real processes: start one, wait for a line it prints, stop it; and what the kernel
 * says about a process (RSS, CPU time). A free port is freePort in peers.ts; a gateway's or
 * UI's /metrics is read with metrics.ts.
 */

export interface CliChild {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `re` in stdout (rejects if the child exits first). */
  waitFor(re: RegExp, limitMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `node --import tsx <script> args…` (a CLI command, with CLI_MAIN, or a helper script). */
export function startNode(script: string, args: string[], env: Record<string, string> = {}): CliChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out + (err ? `\n[stderr]\n${err}` : ''),
    waitFor(re, limitMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${re} from ${script} within ${limitMs} ms: ${out}${err}`));
        }, limitMs);
        const onExit = (): void => {
          done();
          reject(new Error(`${script} ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${re}: ${out}${err}`));
        };
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface GatewayChild extends CliChild {
  http: string;
  grpc: string;
}

/** `pilotlight gateway` in a child process, listening on `grpcPort`/`httpPort` (0 = any free). */
export async function startGatewayChild(uiEndpoint: string, extra: string[] = [], ports: { grpc?: number; http?: number } = {}): Promise<GatewayChild> {
  const c = startNode(CLI_MAIN, [
    'gateway',
    '--otlp-grpc',
    `127.0.0.1:${ports.grpc ?? 0}`,
    '--otlp-http',
    `127.0.0.1:${ports.http ?? 0}`,
    '--ui-endpoint',
    uiEndpoint,
    '--log-level',
    'warn',
    ...extra,
  ]);
  try {
    const h = await c.waitFor(/OTLP\/HTTP {2}(http:\/\/\S+)/);
    const g = await c.waitFor(/OTLP\/gRPC {2}(\S+)/);
    return { ...c, http: h[1], grpc: g[1] };
  } catch (err) {
    await c.stop(0);
    throw err;
  }
}

/** A process's resident memory (MiB), or NaN once it is gone. */
export function rssMiBOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) the kernel has charged a process (USER_HZ = 100), or NaN once it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}
