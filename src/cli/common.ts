import { InvalidArgumentError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { parseDuration } from '../config/duration.js';
import { loadConfigFile, parseConfig } from '../config/load.js';
import type { PilotlightConfig } from '../config/schema.js';
import { SAMPLER_KINDS } from '../node/choose-sampler.js';

/** `host:port`, `:port` or `port`; `off` (or `false`) disables the listener. */
export function listenAddress(value: string): { host: string; port: number } | false {
  if (value === 'off' || value === 'false') return false;
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`expected host:port, :port or off, got ${JSON.stringify(value)}`);
  return { host: m[1] || '127.0.0.1', port };
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * A duration flag (`500ms`, `5s`, `1m`, `2h`; a bare number is seconds, as in pilotlight.yaml)
 * in whole milliseconds, optionally within `min`..`max` ms.
 */
export function durationMs(min = 0, max = Infinity): (value: string) => number {
  return (value) => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    if (ms < min || ms > max) throw new InvalidArgumentError(`expected a duration from ${min}ms to ${max / 1000}s, got ${JSON.stringify(value)}`);
    return Math.round(ms);
  };
}

export function makeLogger(level = process.env.PILOTLIGHT_LOG_LEVEL ?? 'info', name?: string): Logger {
  return pino({ level, base: name ? { component: name } : undefined });
}

export async function readConfig(path: string | undefined): Promise<PilotlightConfig> {
  return path ? loadConfigFile(path) : parseConfig({});
}

/** Runs `stop` once on SIGINT/SIGTERM, then exits; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, logger?: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(130);
    stopping = true;
    logger?.info({ signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`pilotlight: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/** `--sampler`, as `pilotlight node` and `pilotlight up` take it (profiling.node.sampler). */
export function samplerOption(): Option {
  return new Option('--sampler <sampler>', 'what samples (profiling.node.sampler; default: the eBPF profiler where it can run, else bpftrace)').choices(
    SAMPLER_KINDS,
  );
}
