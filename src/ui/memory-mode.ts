import { setFlagsFromString } from 'node:v8';

/**
 * `pilotlight ui --optimize-for-size` (off by default): the UI process favours memory over
 * speed. V8's `--optimize-for-size` keeps the JS heap close
 * to its live size (it grows the old generation by small steps and collects sooner). Ingest
 * makes a lot of short-lived garbage per request (decoded strings and frames of each chunk's
 * own dictionary); with V8's default growth that garbage let the heap reach 2-4× its live size
 * between full collections, and the UI process's RSS with 24 full slots passed the
 * 1.5 × store + 100 MiB budget (bench/store.bench.ts measures both). The flag is read when the
 * heap decides to grow, so setting it at start-up works; it cannot go in NODE_OPTIONS.
 *
 * Process-wide: only `pilotlight ui` calls it (not `pilotlight up`, which runs other parts too).
 *
 * Not the default: measured (bench/store.bench.ts) it brings 24 full slots from 490-534 MiB
 * to 351-357 MiB right after filling, but ingest is ~30 % slower and GET …/profile after new
 * data went from 46 to 65 ms p50 (client and server in one tuned process), past the 50 ms goal.
 */
export function favourMemoryOverSpeed(): void {
  setFlagsFromString('--optimize-for-size');
}
