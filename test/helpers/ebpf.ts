import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import type { ExportProfilesServiceRequest } from '../../src/otlp/messages.js';
import { validateRequest } from '../../src/otlp/validate.js';
import { aggregateRequest, emptyWorkloadProfile, mergeWorkloadProfile, type WorkloadProfile } from '../../src/profile/aggregate.js';
import { parseWorkloadKey } from '../../src/profile/workload.js';
import { consumerOf } from '../../src/pipeline/consumer.js';
import { PreflightError, preflight } from '../../src/node/preflight.js';

/** Why eBPF tests cannot run here, or undefined when they can (root, bpftrace, perf events). */
export function ebpfUnavailable(): string | undefined {
  try {
    preflight('bpftrace');
    return undefined;
  } catch (err) {
    return err instanceof PreflightError ? err.message : String(err);
  }
}

/** Starts a child that is killed when the test ends, whatever happens. */
export function startChild(t: TestContext, cmd: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** A consumer that keeps every request. */
export function collectingConsumer(): { requests: ExportProfilesServiceRequest[]; consumer: ReturnType<typeof consumerOf> } {
  const requests: ExportProfilesServiceRequest[] = [];
  return { requests, consumer: consumerOf((b) => void requests.push(b.request)) };
}

export const quietLog = pino({ level: process.env.PILOTLIGHT_TEST_LOG ?? 'silent' });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every workload's profile in the sampler's requests (each validated), merged over them. */
export function profilesByWorkload(requests: ExportProfilesServiceRequest[]): Map<string, WorkloadProfile> {
  const out = new Map<string, WorkloadProfile>();
  for (const req of requests) {
    validateRequest(req);
    for (const [key, p] of aggregateRequest(req)) {
      const acc = out.get(key) ?? emptyWorkloadProfile(parseWorkloadKey(key)!, p.resource);
      mergeWorkloadProfile(acc, p);
      out.set(key, acc);
    }
  }
  return out;
}
