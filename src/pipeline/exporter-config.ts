import { z } from 'zod';
import { durationSchema } from './duration.js';

const MiB = 1024 * 1024;

/** An HTTP error status a destination may ask to have retried. */
export const httpErrorStatusSchema = z.number().int().min(400, 'an HTTP error status is 400-599').max(599, 'an HTTP error status is 400-599');

/** gRPC status codes by name, as `@grpc/grpc-js` spells them (OK excepted: it is no failure). */
export const GRPC_ERROR_STATUS_NAMES = [
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export const grpcErrorStatusSchema = z.enum(GRPC_ERROR_STATUS_NAMES);

/** Backoff tuning, named as in the Helm values (`retryOnFailure.*`). */
export const retryConfigSchema = z
  .object({
    enabled: z.boolean().default(true),
    initialInterval: durationSchema.default(5_000),
    maxInterval: durationSchema.default(30_000),
    /** Give up on a request after this long since its first attempt; 0 = never give up. */
    maxElapsedTime: durationSchema.default(300_000),
    multiplier: z.number().min(1).default(1.5),
    randomizationFactor: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const queueConfigSchema = z
  .object({
    /** Requests held while the destination is slow or down; beyond this, new ones are dropped. */
    maxItems: z.number().int().positive().default(1000),
    /** Encoded (uncompressed) bytes held; whichever limit is reached first applies. */
    maxBytes: z.number().int().positive().default(64 * MiB),
    /** Requests sent concurrently. */
    numConsumers: z.number().int().positive().default(4),
  })
  .strict();

export const exporterConfigSchema = z
  .object({
    protocol: z.enum(['grpc', 'http']).default('grpc'),
    /**
     * gRPC: `host:port` (or `http://host:port`; `https://` turns on TLS). HTTP: the base URL;
     * `/v1development/profiles` is appended unless the URL already ends with it.
     */
    endpoint: z.string().min(1),
    /** Extra request headers (gRPC metadata), e.g. authorization or a tenant id. */
    headers: z.record(z.string(), z.string()).default({}),
    /** For https:// endpoints (and gRPC over TLS): a CA bundle file, or skipping verification. */
    tls: z
      .object({ insecureSkipVerify: z.boolean().default(false), caFile: z.string().min(1).optional() })
      .strict()
      .optional(),
    /** OTLP/HTTP body encoding. */
    encoding: z.enum(['protobuf', 'json']).default('protobuf'),
    enableDataCompression: z.boolean().default(true),
    /** Per attempt. */
    timeout: durationSchema.default(5_000),
    retryOnFailure: retryConfigSchema.prefault({}),
    /**
     * HTTP statuses retried besides those the OTLP/HTTP spec calls retryable (429, 502, 503,
     * 504, always retried), for destinations that answer a transient failure otherwise.
     */
    retryOnHttpStatus: z.array(httpErrorStatusSchema).default(() => []),
    /** gRPC status codes retried besides those the OTLP spec calls retryable. */
    retryOnGrpcStatus: z.array(grpcErrorStatusSchema).default(() => []),
    sendingQueue: queueConfigSchema.prefault({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.protocol !== 'http' && cfg.retryOnHttpStatus.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['retryOnHttpStatus'], message: `applies to protocol: http, and this one is ${cfg.protocol} (retryOnGrpcStatus is its counterpart)` });
    }
    if (cfg.protocol !== 'grpc' && cfg.retryOnGrpcStatus.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['retryOnGrpcStatus'], message: `applies to protocol: grpc, and this one is ${cfg.protocol} (retryOnHttpStatus is its counterpart)` });
    }
    if (cfg.protocol === 'http' && !/^https?:\/\//.test(cfg.endpoint)) {
      ctx.addIssue({ code: 'custom', path: ['endpoint'], message: `an HTTP endpoint is a URL (http://… or https://…), got ${JSON.stringify(cfg.endpoint)}` });
    }
    if (cfg.protocol === 'http') {
      try {
        new URL(cfg.endpoint);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['endpoint'], message: `not a URL: ${JSON.stringify(cfg.endpoint)}` });
      }
    }
  });

export type ExporterConfig = z.output<typeof exporterConfigSchema>;
export type ExporterConfigInput = z.input<typeof exporterConfigSchema>;
export type RetryConfig = z.output<typeof retryConfigSchema>;
export type QueueConfig = z.output<typeof queueConfigSchema>;
