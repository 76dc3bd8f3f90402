import { wireKeyValues } from '../profile/aggregate-encoded.js';
import { workloadOf, type WorkloadId } from '../profile/workload.js';
import { WireChunker } from '../otlp/wire/chunk.js';
import type { WireRequest, WireResourceProfiles } from '../otlp/wire/request.js';

/** One workload's part of a request: the resource profiles whose attributes name it. */
export interface WorkloadPart {
  workload: WorkloadId;
  parts: WireResourceProfiles[];
}

/**
 * An incoming request cut into per-workload parts: its protobuf encoding and the WireRequest
 * read from it. A part's bytes (`bytesOf`) are cut from the received bytes by copying the
 * entries the part uses (`WireChunker`, made on the first cut); a request of one workload is
 * its bytes as received, without working out which entries it uses. No message objects are built.
 */
export class RequestSplit {
  /** The parts by workload key, in the order the request first names each workload. */
  readonly workloads = new Map<string, WorkloadPart>();
  private chunker: WireChunker | undefined;

  constructor(
    readonly encoded: Uint8Array,
    readonly wire: WireRequest,
  ) {
    const d = wire.dictionary;
    for (const rp of wire.resourceProfiles) {
      const workload = workloadOf(wireKeyValues(rp.resourceAttributes, d));
      let entry = this.workloads.get(workload.key);
      if (!entry) {
        entry = { workload, parts: [] };
        this.workloads.set(workload.key, entry);
      }
      entry.parts.push(rp);
    }
  }

  /**
   * The protobuf bytes of `part`: the request as received when it is the only workload
   * (dictionary entries it does not use and all), else a chunk holding only the entries it uses.
   */
  bytesOf(part: WorkloadPart): Uint8Array {
    if (this.workloads.size === 1) return this.encoded;
    return (this.chunker ??= new WireChunker(this.wire, this.encoded)).chunk(part.parts).bytes;
  }
}

/** The number of profiles in a workload's resource profiles. */
export function countWireProfiles(parts: WireResourceProfiles[]): number {
  let n = 0;
  for (const rp of parts) for (const sp of rp.scopes) n += sp.profiles.length;
  return n;
}
