import { create } from '@bufbuild/protobuf';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { encodeResponse, errorText, type Encoding } from '../../otlp/codec.js';
import { OtlpInputError } from '../../otlp/errors.js';
import { ExportProfilesPartialSuccessSchema, ExportProfilesServiceResponseSchema } from '../../otlp/messages.js';
import { readRequest, wireStats } from '../../otlp/read-request.js';
import { batchStats, encodedBatch, type ProfilesBatch, type ProfilesConsumer } from '../consumer.js';
import type { ReceiverMetrics, Transport } from '../metrics.js';
import { ReceiveError } from './receiver-errors.js';

/** What both transports share once they hold the (inflated) body: decode, hand on, answer. */
export interface ReceiveCore {
  consumer: ProfilesConsumer;
  logger: Logger;
  metrics: ReceiverMetrics;
}

/**
 * Decodes, validates and consumes one request; returns the encoded response. Throws
 * ReceiveError. `gzipped` is `body` gzipped as the sender sent it, when it was and may go on
 * as it is (see ProfilesBatch.gzipped).
 */
export async function receive(
  core: ReceiveCore,
  transport: Transport,
  body: Uint8Array,
  encoding: Encoding,
  wireBytes: number,
  gzipped?: Uint8Array,
): Promise<Uint8Array> {
  let batch: ProfilesBatch;
  try {
    batch = toBatch(body, encoding, gzipped);
  } catch (err) {
    if (err instanceof OtlpInputError) throw new ReceiveError('PL_RECV_INVALID', err.message);
    throw err;
  }
  const stats = batchStats(batch);
  let result;
  try {
    result = await core.consumer.consume(batch);
  } catch (err) {
    core.metrics.samples.inc({ transport, outcome: 'refused' }, stats.samples);
    if (err instanceof OtlpInputError) throw new ReceiveError('PL_RECV_INVALID', err.message);
    throw new ReceiveError('PL_RECV_REFUSED', `the pipeline could not take the request: ${errorText(err)}`);
  }
  core.metrics.requests.inc({ transport, outcome: 'accepted' });
  core.metrics.samples.inc({ transport, outcome: 'accepted' }, stats.samples);
  core.metrics.bytes.inc({ transport, outcome: 'accepted' }, wireBytes);
  const response = create(ExportProfilesServiceResponseSchema);
  if (result.rejectedProfiles > 0 || result.errorMessage) {
    core.metrics.rejectedProfiles.inc({ transport }, result.rejectedProfiles);
    response.partialSuccess = create(ExportProfilesPartialSuccessSchema, {
      rejectedProfiles: BigInt(result.rejectedProfiles),
      errorMessage: result.errorMessage,
    });
  }
  return encodeResponse(response, encoding);
}

/**
 * Every request goes the one way in (`readRequest`): protobuf is read and validated on the wire
 * path, OTLP/JSON is encoded to protobuf once first. Consumers get the protobuf bytes and their
 * WireRequest, so forwarding sends the bytes on and the store aggregates from the columns; the
 * messages are built only for a consumer that reads `batch.request`.
 */
function toBatch(body: Uint8Array, encoding: Encoding, gzipped: Uint8Array | undefined): ProfilesBatch {
  const { encoded, wire } = readRequest(body, encoding);
  // Received gzipped bytes go on only when they are those of `encoded` (OTLP/JSON is encoded again).
  return encodedBatch(encoded, wire, wireStats(wire), encoded === body ? gzipped : undefined);
}

/** Counts and logs a refused request; returns it as a ReceiveError. */
export function refused(core: ReceiveCore, transport: Transport, err: unknown, wireBytes: number): ReceiveError {
  const e = err instanceof ReceiveError ? err : new ReceiveError('PL_RECV_INTERNAL', `internal error: ${errorText(err)}`);
  core.metrics.requests.inc({ transport, outcome: e.outcome });
  core.metrics.bytes.inc({ transport, outcome: e.outcome }, wireBytes);
  // A sender's bad request is its problem, not ours: debug, except what may be our own bug.
  const level = e.code === 'PL_RECV_INTERNAL' ? 'error' : e.code === 'PL_RECV_REFUSED' ? 'warn' : 'debug';
  core.logger[level]({ transport, code: e.code, err: e.code === 'PL_RECV_INTERNAL' ? err : undefined }, e.message);
  return e;
}

/** Compares tokens in constant time (hashing first makes lengths equal). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m) return false;
  const a = createHash('sha256').update(m[1]).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
