import { Command } from 'commander';

/** `pilotlight node` (placeholder until its issue lands: it says so and exits non-zero). */
export function nodeCommand(): Command {
  return new Command('node').description('(not yet available)').action(() => {
    throw new Error('`pilotlight node` is not built yet');
  });
}
