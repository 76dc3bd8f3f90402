import { status as GrpcStatus } from '@grpc/grpc-js';
import type { ReceiveOutcome } from '../metrics.js';

/**
 * Every way the receiver refuses a request, made in one place (as Fastify's FST_ERR_*): a code
 * for logs and tests, the HTTP status, the gRPC status, and the metrics outcome.
 */
const CODES = {
  PL_RECV_BODY_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, outcome: 'too_large' },
  PL_RECV_DECOMPRESSED_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, outcome: 'too_large' },
  PL_RECV_INVALID: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, outcome: 'invalid' },
  PL_RECV_UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: GrpcStatus.UNIMPLEMENTED, outcome: 'unsupported' },
  PL_RECV_UNAUTHENTICATED: { http: 401, grpc: GrpcStatus.UNAUTHENTICATED, outcome: 'unauthenticated' },
  // The consumer could not take the request (e.g. shutting down): retryable, so the sender keeps it.
  PL_RECV_REFUSED: { http: 503, grpc: GrpcStatus.UNAVAILABLE, outcome: 'refused' },
  PL_RECV_INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, outcome: 'internal' },
} as const satisfies Record<string, { http: number; grpc: GrpcStatus; outcome: ReceiveOutcome }>;

export type ReceiveErrorCode = keyof typeof CODES;

export class ReceiveError extends Error {
  readonly httpStatus: number;
  readonly grpcStatus: GrpcStatus;
  readonly outcome: ReceiveOutcome;

  constructor(
    readonly code: ReceiveErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ReceiveError';
    this.httpStatus = CODES[code].http;
    this.grpcStatus = CODES[code].grpc;
    this.outcome = CODES[code].outcome;
  }
}

export function bodyTooLarge(limit: number, size?: number): ReceiveError {
  const got = size === undefined ? '' : ` (got ${size} bytes)`;
  return new ReceiveError('PL_RECV_BODY_TOO_LARGE', `request body exceeds maxRequestBytes = ${limit} bytes${got}`);
}

export function decompressedTooLarge(limit: number): ReceiveError {
  return new ReceiveError('PL_RECV_DECOMPRESSED_TOO_LARGE', `decompressed request exceeds maxDecompressedBytes = ${limit} bytes`);
}

export function unauthenticated(): ReceiveError {
  return new ReceiveError('PL_RECV_UNAUTHENTICATED', 'missing or wrong bearer token');
}
