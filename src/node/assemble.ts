import { RequestBuilder, type SimpleValue } from '../otlp/builder.js';
import type { ExportProfilesServiceRequest, Profile, Sample } from '../otlp/messages.js';
import type { SymFrame } from './symbolize/symbolizer.js';

/** One symbolized, attributed stack with its count, ready for the request. */
export interface ResolvedSample {
  resource: Record<string, SimpleValue>;
  /** Leaf first: kernel frames, then user frames. */
  frames: SymFrame[];
  attributes: Record<string, SimpleValue>;
  count: number;
}

export const BUILD_ID_ATTRIBUTE = 'process.executable.build_id.gnu';

/**
 * Builds one ExportProfilesServiceRequest for a flush window: a shared dictionary, one
 * ResourceProfiles per workload, CPU conventions (samples/count, cpu/nanoseconds, period
 * 1e9/hz), samples with equal stack and attributes merged.
 *
 * Mappings are per binary (start 0, offset 0) and native locations carry the file offset as
 * their address: ASLR puts a library at a different address in every process, and normalising
 * lets all processes running one binary share its locations.
 */
export class RequestAssembler {
  private readonly b = new RequestBuilder();
  private readonly locations = new Map<SymFrame, number>();
  private readonly merged = new Map<string, Sample>();
  private readonly profileIds = new Map<Profile, number>();
  private readonly attrKeys = new Map<Record<string, SimpleValue>, string>();
  samples = 0;

  constructor(private readonly o: { hz: number; windowStartMs: number; windowEndMs: number }) {}

  add(s: ResolvedSample): void {
    const b = this.b;
    const locs: number[] = new Array(s.frames.length);
    for (let i = 0; i < s.frames.length; i++) {
      const f = s.frames[i];
      let loc = this.locations.get(f);
      if (loc === undefined) {
        const mapping = f.binary ? b.mapping(f.binary, 0n, 0n, 0n, f.buildId ? { [BUILD_ID_ATTRIBUTE]: f.buildId } : {}) : 0;
        loc = b.location(f, mapping);
        this.locations.set(f, loc);
      }
      locs[i] = loc;
    }
    const stack = b.stack(locs);
    const profile = b.profile(s.resource, {
      periodNanos: 1e9 / this.o.hz,
      timeUnixNano: BigInt(Math.round(this.o.windowStartMs)) * 1_000_000n,
      durationNano: BigInt(Math.max(0, Math.round(this.o.windowEndMs - this.o.windowStartMs))) * 1_000_000n,
    });
    let pid = this.profileIds.get(profile);
    if (pid === undefined) this.profileIds.set(profile, (pid = this.profileIds.size));
    // Callers pass one attributes object per process and thread name, so the key is built once.
    let attrKey = this.attrKeys.get(s.attributes);
    if (attrKey === undefined) {
      attrKey = Object.entries(s.attributes)
        .map(([k, v]) => `${k}=${typeof v}:${v}`)
        .sort()
        .join('\0');
      this.attrKeys.set(s.attributes, attrKey);
    }
    const key = `${pid}|${stack}|${attrKey}`;
    const existing = this.merged.get(key);
    this.samples += s.count;
    if (existing) {
      existing.values[0] += BigInt(s.count);
      return;
    }
    b.addSample(profile, stack, { value: s.count, attributes: s.attributes });
    this.merged.set(key, profile.samples[profile.samples.length - 1]);
  }

  build(): ExportProfilesServiceRequest {
    return this.b.build();
  }
}
