import { Command, Option } from 'commander';
import { diffFolded, diffProfiles, formatDiffTable } from '../profile/diff.js';
import { loadProfile } from './profile-command.js';

export type DiffFormat = 'table' | 'json' | 'folded';

export interface DiffCommandOptions {
  format: DiffFormat;
  workload?: string;
  /** The profile type compared on both sides (cpu by default). */
  type?: string;
}

/** Reads two OTLP Profiles files (as `pilotlight profile` does) and prints base → target. */
export async function runDiffCommand(baseFile: string, targetFile: string, opts: DiffCommandOptions): Promise<string> {
  if (baseFile === '-' && targetFile === '-') throw new Error('only one of BASE and TARGET can be - (stdin)');
  const base = await loadProfile(baseFile, opts.workload, opts.type);
  const target = await loadProfile(targetFile, opts.workload, opts.type);
  const diff = diffProfiles(base, target);
  switch (opts.format) {
    case 'json':
      return JSON.stringify(diff.symbols) + '\n';
    case 'folded':
      return diffFolded(diff);
    default:
      return formatDiffTable(diff, { base: `${baseFile} (${base.workload.key})`, target: `${targetFile} (${target.workload.key})` });
  }
}

export function diffCommand(): Command {
  return new Command('diff')
    .description('compare two OTLP Profiles request files (protobuf or JSON, gzip or not): per function base vs target samples and the change in share')
    .argument('<base>', 'the base request file, or - for stdin')
    .argument('<target>', 'the request file to compare with the base, or - for stdin')
    .addOption(
      new Option('--format <format>', 'table, json (the symbols array) or folded (`stack base target` per line)')
        .choices(['table', 'json', 'folded'])
        .default('table'),
    )
    .option('--workload <key>', 'only this workload (namespace/Kind/name) on both sides')
    .option('--type <key>', 'the profile type compared: cpu, off_cpu, or type:unit as the UI names it', 'cpu')
    .action(async (base: string, target: string, opts: DiffCommandOptions) => {
      process.stdout.write(await runDiffCommand(base, target, opts));
    });
}
