import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the JS heap grow past its live size before the next full GC, in percent:
 * the old generation's limit becomes live size × (1 + percent / 100). Both servers keep a
 * small live JS heap while they read tens to hundreds of MB a second of requests; with V8's
 * own steps, sized from that live heap, a full GC runs every few dozen requests under load.
 */
export const HEAP_GROWING_PERCENT = {
  /** `pilotlight gateway`: holds nothing past a request but its exporters' queues. */
  gateway: 300,
  /**
   * `pilotlight ui`: less than the gateway. The garbage allowed to wait for a GC includes
   * request buffers outside the JS heap, and the malloc heap they leave behind counts against
   * the UI's memory budget with 24 full slots (bench/store.bench.ts prints both; the README's
   * Benchmarks give the figures for each step size).
   */
  ui: 200,
} as const;

/**
 * Lets the heap grow in big steps. The flag is read whenever the heap sets its next limit, so
 * setting it at start-up works (unlike --initial-old-space-size, which is read before any code
 * runs and cannot go in NODE_OPTIONS). Process-wide: only `pilotlight gateway` and `pilotlight ui`
 * call it, not `pilotlight up`, which runs the node agent in the same process.
 */
export function growHeapInBigSteps(percent: number): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
