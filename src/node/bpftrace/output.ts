/**
 * Parses bpftrace's `-f json` output for the sampler's map
 * `@s[pid, tid, comm, kstack, ustack, ra]` (ra: the leaf's return address or 0, program.ts).
 *
 * A printed map arrives as one line: `{"type":"map","data":{"@s":{"<key>":count,...}}}` where the
 * key is the six fields joined by commas, and each stack is "" or "\n" followed by one frame a
 * line (leaf first, indented), ending in "\n". A comm and a kernel symbol may both contain
 * commas, so the key is split from both ends: pid and tid (digits) from the front, ra (decimal)
 * after the last comma, the user stack after the comma before it (raw hex addresses contain
 * none), the kernel stack after the last comma of what remains (kernel symbol names are C
 * identifiers), and the comm is the middle.
 */

/** What a map key says: one thread's stack. */
export interface SampleKey {
  pid: number;
  tid: number;
  /** The thread's name (bpftrace's `comm` is per thread). */
  comm: string;
  /** Kernel frames as bpftrace names them (`func+off`), leaf first. */
  kernel: string[];
  /** User frames, leaf first: `0x…` raw addresses, or names when bpftrace symbolized them. */
  user: string[];
  /**
   * The return address read at the leaf's stack pointer (`0x…`), when the walk does not already
   * have it under the leaf: perhaps the caller of a frameless leaf (Symbolizer.leafCaller
   * decides).
   */
  leafReturn: string | undefined;
}

/**
 * One entry of a printed map. The same key text gives the same `key` object flush after flush
 * (see SampleKeys), so what a consumer derives from a key can be kept by its identity.
 */
export interface RawSample {
  key: SampleKey;
  count: number;
}

export type OutputEvent =
  | { type: 'samples'; samples: RawSample[]; malformedKeys: number }
  | { type: 'attached'; probes: number }
  | { type: 'ready' }
  | { type: 'process'; pid: number; start: string; exec: string; comm: string }
  | { type: 'other'; value: unknown }
  | { type: 'invalid'; line: string };

export const SAMPLE_MAP = '@s';
/** Map of the processes already announced (pid → start time), see program.ts. */
export const SEEN_MAP = '@p';
/**
 * Tag of the line printed when a process is sampled for the first time:
 * `printf("pl-proc PID START EXEC COMM\n")`, arriving in -f json as
 * `{"type":"printf","data":"pl-proc 123 456789 2 name\n"}`. START is the kernel's start time of
 * the process (ns since boot) and EXEC its exec count, both 0 when the program cannot read them.
 */
export const PROCESS_TAG = 'pl-proc';
const PROCESS_LINE = /^pl-proc (\d+) (\d+) (\d+) ?([^\n]*)\n?$/;
/**
 * Tag of the line the program prints at start, once bpftrace has read the kernel's symbol
 * table (`printf("pl-ksyms %s\n", ksym(0))`, see buildProgram): bpftrace is ready.
 */
export const KSYMS_TAG = 'pl-ksyms';

/** Keys not printed for this many maps are forgotten at the next prune (every this many maps). */
const KEEP_KEYS_FOR_MAPS = 60;
/** Bounds the parsed keys kept (a machine with very many distinct stacks starts afresh). */
const MAX_KEYS = 200_000;

/**
 * Parsed map keys, kept from one printed map to the next: most stacks recur every interval,
 * and a key parsed once is a map lookup afterwards. Keys not printed for one to two minutes
 * (pruned every KEEP_KEYS_FOR_MAPS maps) go.
 */
export class SampleKeys {
  private readonly keys = new Map<string, { key: SampleKey | undefined; map: number }>();
  private maps = 0;

  /** Marks the start of a printed map. */
  nextMap(): void {
    this.maps++;
    if (this.maps % KEEP_KEYS_FOR_MAPS === 0) {
      for (const [text, k] of this.keys) if (this.maps - k.map >= KEEP_KEYS_FOR_MAPS) this.keys.delete(text);
    }
  }

  /** The key's fields (the same object as last time for the same text); undefined when malformed. */
  parse(text: string): SampleKey | undefined {
    let k = this.keys.get(text);
    if (!k) {
      if (this.keys.size >= MAX_KEYS) this.keys.clear();
      this.keys.set(text, (k = { key: parseSampleKey(text), map: this.maps }));
    } else k.map = this.maps;
    return k.key;
  }
}

/** One line of bpftrace JSON output. Blank lines give undefined. */
export function parseOutputLine(line: string, keys = new SampleKeys()): OutputEvent | undefined {
  const text = line.trim();
  if (text === '') return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return { type: 'invalid', line: text };
  }
  if (typeof obj !== 'object' || obj === null) return { type: 'invalid', line: text };
  const { type, data } = obj as { type?: unknown; data?: unknown };
  if (type === 'attached_probes') {
    const probes = (data as { probes?: unknown } | undefined)?.probes;
    return { type: 'attached', probes: typeof probes === 'number' ? probes : 0 };
  }
  if (type === 'printf' && typeof data === 'string') {
    const m = PROCESS_LINE.exec(data);
    if (m) return { type: 'process', pid: Number(m[1]), start: m[2], exec: m[3], comm: m[4] };
    if (data.startsWith(`${KSYMS_TAG} `)) return { type: 'ready' };
    return { type: 'other', value: obj };
  }
  if (type === 'map' && typeof data === 'object' && data !== null && SAMPLE_MAP in data) {
    const entries = (data as Record<string, unknown>)[SAMPLE_MAP];
    const samples: RawSample[] = [];
    let malformedKeys = 0;
    // An empty map prints as {} (or, in some versions, as an empty array).
    if (typeof entries === 'object' && entries !== null && !Array.isArray(entries)) {
      keys.nextMap();
      const map = entries as Record<string, unknown>;
      // for-in, not Object.entries: no pair array per key (this runs unoptimized, once a flush).
      for (const text in map) {
        const count = map[text];
        const key = typeof count === 'number' ? keys.parse(text) : undefined;
        if (key) samples.push({ key, count: count as number });
        else malformedKeys++;
      }
    }
    return { type: 'samples', samples, malformedKeys };
  }
  return { type: 'other', value: obj };
}

/** Splits one map key (see the file comment); undefined when it is not of that shape. */
export function parseSampleKey(key: string): SampleKey | undefined {
  const c1 = key.indexOf(',');
  const c2 = c1 < 0 ? -1 : key.indexOf(',', c1 + 1);
  const r = key.lastIndexOf(',');
  if (c2 < 0 || r <= c2) return undefined;
  const pid = toInt(key.slice(0, c1));
  const tid = toInt(key.slice(c1 + 1, c2));
  const ra = toInt(key.slice(r + 1));
  if (pid === undefined || tid === undefined || ra === undefined) return undefined;
  const rest = key.slice(c2 + 1, r);
  const u = rest.lastIndexOf(',');
  if (u < 0) return undefined;
  const head = rest.slice(0, u);
  const k = head.lastIndexOf(',');
  if (k < 0) return undefined;
  const kstack = head.slice(k + 1);
  const ustack = rest.slice(u + 1);
  if (!isStackText(kstack) || !isStackText(ustack)) return undefined;
  const user = stackFrames(ustack);
  // bpftrace prints user addresses as lower-case hex.
  const ret = ra === 0 || user.length === 0 ? undefined : `0x${ra.toString(16)}`;
  return { pid, tid, comm: head.slice(0, k), kernel: stackFrames(kstack), user, leafReturn: ret === user[1] ? undefined : ret };
}

function toInt(s: string): number | undefined {
  return /^\d+$/.test(s) ? Number(s) : undefined;
}

function isStackText(s: string): boolean {
  return s === '' || s.startsWith('\n');
}

function stackFrames(s: string): string[] {
  const out: string[] = [];
  const lines = s.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const f = lines[i].trim();
    if (f !== '') out.push(f);
  }
  return out;
}
