import type { FlameGraph } from './flame.js';

/**
 * Symbolization you can see: per binary, how many samples have at least one frame in it that
 * could not be named. Such a frame is a location with no function (mapping + address only),
 * which the engine names `binary+0xoffset` (or `0xaddress` without a mapping, binary '');
 * the node sampler sends exactly that for code its ELF and perf-map lookups cannot name.
 */
export interface UnsymbolizedRow {
  /** Basename of the binary (mapping file), '' for frames with no mapping at all. */
  binary: string;
  /** Samples whose stack has an unnamed frame in this binary (each sample once per binary). */
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
  // Group id per frame: the index of its binary among unnamed frames' binaries, or -1.
  const group = new Int32Array(name.length).fill(-1);
  const binaries: string[] = [];
  const ids = new Map<string, number>();
  for (let f = 0; f < name.length; f++) {
    if (!isUnsymbolized(name[f], binary[f])) continue;
    let g = ids.get(binary[f]);
    if (g === undefined) {
      g = binaries.push(binary[f]) - 1;
      ids.set(binary[f], g);
    }
    group[f] = g;
  }
  if (binaries.length === 0) return [];
  const samples = new Float64Array(binaries.length);
  // How many nodes of each group are open on the current path; the group of each path depth.
  const open = new Int32Array(binaries.length);
  const pathGroup: number[] = [];
  const { frame, depth, total } = graph;
  for (let i = 0; i < frame.length; i++) {
    const d = depth[i];
    while (pathGroup.length > d) {
      const g = pathGroup.pop()!;
      if (g >= 0) open[g]--;
    }
    const g = frame[i] >= 0 ? group[frame[i]] : -1;
    if (g >= 0) {
      // Only the outermost node of a group on a path adds, so a sample counts once per binary.
      if (open[g] === 0) samples[g] += total[i];
      open[g]++;
    }
    pathGroup.push(g);
  }
  const rows = binaries.map((b, g) => ({ binary: b, samples: samples[g] })).filter((r) => r.samples > 0);
  rows.sort((a, b) => b.samples - a.samples || (a.binary < b.binary ? -1 : a.binary > b.binary ? 1 : 0));
  return rows;
}
