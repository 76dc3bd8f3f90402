import { create } from '@bufbuild/protobuf';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { decodeRequest, encodeResponse, errorText, type Encoding } from '../otlp/codec.js';
import { OtlpInputError } from '../otlp/errors.js';
import { ExportProfilesPartialSuccessSchema, ExportProfilesServiceResponseSchema } from '../otlp/messages.js';
import { readWireRequest, type WireRequest } from '../otlp/wire/request.js';
import { validateWire } from '../otlp/wire/validate.js';
import { batchStats, encodedBatch, type ProfilesBatch, type ProfilesConsumer } from './consumer.js';
import type { ReceiverMetrics, Transport } from './metrics.js';
import { ReceiveError } from './receiver-errors.js';
import { requestStats, type RequestStats } from './request-stats.js';

/** What both transports share once they hold the (inflated) body: decode, hand on, answer. */
export interface ReceiveCore {
  consumer: ProfilesConsumer;
  logger: Logger;
  metrics: ReceiverMetrics;
}

/** Decodes, validates and consumes one request; returns the encoded response. Throws ReceiveError. */
export async function receive(core: ReceiveCore, transport: Transport, body: Uint8Array, encoding: Encoding, wireBytes: number): Promise<Uint8Array> {
  let batch: ProfilesBatch;
  try {
    batch = toBatch(body, encoding);
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
 * Protobuf is read and validated on the wire path (typed columns, no message objects; it
 * accepts and rejects what `decodeRequest` does, with the same messages) and handed on with its
 * bytes, so a forwarding consumer never builds the messages. OTLP/JSON is decoded as before.
 */
function toBatch(body: Uint8Array, encoding: Encoding): ProfilesBatch {
  if (encoding === 'json') {
    const request = decodeRequest(body, encoding);
    return { request, stats: requestStats(request) };
  }
  const wire = readWireRequest(body);
  validateWire(wire);
  return encodedBatch(body, wire, wireStats(wire));
}

function wireStats(wire: WireRequest): RequestStats {
  let profiles = 0;
  for (const rp of wire.resourceProfiles) for (const sp of rp.scopes) profiles += sp.profiles.length;
  return { profiles, samples: wire.samples.count };
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
