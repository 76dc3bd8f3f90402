import { Command } from 'commander';

/** `pilotlight gateway` (placeholder until its issue lands: it says so and exits non-zero). */
export function gatewayCommand(): Command {
  return new Command('gateway').description('(not yet available)').action(() => {
    throw new Error('`pilotlight gateway` is not built yet');
  });
}
