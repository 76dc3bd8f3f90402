import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The one wait of the tests: poll until something holds. A bound on a hang, not a speed check,
 * unless a test says its `timeoutMs` is the requirement.
 */

export interface WaitOptions {
  /** Give up after this long (default 15 s). */
  timeoutMs?: number;
  /** The pause between two probes (default 10 ms). */
  intervalMs?: number;
  /**
   * A probe that throws is tried again (the last error is named if it never succeeds), as while
   * a server is still starting; by default a throw ends the wait at once, with that error.
   */
  retryErrors?: boolean;
  /** What to add to the failure: the last state seen, output so far. */
  detail?: () => string;
}

/** What ends a wait: anything but undefined, null and false. */
export type Found<T> = Exclude<T, undefined | null | false>;

/**
 * Calls `probe` until it returns a value (anything but undefined, null and false: a condition
 * returns true, a lookup what it found) and resolves with it; after `timeoutMs` it fails the test,
 * naming `what`. `options` may be just the timeout in milliseconds.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitOptions | number = {}): Promise<Found<T>> {
  const { timeoutMs = 15_000, intervalMs = 10, retryErrors = false, detail } = typeof options === 'number' ? { timeoutMs: options } : options;
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v as Found<T>;
    } catch (err) {
      if (!retryErrors) throw err;
      lastError = err;
    }
    if (Date.now() > end) {
      const why = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      const more = detail ? `; ${detail()}` : '';
      assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}${why}${more}`);
    }
    await sleep(intervalMs);
  }
}
