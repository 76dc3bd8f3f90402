import { Backoff } from './backoff.js';
import { isPermanent, RetryableError } from './exporter-errors.js';
import type { ExportItem, SendFn, SendOutcome } from './export-item.js';
import type { RetryConfig } from './exporter-config.js';
import type { DropReason } from '../metrics.js';

export interface RetryHooks {
  onRetry(item: ExportItem, err: unknown, delayMs: number): void;
  onDrop(item: ExportItem, reason: DropReason, err: unknown): void;
}

/**
 * The retry link: sends, and on a retryable failure waits (exponential backoff with jitter, at
 * least what the destination asked for) and sends again until `maxElapsedTime` would pass.
 * Permanent errors are dropped at once. After stop() it no longer waits: a failure during
 * shutdown drops the item, so the queue can drain within the shutdown deadline.
 */
export class RetryLink {
  private readonly stopped = new AbortController();

  constructor(
    private readonly config: RetryConfig,
    private readonly next: SendFn,
    private readonly hooks: RetryHooks,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves with the destination's answer, or undefined when the item was dropped. */
  async send(item: ExportItem, signal: AbortSignal): Promise<SendOutcome | undefined> {
    const started = this.now();
    const backoff = new Backoff({
      initialIntervalMs: this.config.initialInterval,
      maxIntervalMs: this.config.maxInterval,
      multiplier: this.config.multiplier,
      randomizationFactor: this.config.randomizationFactor,
    });
    for (;;) {
      try {
        return await this.next(item, signal);
      } catch (err) {
        if (isPermanent(err)) return this.drop(item, 'permanent_error', err);
        if (signal.aborted || this.stopped.signal.aborted) return this.drop(item, 'shutdown', err);
        if (!this.config.enabled) return this.drop(item, 'retry_disabled', err);
        let delay = backoff.next();
        if (err instanceof RetryableError && err.retryAfterMs !== undefined) delay = Math.max(delay, err.retryAfterMs);
        const max = this.config.maxElapsedTime;
        if (max > 0 && this.now() - started + delay > max) return this.drop(item, 'retries_exhausted', err);
        this.hooks.onRetry(item, err, delay);
        if (!(await sleep(delay, this.stopped.signal, signal))) return this.drop(item, 'shutdown', err);
      }
    }
  }

  /** Stops waiting between attempts (first step of shutdown). */
  stop(): void {
    this.stopped.abort();
  }

  private drop(item: ExportItem, reason: DropReason, err: unknown): undefined {
    this.hooks.onDrop(item, reason, err);
    return undefined;
  }
}

/** Resolves true after `ms`, or false as soon as either signal aborts. */
function sleep(ms: number, a: AbortSignal, b: AbortSignal): Promise<boolean> {
  if (a.aborted || b.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      a.removeEventListener('abort', onAbort);
      b.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    a.addEventListener('abort', onAbort, { once: true });
    b.addEventListener('abort', onAbort, { once: true });
  });
}
