import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the JS heap grow past its live size before the next full GC, in percent:
 * the old generation's limit becomes live size × (1 + HEAP_GROWING_PERCENT / 100).
 */
export const HEAP_GROWING_PERCENT = 300;

/**
 * `pilotlight gateway`: the heap grows in big steps. The gateway keeps a small live JS heap
 * while it reads hundreds of MB a second of requests, and with V8's own steps, sized from the
 * live heap, a full GC runs every few dozen requests under load. The flag is read whenever
 * the heap sets its next limit, so setting it at start-up works (unlike
 * --initial-old-space-size, which is read before any code runs and cannot go in NODE_OPTIONS).
 *
 * Not `pilotlight ui`: the garbage allowed to wait for a GC includes request buffers outside
 * the JS heap, and the malloc heap they leave behind takes the UI with 24 full slots past its
 * memory budget (bench/store.bench.ts; the README's Benchmarks give the figures).
 */
export function growHeapInBigSteps(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
