import { z } from 'zod';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The one duration parser, for what a user writes (pilotlight.yaml, Helm values, flags):
 * `500ms`, `5s`, `1.5m`, `2h`, or a bare number (or numeric text) of seconds, into
 * milliseconds. Components take the milliseconds as numbers and parse nothing.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`bad duration ${value}: expected a non-negative number of seconds`);
    return value * 1000;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m) throw new Error(`bad duration ${JSON.stringify(value)}: expected e.g. 500ms, 5s, 1m, 2h`);
  return Number(m[1]) * UNITS[m[2] ?? 's'];
}

/** A zod duration: string or number in, milliseconds out. */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
