import { z } from 'zod';

const MiB = 1024 * 1024;

/**
 * The exporter's defaults, declared once: its own options and pilotlight.yaml's
 * `profiling.exporter` (src/config/schema.ts) both default to these. Durations in milliseconds.
 */
export const EXPORTER_DEFAULTS = {
  /**
   * gzip request bodies (HTTP Content-Encoding, gRPC message compression). Off: inside a
   * cluster the CPU it costs at both ends of a hop is worth more than the bytes.
   */
  enableDataCompression: false,
  timeout: 5_000,
  retryOnFailure: { enabled: true, initialInterval: 5_000, maxInterval: 30_000, maxElapsedTime: 300_000, multiplier: 1.5, randomizationFactor: 0.5 },
  sendingQueue: { maxItems: 1000, maxBytes: 64 * MiB, numConsumers: 4 },
} as const;

/**
 * A duration in the exporter's options: whole milliseconds, a number. Text with units (`5s`)
 * is pilotlight.yaml's and the flags' form, parsed once at that edge (src/config/duration.ts).
 */
const millis = z.number().nonnegative();

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

const D = EXPORTER_DEFAULTS;

/** Backoff tuning, named as in the Helm values (`retryOnFailure.*`). */
export const retryConfigSchema = z
  .object({
    enabled: z.boolean().default(D.retryOnFailure.enabled),
    initialInterval: millis.default(D.retryOnFailure.initialInterval),
    maxInterval: millis.default(D.retryOnFailure.maxInterval),
    /** Give up on a request after this long since its first attempt; 0 = never give up. */
    maxElapsedTime: millis.default(D.retryOnFailure.maxElapsedTime),
    multiplier: z.number().min(1).default(D.retryOnFailure.multiplier),
    randomizationFactor: z.number().min(0).max(1).default(D.retryOnFailure.randomizationFactor),
  })
  .strict();

const queueConfigSchema = z
  .object({
    /** Requests held while the destination is slow or down; beyond this, new ones are dropped. */
    maxItems: z.number().int().positive().default(D.sendingQueue.maxItems),
    /** Encoded (uncompressed) bytes held; whichever limit is reached first applies. */
    maxBytes: z.number().int().positive().default(D.sendingQueue.maxBytes),
    /** Requests sent concurrently. */
    numConsumers: z.number().int().positive().default(D.sendingQueue.numConsumers),
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
    enableDataCompression: z.boolean().default(D.enableDataCompression),
    /** Per attempt. */
    timeout: millis.default(D.timeout),
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
      ctx.addIssue({
        code: 'custom',
        path: ['retryOnHttpStatus'],
        message: `applies to protocol: http, and this one is ${cfg.protocol} (retryOnGrpcStatus is its counterpart)`,
      });
    }
    if (cfg.protocol !== 'grpc' && cfg.retryOnGrpcStatus.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['retryOnGrpcStatus'],
        message: `applies to protocol: grpc, and this one is ${cfg.protocol} (retryOnHttpStatus is its counterpart)`,
      });
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
