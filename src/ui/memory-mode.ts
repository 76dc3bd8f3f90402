import { setFlagsFromString } from 'node:v8';

/**
 * `pilotlight ui --optimize-for-size` (off by default): the UI process favours memory over
 * speed. V8's `--optimize-for-size` keeps the JS heap close to its live size (a small young
 * generation, the old generation grown by small steps and collected sooner). The flag is read
 * when the heap decides to grow, so setting it at start-up works; it cannot go in NODE_OPTIONS.
 *
 * Process-wide: only `pilotlight ui` calls it (not `pilotlight up`, which runs other parts too).
 *
 * Not needed for the memory budget (1.5 × 192 + 100 = 388 MiB with 24 full slots): the default
 * process stays inside it (bench/store.bench.ts prints the RSS with and without the flag, the
 * README's Benchmarks give both). It costs speed: ingest and GET …/profile after new data are
 * slower with it.
 */
export function favourMemoryOverSpeed(): void {
  setFlagsFromString('--optimize-for-size');
}
