import { encodeRequest, type Encoding } from '../../src/otlp/codec.js';
import type { ExportProfilesServiceRequest } from '../../src/otlp/messages.js';
import { readRequest, wireStats } from '../../src/otlp/read-request.js';
import { encodedBatch, type ConsumeResult, type ProfilesBatch } from '../../src/pipeline/consumer.js';
import type { ProfileStore } from '../../src/store/store.js';

/**
 * A built request as the receiver hands it on: encoded as a sender would (protobuf by
 * default), then read the one way bytes come in (`readRequest`).
 */
export function receivedBatch(req: ExportProfilesServiceRequest, encoding: Encoding = 'protobuf'): ProfilesBatch {
  const { encoded, wire } = readRequest(encodeRequest(req, encoding), encoding);
  return encodedBatch(encoded, wire, wireStats(wire));
}

/** Takes a built request into the store as a received one goes (`consume`, synchronously). */
export function ingest(store: ProfileStore, req: ExportProfilesServiceRequest, encoding: Encoding = 'protobuf'): ConsumeResult {
  const batch = receivedBatch(req, encoding);
  return store.ingestEncoded(batch.encoded!, batch.wire);
}
