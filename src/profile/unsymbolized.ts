import type { FlameGraph } from './flame.js';

/**
 * Symbolization you can see, where it hurts: per binary, how many samples were spent in code
 * of it that could not be named, i.e. whose leaf (the frame the sample's own time is on) is
 * unnamed. An unnamed frame further up a stack with named code below it (a start-up frame at
 * the root of every stack, say) costs a person little and is not counted; each sample has one
 * leaf, so the shares add up to at most 100 %. An unnamed frame is a location with no
 * function (mapping + address only), which the engine names `binary+0xoffset` (or `0xaddress`
 * without a mapping, binary ''); the node sampler sends exactly that for code its ELF and
 * perf-map lookups cannot name.
 */
export interface UnsymbolizedRow {
  /** Basename of the binary (mapping file), '' for frames with no mapping at all. */
  binary: string;
  /** Samples whose own (leaf) frame is unnamed code of this binary. */
  samples: number;
}

const HEX = /^0x[0-9a-f]+$/;

/** Whether a frame is the engine's stand-in for code it could not name. */
export function isUnsymbolized(name: string, binary: string): boolean {
  if (binary === '') return HEX.test(name);
  return name.length > binary.length + 1 && name.startsWith(binary) && name.charCodeAt(binary.length) === 43 /* + */ && HEX.test(name.slice(binary.length + 1));
}

/** Rows per graph: `flameGraph` caches graphs per tree version, so repeated queries share them. */
const cache = new WeakMap<FlameGraph, UnsymbolizedRow[]>();

/**
 * `unsymbolizedByBinary` cached per graph (a graph is read-only once built): what the API
 * uses. The rows are shared and must not be changed.
 */
export function unsymbolizedOf(graph: FlameGraph): UnsymbolizedRow[] {
  let rows = cache.get(graph);
  if (!rows) {
    rows = unsymbolizedByBinary(graph);
    cache.set(graph, rows);
  }
  return rows;
}

/** Rows sorted by samples (descending), then binary; binaries with none are left out. */
export function unsymbolizedByBinary(graph: FlameGraph): UnsymbolizedRow[] {
  const { name, binary } = graph.frames;
  const bySamples = new Map<string, number>();
  const { frame, self } = graph;
  for (let i = 0; i < frame.length; i++) {
    const f = frame[i];
    if (f < 0 || self[i] <= 0 || !isUnsymbolized(name[f], binary[f])) continue;
    bySamples.set(binary[f], (bySamples.get(binary[f]) ?? 0) + self[i]);
  }
  const rows = [...bySamples].map(([b, samples]) => ({ binary: b, samples }));
  rows.sort((a, b) => b.samples - a.samples || (a.binary < b.binary ? -1 : a.binary > b.binary ? 1 : 0));
  return rows;
}
