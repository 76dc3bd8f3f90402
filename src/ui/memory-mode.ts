import { setFlagsFromString } from 'node:v8';

/**
 * `pilotlight ui --optimize-for-size` (off by default): the UI process favours memory over
 * speed. V8's `--optimize-for-size` keeps the JS heap close to its live size (a small young
 * generation, the old generation grown by small steps and collected sooner). The flag is read
 * when the heap decides to grow, so setting it at start-up works; it cannot go in NODE_OPTIONS.
 *
 * Process-wide: only `pilotlight ui` calls it (not `pilotlight up`, which runs other parts too).
 *
 * Not needed for the budget any more. It was added when ingest made ~25 bytes of short-lived
 * garbage per byte received and the default process reached 490-534 MiB with 24 full slots;
 * ingest now makes ~5 (strings shared across requests, frames looked up by their parts), and
 * the default process holds 24 full slots in 369-379 MiB right after filling, inside the
 * 1.5 × 192 + 100 = 388 MiB budget. With the flag: 329 MiB (bench/store.bench.ts prints both).
 * Its cost, measured before those changes: ingest ~30 % slower and GET …/profile after new
 * data 46 → 65 ms p50.
 */
export function favourMemoryOverSpeed(): void {
  setFlagsFromString('--optimize-for-size');
}
