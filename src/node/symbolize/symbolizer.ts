import { closeSync, fstatSync, openSync, readSync, readlinkSync } from 'node:fs';
import type { FrameSpec } from '../../otlp/frame.js';
import { ElfCache } from './elf-cache.js';
import type { ElfSymbols, LoadSegment } from './elf.js';
import { PerfMap, describeJitSymbol } from './perf-map.js';
import { findMapping, isFileBacked, parseMaps, type MapEntry } from './proc-maps.js';
import { namespacePid, processStartTime, readProc } from './proc.js';
import { VdsoSymbols } from './vdso.js';

/**
 * A symbolized frame: what the request builder needs, plus the binary's build id and, for code
 * in an ELF file, the PT_LOAD segment it lies in (its `address` is then the ELF virtual
 * address, as symbolizers and the OpenTelemetry eBPF profiler have it).
 */
export interface SymFrame extends FrameSpec {
  buildId?: string;
  segment?: LoadSegment;
}

export const KERNEL_BINARY = '[kernel.kallsyms]';

/** Stands for a return address that is no code address; `user()` leaves it out of the stack. */
const INVALID_FRAME: SymFrame = Object.freeze({ name: '' });

interface ProcState {
  maps: MapEntry[];
  mapsGeneration: number;
  startTime: string | undefined;
  /** Resolved addresses; anonymous memory (JIT code moves) only for processes without a perf map. Cleared when maps are re-read. */
  frames: Map<number, SymFrame>;
  perfMap: PerfMap | undefined;
  perfMapPath: string;
  perfMapGeneration: number;
  /** Return address → the target of the direct call before it, or -1 (see leafCaller). Cleared when maps are re-read. */
  callTargets: Map<number, number>;
  /** `ret,leaf` → the caller skipped between them, or null (see skippedCaller). */
  skippedCallers: Map<string, SymFrame | null>;
  /** `profile.frame.type` for unnamed code in anonymous memory (the runtime's JIT). */
  runtimeKind: string;
  lastSeen: number;
  /** Changes whenever what `user()` returns for an address of this process may have changed. */
  version: number;
}

export interface SymbolizerStats {
  processes: number;
  binaries: number;
  elfLoads: number;
  mapsReads: number;
  perfMapReads: number;
  /** Frames that got no function name (each distinct address once per process). */
  unnamedFrames: number;
  /** Separate debug files (by build id) whose symbols were added to a binary's. */
  debugFiles: number;
  /** Return addresses in no executable mapping of their process, left out of their stacks. */
  invalidFrames: number;
  /** Distinct stacks whose frameless leaf got its caller back (see leafCaller). */
  leafCallers: number;
  /** Words read at a leaf's stack pointer that were no call into the leaf's function (stale slots). */
  leafCallersRejected: number;
  /** Callers found skipped under a frameless leaf by another sampler's walk (see skippedCaller), each once per process. */
  skippedCallers: number;
}

/** Caps per-process memory for programs with huge amounts of distinct hot code. */
const MAX_FRAMES_PER_PROCESS = 50_000;
/**
 * An address outside every known mapping re-reads /proc/PID/maps at most this often (in
 * flushes) per process. Most such addresses are not new code but garbage from a broken
 * frame-pointer chain (binaries built without frame pointers), which a process produces on
 * every flush: re-reading its maps each time would be the sampler's largest steady-state cost.
 */
const MAPS_REFRESH_EVERY_FLUSHES = 10;

export interface SymbolizerOptions {
  /** Directories of separate debug files by build id (`ROOT/.build-id/xx/rest.debug`); default `/usr/lib/debug`. */
  debugRoots?: readonly string[];
}

/**
 * Turns raw user addresses into named frames: `/proc/PID/maps` (snapshotted when a pid is
 * first seen, re-read when a new address falls outside it, at most every few flushes) maps an
 * address to a binary and file offset; the binary's ELF symbols (cached per binary, with those
 * of its separate debug file) name it, PLT stubs as `<function>@plt` and the `[vdso]` by its
 * own symbols; JIT code is named from the runtime's perf map. What cannot be named keeps its
 * binary and is grouped per function (see groupAddress): one frame per unknown function, not
 * one per address. Only what is no code address (in no executable mapping of the process, or
 * beyond user space) is left out of the stack, and counted. A process that has exited keeps
 * its last snapshot.
 */
export class Symbolizer {
  private readonly procs = new Map<number, ProcState>();
  private readonly elfs: ElfCache;
  private readonly vdso = new VdsoSymbols();
  /** Named native frames by binary (its symbols, as cached) and virtual address; see nativeFrame. */
  private readonly nativeFrames = new WeakMap<ElfSymbols, Map<number, SymFrame>>();
  private readonly kernelFrames = new Map<string, SymFrame>();
  private generation = 0;
  private versions = 0;
  private mapsReads = 0;
  private perfMapReads = 0;
  private unnamed = 0;
  private invalid = 0;
  private leafCallers = 0;
  private leafCallersRejected = 0;
  private skippedCallers = 0;

  constructor(
    private readonly procRoot = '/proc',
    o: SymbolizerOptions = {},
  ) {
    this.elfs = new ElfCache({ debugRoots: o.debugRoots });
  }

  stats(): SymbolizerStats {
    return {
      processes: this.procs.size,
      binaries: this.elfs.size,
      elfLoads: this.elfs.loads,
      mapsReads: this.mapsReads,
      perfMapReads: this.perfMapReads,
      unnamedFrames: this.unnamed,
      invalidFrames: this.invalid,
      debugFiles: this.elfs.debugFiles,
      leafCallers: this.leafCallers,
      skippedCallers: this.skippedCallers,
      leafCallersRejected: this.leafCallersRejected,
    };
  }

  /** Marks a new flush: maps and perf maps may be re-read once more per process. */
  beginFlush(): void {
    this.generation++;
  }

  kernel(frames: readonly string[]): SymFrame[] {
    return frames.map((f) => {
      let s = this.kernelFrames.get(f);
      if (!s) {
        const plus = f.lastIndexOf('+');
        const name = plus > 0 && /^\+\d+$/.test(f.slice(plus)) ? f.slice(0, plus) : f;
        s = { name, binary: KERNEL_BINARY, kind: 'kernel' };
        if (this.kernelFrames.size < 100_000) this.kernelFrames.set(f, s);
      }
      return s;
    });
  }

  /**
   * A number that changes whenever the frames `user()` gives for this process's addresses may
   * change (maps re-read, perf map grown, the process forgotten); undefined for a process not
   * known. Marks the process as sampled in this flush, as `user()` does.
   */
  version(pid: number): number | undefined {
    const p = this.procs.get(pid);
    if (!p) return undefined;
    p.lastSeen = this.generation;
    return p.version;
  }

  /** Symbolizes a user stack (leaf first, as bpftrace prints it). */
  user(pid: number, frames: readonly string[]): SymFrame[] {
    const p = this.proc(pid);
    p.lastSeen = this.generation;
    const out: SymFrame[] = [];
    for (let i = 0; i < frames.length; i++) {
      const f = this.userFrame(pid, p, frames[i]);
      if (f === INVALID_FRAME) this.invalid++;
      else out.push(f);
    }
    return out;
  }

  /**
   * The caller of a frameless leaf, from `ret`, the word its stack pointer pointed at (read by
   * the eBPF program, see program.ts leafCallerProbe): its frame when the instruction before
   * `ret` in the process's memory is a direct call (`e8` rel32) to the start of the function
   * `leaf` lies in, else undefined. That check tells the return address of the call that
   * entered the leaf from what else the word may be: a local, a saved register, or (most
   * often) a stale return address of an earlier call left in a frame's unwritten slots. A
   * leaf entered by an indirect call or through a PLT stub, or in code with no known function
   * start, keeps the stack as walked.
   */
  leafCaller(pid: number, leaf: string, ret: string): SymFrame | undefined {
    const p = this.procs.get(pid);
    if (!p || !leaf.startsWith('0x') || !ret.startsWith('0x') || leaf.length > 15 || ret.length > 15) return undefined;
    const leafAddr = parseInt(leaf, 16);
    const retAddr = parseInt(ret, 16);
    const target = this.callTarget(pid, p, retAddr);
    const start = target < 0 ? undefined : this.functionStart(pid, p, leafAddr);
    if (start === undefined || start !== target) {
      this.leafCallersRejected++;
      return undefined;
    }
    const frame = this.userFrame(pid, p, ret);
    if (frame === INVALID_FRAME) return undefined;
    this.leafCallers++;
    return frame;
  }

  /**
   * The caller a frame-pointer walk skipped under a leaf that sets up no frame of its own (Go's
   * small leaf functions on x86-64; any leaf sampled before its prologue has run): `rbp` still
   * points at the caller's frame, so the walk's next return address `ret` is the one into the
   * caller's caller. Found from the code: the instruction before `ret` is a direct call to a
   * function other than the leaf's (`leaf` is an address in the leaf), and that function makes
   * a direct call to the leaf's start. Its frame at that call, else undefined (nothing skipped,
   * an indirect call, or code whose function bounds are not known). Addresses are the
   * process's; each pair is worked out once.
   */
  skippedCaller(pid: number, leaf: number, ret: number): SymFrame | undefined {
    const p = this.proc(pid);
    const key = `${ret},${leaf}`;
    const known = p.skippedCallers.get(key);
    if (known !== undefined) return known ?? undefined;
    let frame: SymFrame | undefined;
    const target = this.callTarget(pid, p, ret);
    const leafStart = target < 0 ? undefined : this.functionStart(pid, p, leaf);
    if (leafStart !== undefined && leafStart !== target) {
      const caller = this.functionRange(pid, p, target);
      const site = caller && caller.start === target ? directCallSite(this.procRoot, pid, caller.start, caller.end, leafStart) : -1;
      if (site >= 0) {
        const f = this.userFrame(pid, p, `0x${(site - 1).toString(16)}`);
        if (f !== INVALID_FRAME) {
          frame = f;
          this.skippedCallers++;
        }
      }
    }
    if (p.skippedCallers.size >= MAX_FRAMES_PER_PROCESS) p.skippedCallers.clear();
    p.skippedCallers.set(key, frame ?? null);
    return frame;
  }

  /** The target of the direct call before return address `ret`, or -1; cached per process. */
  private callTarget(pid: number, p: ProcState, ret: number): number {
    let target = p.callTargets.get(ret);
    if (target === undefined) {
      target = directCallTarget(this.procRoot, pid, ret);
      if (p.callTargets.size >= MAX_FRAMES_PER_PROCESS) p.callTargets.clear();
      p.callTargets.set(ret, target);
    }
    return target;
  }

  /** The bounds of the named function holding `addr`, in the process's address space; undefined when unknown. */
  private functionRange(pid: number, p: ProcState, addr: number): { start: number; end: number } | undefined {
    const m = findMapping(p.maps, addr);
    const at = m && isFileBacked(m) ? this.elfAddress(pid, m, addr) : undefined;
    const sym = at?.elf.lookup(at.vaddr);
    return at && sym && { start: addr - (at.vaddr - sym.start), end: addr + (sym.end - at.vaddr) };
  }

  /** Where the function holding `addr` starts, in the process's address space; undefined when unknown. */
  private functionStart(pid: number, p: ProcState, addr: number): number | undefined {
    const m = findMapping(p.maps, addr);
    if (m && isFileBacked(m)) {
      const at = this.elfAddress(pid, m, addr);
      const start = at && (at.elf.lookup(at.vaddr)?.start ?? at.elf.functionStart(at.vaddr));
      return at === undefined || start === undefined ? undefined : addr - (at.vaddr - start);
    }
    return p.perfMap?.lookup(addr)?.start;
  }

  /** The ELF of file-backed mapping `m` and the virtual address `addr` is in it; undefined outside its PT_LOAD segments or when unreadable. */
  private elfAddress(pid: number, m: MapEntry, addr: number): { elf: ElfSymbols; vaddr: number } | undefined {
    const offset = addr - m.start + m.offset;
    const elf = this.elfs.get(pid, m, this.procRoot);
    const segment = elf?.segmentOfOffset(offset);
    return elf && segment ? { elf, vaddr: offset - segment.offset + segment.vaddr } : undefined;
  }

  /** Drops processes not sampled for `generations` flushes that have exited or been replaced. */
  sweep(generations: number): void {
    for (const [pid, p] of this.procs) {
      if (this.generation - p.lastSeen < generations) continue;
      const start = processStartTime(this.procRoot, pid);
      if (start === undefined || start !== p.startTime) this.procs.delete(pid);
    }
  }

  /**
   * Snapshots the maps of a process just announced as new, while it still runs: a process that
   * exits before the flush keeps this snapshot. A cached state of another process with the
   * same pid is dropped. The next flush may still re-read the maps once (libraries mapped
   * after the snapshot). Returns whether the maps could be read.
   */
  snapshot(pid: number): boolean {
    const old = this.procs.get(pid);
    if (old) {
      const start = processStartTime(this.procRoot, pid);
      if (start !== undefined && start === old.startTime) return true;
      this.procs.delete(pid);
    }
    const reads = this.mapsReads;
    const p = this.proc(pid);
    p.mapsGeneration = this.generation - MAPS_REFRESH_EVERY_FLUSHES;
    return this.mapsReads > reads;
  }

  forget(pid: number): void {
    this.procs.delete(pid);
  }

  private proc(pid: number): ProcState {
    let p = this.procs.get(pid);
    if (!p) {
      p = {
        maps: [],
        mapsGeneration: -1,
        startTime: processStartTime(this.procRoot, pid),
        frames: new Map(),
        callTargets: new Map(),
        skippedCallers: new Map(),
        perfMap: undefined,
        perfMapPath: perfMapPathOf(this.procRoot, pid),
        perfMapGeneration: -1,
        runtimeKind: runtimeKindOf(this.procRoot, pid),
        lastSeen: this.generation,
        version: ++this.versions,
      };
      this.procs.set(pid, p);
      this.refreshMaps(pid, p);
    }
    return p;
  }

  private refreshMaps(pid: number, p: ProcState): boolean {
    if (p.mapsGeneration >= 0 && this.generation - p.mapsGeneration < MAPS_REFRESH_EVERY_FLUSHES) return false;
    p.mapsGeneration = this.generation;
    const text = readProc(this.procRoot, pid, 'maps');
    if (text === undefined) return false; // exited: keep the last snapshot
    this.mapsReads++;
    const start = processStartTime(this.procRoot, pid);
    if (start !== p.startTime) {
      // The pid was reused: nothing known about the old process applies.
      p.startTime = start;
      p.perfMap = undefined;
      p.perfMapPath = perfMapPathOf(this.procRoot, pid);
      p.runtimeKind = runtimeKindOf(this.procRoot, pid);
    }
    p.maps = parseMaps(text);
    p.frames.clear();
    p.callTargets.clear();
    p.skippedCallers.clear();
    p.version = ++this.versions;
    return true;
  }

  private userFrame(pid: number, p: ProcState, text: string): SymFrame {
    if (!text.startsWith('0x')) return { name: text, kind: 'native' }; // named by bpftrace
    // Beyond 2^53 it is not a user-space address: a broken frame-pointer chain.
    if (text.length > 15) return INVALID_FRAME;
    const addr = parseInt(text, 16);
    const cached = p.frames.get(addr);
    if (cached) return cached;
    let m = findMapping(p.maps, addr);
    if (!m && this.refreshMaps(pid, p)) m = findMapping(p.maps, addr);
    if (!m) {
      const jit = this.jitFrame(pid, p, addr);
      if (jit) return jit;
      // In no executable mapping of a process whose maps were read: not code, but what a broken
      // frame-pointer chain read from the stack. Remembered until the next maps refresh.
      const frame = p.maps.length > 0 ? INVALID_FRAME : this.unnamedFrame({ address: BigInt(addr) });
      this.remember(p, addr, frame);
      return frame;
    }
    if (m.path === '[vdso]') {
      const frame = this.vdsoFrame(pid, m, addr);
      this.remember(p, addr, frame);
      return frame;
    }
    if (!isFileBacked(m)) {
      const jit = this.jitFrame(pid, p, addr);
      if (jit) return jit;
      const unnamed = this.unnamedFrame({ binary: m.path || '[anon]', address: BigInt(addr), kind: p.runtimeKind });
      // JIT code moves, so only a process without a perf map (nothing could name it later) caches it.
      if (!p.perfMap) this.remember(p, addr, unnamed);
      return unnamed;
    }
    const offset = addr - m.start + m.offset;
    const elf = this.elfs.get(pid, m, this.procRoot);
    const segment = elf?.segmentOfOffset(offset);
    let frame: SymFrame;
    if (elf && segment) {
      const vaddr = offset - segment.offset + segment.vaddr;
      // PLT stubs first: no symbol covers them, but a sizeless one before them (`_init`) may reach in.
      const plt = elf.plt(vaddr);
      const sym = plt ? undefined : elf.lookup(vaddr);
      if (plt) frame = this.nativeFrame(elf, m.path, segment, plt.start, plt.name);
      else if (sym) frame = this.nativeFrame(elf, m.path, segment, vaddr, sym.name);
      else {
        // V8's embedded builtins live inside node's own text but are named only in its perf map.
        const jit = this.jitFrame(pid, p, addr);
        if (jit) return jit;
        frame = this.unnamedFrame(this.nativeFrame(elf, m.path, segment, groupAddress(elf, segment, vaddr), undefined));
      }
    } else {
      // No ELF read, or outside every PT_LOAD segment: only the file is known. One frame for all
      // of the mapping, at its file offset (an assembled mapping with no segment starts at 0).
      frame = this.unnamedFrame({ binary: m.path, address: BigInt(m.offset), kind: 'native', buildId: elf?.buildId || undefined });
    }
    this.remember(p, addr, frame);
    return frame;
  }

  /**
   * A frame in the process's `[vdso]`, named by the vdso's own symbols (see VdsoSymbols) and
   * addressed as the vdso's ELF image has it, so every process shares its frame objects. An
   * address no vdso symbol covers is `[vdso]`.
   */
  private vdsoFrame(pid: number, m: MapEntry, addr: number): SymFrame {
    const elf = this.vdso.get(this.procRoot, pid, m);
    const segment = elf?.segmentOfOffset(addr - m.start + m.offset);
    if (elf && segment) {
      const vaddr = addr - m.start + m.offset - segment.offset + segment.vaddr;
      const sym = elf.lookup(vaddr);
      if (sym) return this.nativeFrame(elf, '[vdso]', segment, vaddr, sym.name);
      return this.nativeFrame(elf, '[vdso]', segment, groupAddress(elf, segment, vaddr), '[vdso]');
    }
    return { name: '[vdso]', binary: '[vdso]', address: BigInt(addr - m.start), kind: 'native' };
  }

  /**
   * One frame object per binary and virtual address, shared by every process running the
   * binary (each maps it elsewhere, but the ELF address is the same): a stack first seen in
   * another process then costs the request assembler and demangler nothing new. Unnamed
   * frames (`name` undefined, at their group's address) are shared the same way.
   */
  private nativeFrame(elf: ElfSymbols, path: string, segment: LoadSegment, vaddr: number, name: string | undefined): SymFrame {
    let byAddress = this.nativeFrames.get(elf);
    if (!byAddress) this.nativeFrames.set(elf, (byAddress = new Map()));
    let f = byAddress.get(vaddr);
    if (f && f.binary === path && f.name === name) return f;
    f = { binary: path, address: BigInt(vaddr), segment, kind: 'native', buildId: elf.buildId || undefined };
    if (name !== undefined) f.name = name;
    if (byAddress.size >= MAX_FRAMES_PER_PROCESS) byAddress.clear();
    byAddress.set(vaddr, f);
    return f;
  }

  private remember(p: ProcState, addr: number, frame: SymFrame): void {
    if (p.frames.size >= MAX_FRAMES_PER_PROCESS) p.frames.clear();
    p.frames.set(addr, frame);
  }

  private unnamedFrame(f: SymFrame): SymFrame {
    this.unnamed++;
    return f;
  }

  private jitFrame(pid: number, p: ProcState, addr: number): SymFrame | undefined {
    let hit = p.perfMap?.lookup(addr);
    if (!hit && this.readPerfMap(p)) hit = p.perfMap?.lookup(addr);
    if (!hit) return undefined;
    const d = describeJitSymbol(hit.name, p.runtimeKind === 'native' ? 'native' : p.runtimeKind);
    return { name: d.name, file: d.file, line: d.line, kind: d.kind, address: BigInt(addr) };
  }

  /** Reads what was appended to the process's perf map since last time (once per flush). */
  private readPerfMap(p: ProcState): boolean {
    if (p.perfMapGeneration === this.generation) return false;
    p.perfMapGeneration = this.generation;
    let fd: number;
    try {
      fd = openSync(p.perfMapPath, 'r');
    } catch {
      return false;
    }
    try {
      const map = (p.perfMap ??= new PerfMap());
      const size = fstatSync(fd).size;
      let grew: boolean;
      if (size < map.bytesRead) {
        // Truncated (a new process with the same pid wrote it afresh): start over.
        p.perfMap = new PerfMap();
        p.version = ++this.versions;
        grew = this.readPerfMapFrom(fd, p.perfMap, size);
      } else grew = this.readPerfMapFrom(fd, map, size);
      // New code may sit where old code was (JIT code moves and is collected).
      if (grew) p.version = ++this.versions;
      return grew;
    } finally {
      closeSync(fd);
    }
  }

  private readPerfMapFrom(fd: number, map: PerfMap, size: number): boolean {
    if (size <= map.bytesRead) return false;
    const buf = Buffer.allocUnsafe(size - map.bytesRead);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, map.bytesRead + got);
      if (n === 0) break;
      got += n;
    }
    map.bytesRead += got;
    map.append(buf.toString('utf8', 0, got));
    this.perfMapReads++;
    return got > 0;
  }
}

/**
 * The address an unnamed frame at `vaddr` is given, so that all of one unknown function's
 * samples make one frame (one box in a flame graph, `binary+0x<offset>` in the UI, where the
 * offset is the file offset of this address): the start of the function containing it, from
 * the `.eh_frame_hdr` table of function starts. Without that table (or below its first entry,
 * or when it points outside the segment) the start of the PT_LOAD segment: one frame for all
 * of the binary's unnamed code, `binary+0x<segment's file offset>`, rather than hundreds of
 * boxes whose offsets tell a person nothing. A function start is also what a backend that
 * symbolizes by build id would name correctly; a segment start it would name after whatever
 * function starts the segment (the price of one box for a binary without the table, which
 * gcc and clang emit by default).
 */
function groupAddress(elf: ElfSymbols, segment: LoadSegment, vaddr: number): number {
  const start = elf.functionStart(vaddr);
  return start !== undefined && start >= segment.vaddr && start <= vaddr ? start : segment.vaddr;
}

/**
 * The target of the direct call (`e8` rel32) that ends just before `ret` in the process's
 * memory, or -1 when the bytes there are no such call or cannot be read (the process is gone).
 */
function directCallTarget(procRoot: string, pid: number, ret: number): number {
  const b = readProcessMemory(procRoot, pid, ret - 5, 5);
  return b && b.length === 5 && b[0] === 0xe8 ? ret + b.readInt32LE(1) : -1;
}

/** Up to `len` bytes of the process's memory at `at` (fewer past a mapping's end); undefined when none can be read (the process is gone). */
function readProcessMemory(procRoot: string, pid: number, at: number, len: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(`${procRoot}/${pid}/mem`, 'r');
  } catch {
    return undefined;
  }
  try {
    const b = Buffer.alloc(len);
    return b.subarray(0, readSync(fd, b, 0, len, at));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Most bytes of a function searched for a call (see directCallSite). */
const MAX_CALLER_BYTES = 64 * 1024;

/**
 * The return address of the first direct call (`e8` rel32) to `target` in the process's code
 * `[from, to)`, or -1. A byte that only looks like the start of such a call can match too; the
 * callers check the rest (the call before the walk's return address leads here).
 */
function directCallSite(procRoot: string, pid: number, from: number, to: number, target: number): number {
  const len = Math.min(to - from, MAX_CALLER_BYTES);
  const b = len >= 5 ? readProcessMemory(procRoot, pid, from, len) : undefined;
  if (!b) return -1;
  for (let i = 0; i + 5 <= b.length; i++) {
    if (b[i] === 0xe8 && from + i + 5 + b.readInt32LE(i + 1) === target) return from + i + 5;
  }
  return -1;
}

let ownMountNs: string | null | undefined;

/**
 * Where the process's perf map can be read. A process in the sampler's own mount and pid
 * namespace writes `/tmp/perf-PID.map` where the sampler can open it directly, also after the
 * process has exited (a short-lived process is often symbolized only then). Otherwise (a
 * container) only through `/proc/PID/root`, under the pid the process sees.
 */
function perfMapPathOf(procRoot: string, pid: number): string {
  const nsPid = namespacePid(procRoot, pid);
  if (nsPid === pid) {
    if (ownMountNs === undefined) ownMountNs = readlinkOrNull('/proc/self/ns/mnt');
    const mnt = readlinkOrNull(`${procRoot}/${pid}/ns/mnt`);
    if (mnt !== null && mnt === ownMountNs) return `/tmp/perf-${pid}.map`;
  }
  return `${procRoot}/${pid}/root/tmp/perf-${nsPid}.map`;
}

function readlinkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** The JIT runtime a process runs, guessed from its executable, for unnamed JIT frames. */
function runtimeKindOf(procRoot: string, pid: number): string {
  let exe: string;
  try {
    exe = readlinkSync(`${procRoot}/${pid}/exe`);
  } catch {
    exe = (readProc(procRoot, pid, 'comm') ?? '').trim();
  }
  const base = exe.slice(exe.lastIndexOf('/') + 1).replace(/ \(deleted\)$/, '');
  if (/^(node|nodejs|bun|deno)$/.test(base)) return 'v8js';
  if (/^python/.test(base)) return 'cpython';
  if (/^java$/.test(base)) return 'jvm';
  return 'native';
}
