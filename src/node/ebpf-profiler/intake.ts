import { basename } from 'node:path';
import { attributeString, type AttributeValue } from '../../otlp/attributes.js';
import type { WireDictionary } from '../../otlp/wire/dictionary.js';
import { nanosToMs64, toBigInt } from '../../otlp/wire/reader.js';
import type { WireRequest } from '../../otlp/wire/request.js';
import { wireKeyValues, wireTableValue } from '../../profile/aggregate-encoded.js';
import type { ResolvedSample } from '../assemble.js';
import { BUILD_ID_ATTRIBUTE, FRAME_TYPE_ATTRIBUTE } from '../assemble.js';
import type { Attribution } from '../attribution.js';
import { parseMaps, type MapEntry } from '../symbolize/proc-maps.js';
import { readProc } from '../symbolize/proc.js';
import type { SymFrame, Symbolizer } from '../symbolize/symbolizer.js';

/** What one of the profiler's requests came to. */
export interface Intake {
  /** CPU samples (`count`: samples). */
  samples: ResolvedSample[];
  /** Off-CPU samples (`count`: nanoseconds off the CPU); empty unless `offCpu` is on. */
  offCpuSamples: ResolvedSample[];
  /** The span its CPU (and off-CPU) profiles cover (ms since the epoch); 0 when it has none. */
  windowStartMs: number;
  windowEndMs: number;
  /** CPU samples of processes the filters leave out. */
  filteredSamples: number;
  /** Profiles of a type not taken (off-CPU when `offCpu` is off, any other type), by `type/unit`. */
  skippedProfiles: Map<string, number>;
}

export interface IntakeOptions {
  attribution: Attribution;
  symbolizer: Symbolizer;
  procRoot: string;
  /** Processes whose samples are left out (the agent and the profiler themselves). */
  excluded: (pid: number) => boolean;
  /** Take the profiler's off-CPU profiles (`off_cpu`/`nanoseconds`); otherwise they are skipped. */
  offCpu?: boolean;
}

/** Interned frames (kernel, interpreted, native as sent) kept at most; then the table starts over. */
const MAX_INTERNED = 100_000;
/** The `profile.frame.type` the profiler gives Go code (named by it from `.gopclntab`). */
const GO_FRAME = 'go';
/** A process's maps are read again for an unknown mapping at most this often (in requests). */
const MAPS_REFRESH_EVERY = 10;

interface ProcMaps {
  maps: MapEntry[];
  readAt: number;
  usedAt: number;
  /**
   * Address-only native frames this process's samples had (by file, offset, start, address,
   * build id): as our symbolizer named them, or the request in which they could not be named
   * (tried again once the maps may be read again, MAPS_REFRESH_EVERY requests later).
   */
  named: Map<string, SymFrame | number>;
}

/** Named native frames remembered per process at most; then its table starts over. */
const MAX_NAMED_PER_PROCESS = 20_000;

/**
 * Reads the OpenTelemetry eBPF profiler's requests (one resource per process, `process.pid` on
 * it; see /work/shared/otlp-profiles-wire.md) into the samples the bpftrace sampler makes, so
 * both finish through one request assembler and look the same downstream:
 *
 * - the process is attributed to its workload by the same resolver (the profiler's own
 *   `service.name` and `container.id` are not used: the key is the one bpftrace's samples of
 *   that pid get), and its samples carry `process.pid` and `thread.name` as bpftrace's do;
 * - a native frame the profiler sent as an address only (ELF virtual address in a mapping named
 *   by the file's base name, with its build id) is named by our symbolizer, as bpftrace's frames
 *   are, when the process's mapping of that file can be found and its build id matches;
 *   otherwise it is kept as sent (`python3.11+0x…`);
 * - kernel frames become the symbolizer's kernel frames, and frames the profiler named itself
 *   (Python, Java, V8, Go, …) are kept as sent, with their file, line and inlined frames;
 * - CPU samples become counts (a sample with timestamps only counts one per timestamp);
 * - with `offCpu`, off-CPU samples (`off_cpu`/`nanoseconds`, one value per wait) become
 *   samples whose count is the sum of their values, in nanoseconds, kept apart from CPU.
 */
export class ProfilerIntake {
  private readonly interned = new Map<string, SymFrame>();
  private readonly procMaps = new Map<number, ProcMaps>();
  private requests = 0;

  constructor(private readonly o: IntakeOptions) {}

  read(request: WireRequest): Intake {
    this.requests++;
    const out: Intake = { samples: [], offCpuSamples: [], windowStartMs: 0, windowEndMs: 0, filteredSamples: 0, skippedProfiles: new Map() };
    const d = request.dictionary;
    if (!d) return out;
    const s = request.samples;
    // Per request: a stack's frames in one process, a location's frame in one process, and the
    // thread name of a sample's attribute indices.
    const stacks = new Map<string, SymFrame[]>();
    const frames = new Map<number, Map<number, SymFrame>>();
    const threads = new Map<string, string | undefined>();
    let start = Infinity;
    let end = 0;
    for (const rp of request.resourceProfiles) {
      const resource = wireKeyValues(rp.resourceAttributes, d);
      const pid = Number(resource['process.pid']);
      if (!Number.isSafeInteger(pid) || pid <= 0 || this.o.excluded(pid)) continue;
      const exe = attributeString(resource['process.executable.name']);
      let workload: ReturnType<Attribution['resolver']['resolve']> | undefined;
      for (const sp of rp.scopes) {
        for (const p of sp.profiles) {
          const type = `${d.str(p.sampleTypeType) ?? ''}/${d.str(p.sampleTypeUnit) ?? ''}`;
          const offCpu = type === 'off_cpu/nanoseconds';
          if (type !== 'samples/count' && !(offCpu && this.o.offCpu)) {
            out.skippedProfiles.set(type, (out.skippedProfiles.get(type) ?? 0) + 1);
            continue;
          }
          const t = Math.floor(nanosToMs64(p.timeLo, p.timeHi));
          if (t > 0) {
            start = Math.min(start, t);
            end = Math.max(end, t + Math.floor(nanosToMs64(p.durationLo, p.durationHi)));
          }
          for (let row = p.sampleStart; row < p.sampleEnd; row++) {
            // Off-CPU: the nanoseconds waited (a wait without its value says nothing).
            const nValues = s.valueCount.a[row];
            let count = 0;
            if (nValues > 0) for (let v = s.valueStart.a[row]; v < s.valueStart.a[row] + nValues; v++) count += s.values.a[v];
            else if (!offCpu) count = s.tsCount.a[row];
            if (count <= 0) continue;
            const a0 = s.attrStart.a[row];
            const nAttrs = s.attrCount.a[row];
            const attrKey = nAttrs === 1 ? String(s.attrs.a[a0]) : Array.from(s.attrs.a.subarray(a0, a0 + nAttrs)).join(',');
            let threadName = threads.get(attrKey);
            if (threadName === undefined && !threads.has(attrKey)) {
              threadName = runAttribute(d, s.attrs.a, a0, nAttrs, 'thread.name');
              threads.set(attrKey, threadName);
            }
            const thread = threadName ?? exe ?? '';
            workload ??= this.o.attribution.resolver.resolve(pid, exe ?? thread);
            if (!this.o.attribution.wanted(workload)) {
              if (!offCpu) out.filteredSamples += count;
              continue;
            }
            const stackIndex = s.stack.a[row];
            const stackKey = `${pid}:${stackIndex}`;
            let stack = stacks.get(stackKey);
            if (!stack) {
              let locations = frames.get(pid);
              if (!locations) frames.set(pid, (locations = new Map()));
              stack = this.stack(pid, d, stackIndex, locations);
              stacks.set(stackKey, stack);
            }
            (offCpu ? out.offCpuSamples : out.samples).push({
              resource: workload.resource,
              frames: stack,
              attributes: this.o.attribution.sampleAttributes(pid, thread, workload),
              count,
            });
          }
        }
      }
    }
    if (end > 0) {
      out.windowStartMs = start;
      out.windowEndMs = end;
    }
    return out;
  }

  /** Forgets the maps of processes not seen for `requests` requests. */
  sweep(requests: number): void {
    for (const [pid, m] of this.procMaps) if (this.requests - m.usedAt >= requests) this.procMaps.delete(pid);
  }

  /** A stack's frames, leaf first; `known` holds this process's frames by location index. */
  private stack(pid: number, d: WireDictionary, index: number, known: Map<number, SymFrame>): SymFrame[] {
    const frames: SymFrame[] = [];
    if (!(index >= 0 && index < d.stackCount)) return frames;
    const s0 = d.stackStart.a[index];
    for (let i = s0; i < s0 + d.stackLen.a[index]; i++) {
      const loc = d.stackLocs.a[i];
      let frame = known.get(loc);
      if (!frame) {
        if (!(loc >= 0 && loc < d.locationCount)) continue;
        frame = this.frame(pid, d, loc);
        known.set(loc, frame);
      }
      frames.push(frame);
    }
    if (d.stackLen.a[index] >= 2 && frames.length >= 2 && frames[0].kind === GO_FRAME && frames[1].kind === GO_FRAME) {
      const skipped = this.skippedGoCaller(pid, d, d.stackLocs.a[s0], d.stackLocs.a[s0 + 1]);
      if (skipped) frames.splice(1, 0, skipped);
    }
    return frames;
  }

  /**
   * The profiler unwinds Go code by frame pointers (on x86-64 its .gopclntab stack deltas cover
   * only assembly), so a Go leaf small enough to set up no frame of its own hides its caller:
   * the walk goes from the leaf to its caller's caller. The symbolizer finds the skipped caller
   * in the code (Symbolizer.skippedCaller); it is named as the profiler names Go frames, without
   * a line. `leaf` and `next` are the stack's first two locations; the profiler gives a return
   * address minus one for every frame but the leaf.
   */
  private skippedGoCaller(pid: number, d: WireDictionary, leaf: number, next: number): SymFrame | undefined {
    const leafAt = this.runtimeAddress(pid, d, leaf);
    const nextAt = this.runtimeAddress(pid, d, next);
    if (leafAt === undefined || nextAt === undefined) return undefined;
    const f = this.o.symbolizer.skippedCaller(pid, leafAt.at, nextAt.at + 1);
    if (!f?.name) return undefined;
    return this.intern(`g\0${leafAt.file}\0${f.name}`, () => ({ name: f.name!, kind: GO_FRAME, binary: leafAt.file }));
  }

  /** A location's address in the process (its mapping found in the process's maps) and the mapping's file, or undefined. */
  private runtimeAddress(pid: number, d: WireDictionary, loc: number): { at: number; file: string } | undefined {
    const mapping = d.locMapping.a[loc];
    if (!(mapping > 0 && mapping < d.mappingCount)) return undefined;
    const file = d.str(d.mapFilename.a[mapping]) ?? '';
    if (file === '') return undefined;
    const address = Number(toBigInt(d.locAddrLo.a[loc], d.locAddrHi.a[loc], false));
    const at = this.inProcess(this.proc(pid), pid, file, Number(d.mapStart[mapping]), Number(d.mapOffset[mapping]), address)?.at;
    return at === undefined ? undefined : { at, file };
  }

  /**
   * Where `address` (an ELF virtual address in the profiler's mapping of `file` that begins at
   * virtual address `start`, file offset `offset`) is in the process, with the process's
   * mapping; undefined when that mapping is not found or the address falls outside it.
   */
  private inProcess(p: ProcMaps, pid: number, file: string, start: number, offset: number, address: number): { at: number; m: MapEntry } | undefined {
    const m = this.mapping(p, pid, file, offset);
    if (!m) return undefined;
    const at = m.start + (address - start);
    return at >= m.start && at < m.end ? { at, m } : undefined;
  }

  private frame(pid: number, d: WireDictionary, loc: number): SymFrame {
    const kind = runAttribute(d, d.locAttrs.a, d.locAttrStart.a[loc], d.locAttrCount.a[loc], FRAME_TYPE_ATTRIBUTE) ?? 'native';
    const m = d.locMapping.a[loc];
    const mapping = m > 0 && m < d.mappingCount ? m : -1;
    const file = mapping >= 0 ? (d.str(d.mapFilename.a[mapping]) ?? '') : '';
    const address = toBigInt(d.locAddrLo.a[loc], d.locAddrHi.a[loc], false);
    const lines: { name: string; file: string | undefined; line: number | undefined }[] = [];
    const l0 = d.locLineStart.a[loc];
    for (let l = l0; l < l0 + d.locLineCount.a[loc]; l++) {
      const fn = d.lineFunction.a[l];
      const known = fn >= 0 && fn < d.functionCount;
      lines.push({
        name: (known ? d.str(d.fnName.a[fn]) || d.str(d.fnSystemName.a[fn]) : d.str(0)) || '',
        file: (known ? d.str(d.fnFilename.a[fn]) : d.str(0)) || undefined,
        line: d.lineNumber.a[l] || undefined,
      });
    }
    if (kind === 'kernel') {
      const name = lines.at(-1)?.name;
      if (name) return this.o.symbolizer.kernel([name])[0];
    }
    if (lines.length > 0 && lines.at(-1)!.name !== '') {
      // Named by the profiler (interpreted code, or its own native symbolization): kept as sent.
      const self = lines.at(-1)!;
      const key = `l\0${kind}\0${file}\0${JSON.stringify(lines)}`;
      return this.intern(key, () => {
        const f: SymFrame = { name: self.name, kind };
        if (self.file) f.file = self.file;
        if (self.line) f.line = self.line;
        if (file) f.binary = file;
        if (lines.length > 1)
          f.inlined = lines.slice(0, -1).map((l) => ({ name: l.name, ...(l.file ? { file: l.file } : {}), ...(l.line ? { line: l.line } : {}) }));
        return f;
      });
    }
    if (mapping < 0 || file === '') return this.intern(`a\0${kind}\0${address}`, () => ({ address, kind }));
    const buildId = runAttribute(d, d.mapAttrs.a, d.mapAttrStart.a[mapping], d.mapAttrCount.a[mapping], BUILD_ID_ATTRIBUTE);
    const start = Number(d.mapStart[mapping]);
    const offset = Number(d.mapOffset[mapping]);
    const limit = d.mapLimit[mapping];
    const named = this.symbolize(pid, file, start, offset, Number(address), buildId);
    if (named) return named;
    return this.intern(`n\0${kind}\0${file}\0${buildId ?? ''}\0${start}\0${limit}\0${offset}\0${address}`, () => ({
      binary: file,
      address,
      kind,
      ...(buildId ? { buildId } : {}),
      segment: { vaddr: start, filesz: Number(limit) - start, offset },
    }));
  }

  /**
   * Our symbolizer's frame for the profiler's address-only native frame: the process's mapping
   * of that file at that file offset gives the address in the process (`start` is the ELF
   * virtual address the mapping begins at), which the symbolizer names as it names bpftrace's.
   * Undefined when the mapping is not found or holds another build of the file.
   */
  private symbolize(pid: number, file: string, start: number, offset: number, address: number, buildId: string | undefined): SymFrame | undefined {
    const p = this.proc(pid);
    // The key names the code itself (the file's build and the address in it), so a pid that
    // comes to run another program cannot be given this one's names.
    const key = `${file}\0${offset}\0${start}\0${address}\0${buildId ?? ''}`;
    const known = p.named.get(key);
    if (typeof known === 'object') return known;
    if (known !== undefined && this.requests - known < MAPS_REFRESH_EVERY) return undefined;
    const f = this.name(p, pid, file, start, offset, address, buildId);
    if (p.named.size >= MAX_NAMED_PER_PROCESS) p.named.clear();
    p.named.set(key, f ?? this.requests);
    return f;
  }

  private name(p: ProcMaps, pid: number, file: string, start: number, offset: number, address: number, buildId: string | undefined): SymFrame | undefined {
    const found = this.inProcess(p, pid, file, start, offset, address);
    if (!found) return undefined;
    const f = this.o.symbolizer.user(pid, [`0x${found.at.toString(16)}`])[0];
    if (!f || f.binary !== found.m.path) return undefined;
    if (buildId && f.buildId && f.buildId !== buildId) return undefined;
    return f;
  }

  /** What is kept of a process: read its maps on first sight. */
  private proc(pid: number): ProcMaps {
    let p = this.procMaps.get(pid);
    if (!p) {
      p = { maps: this.readMaps(pid), readAt: this.requests, usedAt: this.requests, named: new Map() };
      this.procMaps.set(pid, p);
    }
    p.usedAt = this.requests;
    return p;
  }

  private mapping(p: ProcMaps, pid: number, file: string, offset: number): MapEntry | undefined {
    const find = (): MapEntry | undefined => p.maps.find((m) => m.offset === offset && basename(m.path) === file);
    let m = find();
    if (!m && this.requests - p.readAt >= MAPS_REFRESH_EVERY) {
      const maps = this.readMaps(pid);
      p.readAt = this.requests;
      // An exited process keeps what was read while it ran.
      if (maps.length > 0) p.maps = maps;
      m = find();
    }
    return m;
  }

  private readMaps(pid: number): MapEntry[] {
    const text = readProc(this.o.procRoot, pid, 'maps');
    return text === undefined ? [] : parseMaps(text);
  }

  /** One frame object per distinct frame, so the request assembler finds it by identity. */
  private intern(key: string, make: () => SymFrame): SymFrame {
    let f = this.interned.get(key);
    if (!f) {
      if (this.interned.size >= MAX_INTERNED) this.interned.clear();
      f = make();
      this.interned.set(key, f);
    }
    return f;
  }
}

/**
 * The value of attribute `key` among the attribute-table rows `attrs[start, start + count)`, as
 * tableAttributes + attributeString read it: the last one with a value wins, and a value that
 * is not a scalar reads as undefined.
 */
function runAttribute(d: WireDictionary, attrs: Int32Array, start: number, count: number, key: string): string | undefined {
  let found: AttributeValue | undefined;
  for (let i = start; i < start + count; i++) {
    const value = wireTableValue(d, attrs[i], key);
    if (value !== undefined) found = value;
  }
  return attributeString(found);
}
