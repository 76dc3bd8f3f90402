import { Command } from 'commander';

/** `pilotlight up` (placeholder until its issue lands: it says so and exits non-zero). */
export function upCommand(): Command {
  return new Command('up').description('(not yet available)').action(() => {
    throw new Error('`pilotlight up` is not built yet');
  });
}
