import { z } from 'zod';
import { parseDuration } from '../config/duration.js';

/**
 * A duration in a component's options: a number of milliseconds (the programmatic form, used
 * by code and tests) or a string with units as in the Helm values and pilotlight.yaml (`5s`,
 * `300ms`, `1m`). Parses to milliseconds. (In pilotlight.yaml a bare number means seconds;
 * src/config converts the file to milliseconds before it reaches a component.)
 */
export const durationSchema = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});
