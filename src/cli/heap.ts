import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the JS heap of `pilotlight gateway` grow past its live size before the next
 * full GC, in percent: the old generation's limit becomes live size × (1 + percent / 100). The
 * gateway keeps a small live JS heap while it reads hundreds of MB a second of requests, and
 * with V8's own steps, sized from that live heap, a full GC runs every few dozen requests.
 *
 * Not `pilotlight ui`: it gains under heavy ingest too, but at real fleet sizes its live heap
 * is large (the Sources list of every workload), it receives small requests, and big steps
 * there cost memory and save no measurable CPU (bench/fleet.bench.ts and bench/store.bench.ts;
 * the README's UI ingest section gives the figures).
 */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Lets the heap grow in big steps. The flag is read whenever the heap sets its next limit, so
 * setting it at start-up works (unlike --initial-old-space-size, which is read before any code
 * runs and cannot go in NODE_OPTIONS). Process-wide: only `pilotlight gateway` calls it.
 */
export function growHeapInBigSteps(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
