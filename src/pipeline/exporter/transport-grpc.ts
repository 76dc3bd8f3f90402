import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { decodeResponse } from '../../otlp/codec.js';
import type { ExporterConfig } from './exporter-config.js';
import { PermanentError, RetryableError } from './exporter-errors.js';
import type { SendOutcome, Transport } from './export-item.js';
import { exportMethod } from '../otlp-grpc.js';
import { decodeRpcStatus } from '../rpc-status.js';

/** Codes the OTLP spec calls retryable; RESOURCE_EXHAUSTED only when the server sent RetryInfo. */
const RETRYABLE = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

export function grpcTarget(endpoint: string): { target: string; tls: boolean } {
  const m = /^(https?):\/\/([^/]+)\/?$/.exec(endpoint);
  if (m) return { target: m[2], tls: m[1] === 'https' };
  return { target: endpoint, tls: false };
}

/**
 * OTLP/gRPC: one unary Export per item over a long-lived channel. Failures are retried per the
 * OTLP spec, and also those with a code in the destination's `retryOnGrpcStatus`.
 */
export function grpcTransport(config: ExporterConfig): Transport {
  const { target, tls } = grpcTarget(config.endpoint);
  const options: grpc.ChannelOptions = {
    // Our retry link decides about retries; grpc-js's own would retry behind its back.
    'grpc.enable_retries': 0,
    'grpc.max_send_message_length': -1,
    // A broken channel reconnects on grpc-js's own backoff (up to 120 s) and fails calls at once
    // meanwhile, so a destination that came back stayed unused for a minute or two and queued
    // requests ran out of retries (test/faults.test.ts). Keep its delays within our retry's.
    'grpc.initial_reconnect_backoff_ms': Math.max(1, Math.min(config.retryOnFailure.initialInterval, 1000)),
    'grpc.max_reconnect_backoff_ms': Math.max(1, Math.min(config.retryOnFailure.maxInterval, 5000)),
  };
  // grpc-js compresses per channel, not per call.
  if (config.enableDataCompression) options['grpc.default_compression_algorithm'] = grpc.compressionAlgorithms.gzip;
  const useTls = tls || config.tls !== undefined;
  const ca = config.tls?.caFile ? readFileSync(config.tls.caFile) : null;
  const verify = config.tls?.insecureSkipVerify ? { checkServerIdentity: () => undefined, rejectUnauthorized: false } : {};
  const creds = useTls ? grpc.credentials.createSsl(ca, null, null, verify) : grpc.credentials.createInsecure();
  const client = new grpc.Client(target, creds, options);
  const retryable: ReadonlySet<number> = new Set([...RETRYABLE, ...config.retryOnGrpcStatus.map((name) => grpc.status[name])]);

  return {
    send(item, signal) {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(config.headers)) md.set(k.toLowerCase(), v);
      return new Promise<SendOutcome>((resolve, reject) => {
        const call = client.makeUnaryRequest(
          exportMethod.path,
          exportMethod.requestSerialize,
          exportMethod.responseDeserialize,
          item.body,
          md,
          { deadline: Date.now() + config.timeout },
          (err, response) => {
            signal.removeEventListener('abort', onAbort);
            if (err) reject(classify(err, retryable));
            else resolve(outcomeOf(response));
          },
        );
        const onAbort = (): void => call.cancel();
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    close() {
      client.close();
    },
  };
}

function outcomeOf(response: Uint8Array | undefined): SendOutcome {
  try {
    const ps = response ? decodeResponse(response, 'protobuf').partialSuccess : undefined;
    return { rejectedProfiles: Number(ps?.rejectedProfiles ?? 0n), errorMessage: ps?.errorMessage ?? '' };
  } catch {
    return { rejectedProfiles: 0, errorMessage: '' };
  }
}

function classify(err: grpc.ServiceError, retryable: ReadonlySet<number>): Error {
  const name = (grpc.status[err.code] ?? String(err.code)).toLowerCase();
  const message = `gRPC ${grpc.status[err.code] ?? err.code}: ${err.details}`;
  const reason = `grpc_${name}`;
  const details = err.metadata?.get('grpc-status-details-bin')[0];
  const pushback = details instanceof Buffer ? decodeRpcStatus(details)?.retryDelayMs : undefined;
  if (retryable.has(err.code)) return new RetryableError(message, reason, pushback);
  if (err.code === grpc.status.RESOURCE_EXHAUSTED && pushback !== undefined) return new RetryableError(message, reason, pushback);
  return new PermanentError(message, reason);
}
