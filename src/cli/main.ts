import { Command, Option } from 'commander';
import { runProfileCommand, type ProfileFormat } from './profile-command.js';
import { diffCommand } from './diff-command.js';
import { gatewayCommand } from './gateway-command.js';
import { nodeCommand } from './node-command.js';
import { uiCommand } from './ui-command.js';
import { upCommand } from './up-command.js';
import { exitQuietlyWhenStdoutCloses } from './stdout.js';

exitQuietlyWhenStdoutCloses();

const program = new Command();
program.name('pilotlight').description('Continuous CPU profiling: eBPF sampler, OTLP Profiles pipeline, live flame graphs');

program
  .command('profile')
  .description('read an OTLP Profiles request (protobuf or JSON, gzip or not, - for stdin) and print it')
  .argument('<file>', 'request file, or - for stdin')
  .addOption(new Option('--format <format>', 'output format').choices(['table', 'folded', 'json', 'pprof']).default('table'))
  .option('--workload <key>', 'only this workload (namespace/Kind/name)')
  .option('--type <key>', 'the profile type: cpu, off_cpu, or type:unit as the UI names it', 'cpu')
  .option('--output <file>', 'write to a file instead of stdout')
  .action(async (file: string, opts: { format: ProfileFormat; workload?: string; type: string; output?: string }) => {
    await runProfileCommand(file, opts);
  });

// The commands that run servers or samplers import them in their actions, so that every command
// starts without loading the others' modules.
program.addCommand(upCommand());
program.addCommand(nodeCommand());
program.addCommand(gatewayCommand());
program.addCommand(uiCommand());
program.addCommand(diffCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // One clear line, never a stack trace, for anything the user can fix.
  process.stderr.write(`pilotlight: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
