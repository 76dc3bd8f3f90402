import { join } from 'node:path';

/**
 * The CLI as the tests start it: its TypeScript sources through tsx. Never bin/pilotlight.js,
 * which runs dist/ whenever a build left one there, so a stale dist/ would decide the test.
 */
export const CLI_MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/**
 * Node's arguments that run the CLI: `spawn(process.execPath, [...CLI, 'node', ...])`. tsx is
 * named by its resolved URL, so a child started in another folder finds it too.
 */
export const CLI: readonly string[] = ['--import', import.meta.resolve('tsx'), CLI_MAIN];
