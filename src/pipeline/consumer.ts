import { decodeRequest } from '../otlp/codec.js';
import type { ExportProfilesServiceRequest } from '../otlp/messages.js';
import type { WireRequest } from '../otlp/wire/request.js';
import { requestStats, type RequestStats } from './request-stats.js';

/**
 * The one contract between pipeline stages (as the Collector's `consumer.Profiles`): a receiver
 * hands each validated request to a consumer; an exporter, a fan-out or the profile store is
 * a consumer.
 */
export interface ProfilesConsumer {
  /**
   * Takes a validated request. Resolves once the request is accepted (queued, stored or
   * forwarded); what was accepted but not kept is reported in the result. Rejects only when
   * the whole request could not be accepted (the receiver answers with a retryable error).
   */
  consume(batch: ProfilesBatch): Promise<ConsumeResult>;
}

export interface ProfilesBatch {
  /**
   * The request as messages. The receiver builds it only when first read (a getter): a
   * consumer that can work from `encoded` (forwarding) or `wire` (the store) should, and
   * read `request` only when it needs the objects.
   */
  readonly request: ExportProfilesServiceRequest;
  /** The request's protobuf encoding when the receiver has it, so forwarding need not re-encode. */
  encoded?: Uint8Array;
  /** Its counts, when the producer knows them (see `batchStats`). */
  stats?: RequestStats;
  /** `encoded` as read and validated on the wire fast path, when the receiver read it so. */
  wire?: WireRequest;
  /**
   * `encoded` gzipped, as the sender sent it (OTLP/HTTP protobuf with `Content-Encoding:
   * gzip`): an exporter that compresses sends these bytes on instead of compressing `encoded`
   * again.
   */
  gzipped?: Uint8Array;
}

/** The batch's counts without decoding it when the producer already counted. */
export function batchStats(batch: ProfilesBatch): RequestStats {
  return batch.stats ?? requestStats(batch.request);
}

/**
 * A batch of a protobuf request, read and validated on the wire path (`wire`) or written by
 * Pilotlight itself (the node sampler): `request` is decoded on first use only, so a consumer
 * that forwards the bytes never pays for message objects.
 */
export function encodedBatch(encoded: Uint8Array, wire: WireRequest | undefined, stats: RequestStats, gzipped?: Uint8Array): ProfilesBatch {
  let request: ExportProfilesServiceRequest | undefined;
  return {
    get request() {
      return (request ??= decodeRequest(encoded, 'protobuf'));
    },
    encoded,
    stats,
    wire,
    gzipped,
  };
}

/** Maps onto ExportProfilesPartialSuccess. */
export interface ConsumeResult {
  rejectedProfiles: number;
  errorMessage: string;
}

export const ACCEPTED: ConsumeResult = Object.freeze({ rejectedProfiles: 0, errorMessage: '' });

/** A consumer from a function, for wiring and tests. */
export function consumerOf(fn: (batch: ProfilesBatch) => Promise<ConsumeResult | void> | ConsumeResult | void): ProfilesConsumer {
  return {
    async consume(batch) {
      return (await fn(batch)) ?? ACCEPTED;
    },
  };
}
