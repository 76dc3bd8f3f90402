import type { ExportProfilesServiceRequest } from '../otlp/messages.js';

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
  request: ExportProfilesServiceRequest;
  /** The request's protobuf encoding when the receiver has it, so forwarding need not re-encode. */
  encoded?: Uint8Array;
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
