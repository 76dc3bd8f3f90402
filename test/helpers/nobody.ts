import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const NOBODY = 65534;

/**
 * Why the tests cannot run the CLI as user `nobody` (the honest "not root"), or undefined when
 * they can: only root can switch users, and `nobody` must be able to read the checkout and its
 * node_modules (a clone under a 0700 `mktemp -d` folder is not readable).
 */
export function nobodyUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'switching to user nobody needs root';
  const probe = spawnSync(
    process.execPath,
    ['-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', join(ROOT, 'node_modules', 'tsx', 'package.json')],
    {
      uid: NOBODY,
      gid: NOBODY,
      encoding: 'utf8',
    },
  );
  if (probe.status !== 0) return `user nobody cannot read this checkout (${ROOT}), so the CLI cannot run as nobody here`;
  return undefined;
}
