import { RetryableError } from './exporter-errors.js';
import type { SendFn } from './export-item.js';

class AttemptTimeout extends Error {}

/**
 * The timeout link: bounds one attempt. A timed-out attempt is retryable (the destination may
 * only be slow); an abort from above (shutdown deadline) passes through as it is.
 */
export function timeoutLink(timeoutMs: number, next: SendFn): SendFn {
  return async (item, parent) => {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new AttemptTimeout()), timeoutMs);
    const onParentAbort = (): void => ctl.abort(parent.reason);
    if (parent.aborted) onParentAbort();
    else parent.addEventListener('abort', onParentAbort, { once: true });
    try {
      return await next(item, ctl.signal);
    } catch (err) {
      if (ctl.signal.reason instanceof AttemptTimeout) {
        throw new RetryableError(`attempt timed out after ${timeoutMs} ms`, 'timeout');
      }
      throw err;
    } finally {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    }
  };
}
