import { Command } from 'commander';

/** `pilotlight diff` (placeholder until its issue lands: it says so and exits non-zero). */
export function diffCommand(): Command {
  return new Command('diff').description('(not yet available)').action(() => {
    throw new Error('`pilotlight diff` is not built yet');
  });
}
