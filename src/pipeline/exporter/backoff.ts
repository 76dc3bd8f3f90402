/**
 * Exponential backoff with jitter, as the Collector's retry sender (cenkalti/backoff): each
 * interval grows by `multiplier` up to `maxIntervalMs`, and the delay actually waited is drawn
 * from interval × [1 − r, 1 + r] so that many senders failing together do not retry together.
 */
export interface BackoffOptions {
  initialIntervalMs: number;
  maxIntervalMs: number;
  multiplier: number;
  randomizationFactor: number;
  random?: () => number;
}

export class Backoff {
  private interval: number;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.interval = opts.initialIntervalMs;
    this.random = opts.random ?? Math.random;
  }

  /** The next delay to wait, in milliseconds. */
  next(): number {
    const r = this.opts.randomizationFactor;
    const delta = r * this.interval;
    const min = this.interval - delta;
    const max = this.interval + delta;
    const delay = min + this.random() * (max - min);
    this.interval = Math.min(this.interval * this.opts.multiplier, this.opts.maxIntervalMs);
    return delay;
  }
}
