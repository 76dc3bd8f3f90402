/**
 * The API between gateways and the UI (JSON over the UI's HTTP port), apart from the browser's
 * (types.ts). A gateway asks the UI which workloads have a profiling slot and forwards only
 * their data to it; for every other workload it sends a small usage report instead of the
 * stacks, so the Sources list still shows the whole fleet's CPU.
 *
 * `GET /api/pipeline/subscription?since=TOKEN&wait=SECONDS`: the workloads with a slot and a
 * token naming that set. Without `since`, or when `since` differs from the current token, the
 * answer comes at once; otherwise it comes when the set changes or after `wait` seconds (at most
 * SUBSCRIPTION_MAX_WAIT_SECONDS), whichever is first (a long poll). A restarted UI has a new
 * token, so a gateway holding an old one learns the new set at its next poll.
 *
 * `POST /api/pipeline/usage` with a UsageReport: CPU time per workload in the buckets of the
 * Sources list (CPU_SERIES_STEP_SECONDS wide, keyed by their start). Answers 204.
 */

export const SUBSCRIPTION_PATH = '/api/pipeline/subscription';
export const USAGE_PATH = '/api/pipeline/usage';

/** The longest a subscription poll waits for a change before answering the same set. */
export const SUBSCRIPTION_MAX_WAIT_SECONDS = 60;
/** Most sources one usage report may carry (the UI's store remembers at most its maxSources limit anyway). */
export const USAGE_MAX_SOURCES = 100_000;
/** Largest usage report body, bytes. */
export const USAGE_MAX_BYTES = 16 * 1024 * 1024;

export interface SubscriptionResponse {
  /** Names this set of workloads in this UI process; changes whenever the set does. */
  token: string;
  /** Keys (`namespace/Kind/name`) of the workloads that have a profiling slot. */
  workloads: string[];
}

export interface UsageSource {
  namespace: string;
  kind: string;
  name: string;
  /** `[bucket start (ms since the epoch), CPU nanoseconds]`, for buckets with CPU time. */
  cpu: [number, number][];
}

export interface UsageReport {
  sources: UsageSource[];
}
