import type { SamplerKind } from '../node/choose-sampler.js';
import { ebpfProfilerPreflight } from '../node/ebpf-profiler/preflight.js';
import { findExecutable, preflight, PreflightError } from '../node/preflight.js';

/** What `up` cannot run without, as one message: what is missing and the command that fixes it. */
export class MissingPrerequisiteError extends Error {
  constructor(readonly problems: { what: string; fix: string }[]) {
    super(
      problems.length === 1
        ? `${problems[0].what}. Fix: ${problems[0].fix}`
        : `the node sampler cannot start:\n${problems.map((p) => `  - ${p.what}. Fix: ${p.fix}`).join('\n')}`,
    );
    this.name = 'MissingPrerequisiteError';
  }
}

/**
 * Checks the node sampler's needs before anything starts, so a first run ends with every
 * missing piece and its fix at once rather than one at a time.
 */
export function checkPrerequisites(bpftrace: string, procRoot = '/proc', sampler: SamplerKind = 'bpftrace'): void {
  if (sampler === 'ebpf-profiler') {
    try {
      ebpfProfilerPreflight(undefined, procRoot);
      return;
    } catch (err) {
      if (!(err instanceof PreflightError)) throw err;
      throw new MissingPrerequisiteError([{ what: err.message, fix: 'see the message, or set profiling.node.sampler: bpftrace' }]);
    }
  }
  try {
    preflight(bpftrace, procRoot);
    return;
  } catch (err) {
    if (!(err instanceof PreflightError)) throw err;
    const problems: { what: string; fix: string }[] = [];
    const bpftraceMissing = findExecutable(bpftrace) === undefined;
    if (/needs root/.test(err.message)) {
      problems.push({ what: 'the eBPF sampler needs root (or CAP_BPF + CAP_PERFMON) to load its program', fix: 'run as root: sudo npm start' });
    }
    if (bpftraceMissing) {
      problems.push({
        what: bpftrace === 'bpftrace' ? 'bpftrace is not installed' : `bpftrace was not found at ${bpftrace}`,
        fix: 'sudo apt-get install bpftrace (or: sudo npm run setup), or pass --bpftrace PATH',
      });
    }
    if (problems.length === 0) problems.push({ what: err.message, fix: 'run on a Linux kernel built with perf events (CONFIG_PERF_EVENTS)' });
    throw new MissingPrerequisiteError(problems);
  }
}
