import { z } from 'zod';
import type { StoreLimits } from '../api/types.js';

export const DEFAULT_LIMITS: StoreLimits = Object.freeze({
  maxSlots: 24,
  slotTtlSeconds: 120,
  slotMaxBytes: 8 * 1024 * 1024,
  cleanupIntervalSeconds: 15,
  maxSources: 50_000,
});

const positiveInt = (max: number) => z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(max, `must be at most ${max}`);

export const limitsSchema = z.object({
  maxSlots: positiveInt(10_000),
  slotTtlSeconds: positiveInt(30 * 24 * 3600),
  slotMaxBytes: positiveInt(4 * 1024 * 1024 * 1024),
  cleanupIntervalSeconds: positiveInt(24 * 3600),
  maxSources: positiveInt(10_000_000),
});

export const partialLimitsSchema = limitsSchema.partial().strict();

/** The environment variables the user documentation promises, and the limit each sets. */
export const LIMIT_ENV: Record<keyof StoreLimits, string> = {
  maxSlots: 'PROFILES_MAX_SLOTS',
  slotTtlSeconds: 'PROFILES_SLOT_TTL_SECONDS',
  slotMaxBytes: 'PROFILES_SLOT_MAX_BYTES',
  cleanupIntervalSeconds: 'PROFILES_CLEANUP_INTERVAL_SECONDS',
  maxSources: 'PROFILES_MAX_SOURCES',
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Store limits from the environment; an unset or empty variable takes its default, a bad value
 * is an error naming the variable (never a silent default).
 */
export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env, base: StoreLimits = DEFAULT_LIMITS): StoreLimits {
  const out: Record<string, number> = { ...base };
  for (const [field, variable] of Object.entries(LIMIT_ENV) as [keyof StoreLimits, string][]) {
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    if (!/^\s*\d+\s*$/.test(raw)) throw new ConfigError(`${variable}=${JSON.stringify(raw)}: must be a whole number`);
    const parsed = limitsSchema.shape[field].safeParse(raw);
    if (!parsed.success) throw new ConfigError(`${variable}=${JSON.stringify(raw)}: ${parsed.error.issues[0].message}`);
    out[field] = parsed.data;
  }
  return out as unknown as StoreLimits;
}
