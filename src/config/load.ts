import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type PilotlightConfig } from './schema.js';

export class ConfigFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/** The first problem of a zod error as `path.to.key: message` (the key is what a user fixes). */
export function describeIssue(err: z.ZodError, prefix = ''): string {
  const issue = err.issues[0];
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  const where = [prefix, path].filter(Boolean).join(path.startsWith('[') ? '' : '.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  return where ? `${where}: ${message}` : message;
}

/** Validates a parsed config object. */
export function parseConfig(raw: unknown, source = 'config'): PilotlightConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigFileError(`${source}: ${describeIssue(result.error)}`);
  return result.data;
}

/** Reads and validates `pilotlight.yaml`; a missing file is an error only when asked for by name. */
export async function loadConfigFile(path: string): Promise<PilotlightConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(`${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigFileError(`${path}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return parseConfig(raw, path);
}
