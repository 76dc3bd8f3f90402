/**
 * Send failures, classified where they arise (as the Collector's consumererror): the retry link
 * drops a PermanentError at once and retries anything else, waiting at least `retryAfterMs`
 * when the destination asked for it (HTTP Retry-After, gRPC RetryInfo).
 */
export class PermanentError extends Error {
  constructor(
    message: string,
    /** Short label for metrics/logs, e.g. `http_400`. */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

export class RetryableError extends Error {
  constructor(
    message: string,
    /** Short label for the retries counter, e.g. `http_503`, `grpc_unavailable`, `timeout`. */
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

/** The exporter is shutting down and no longer takes requests. */
export class ExporterClosedError extends Error {
  constructor(name: string) {
    super(`exporter "${name}" is shut down`);
    this.name = 'ExporterClosedError';
  }
}

export function isPermanent(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}

/** HTTP statuses worth another try, per the OTLP/HTTP spec. */
export const RETRYABLE_HTTP_STATUS = new Set([429, 502, 503, 504]);

/** Retry-After is seconds or an HTTP date; returns milliseconds from now, or undefined. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
