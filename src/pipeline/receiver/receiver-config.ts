import { z } from 'zod';

const MiB = 1024 * 1024;

const endpointSchema = (defaultPort: number) =>
  z
    .object({
      // Loopback unless told otherwise: an open OTLP port is an open door for anyone's data.
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(defaultPort),
    })
    .strict();

export const receiverConfigSchema = z
  .object({
    /** OTLP/gRPC listener, or false for none. Port 0 picks a free port (see Receiver.addresses). */
    grpc: z.union([z.literal(false), endpointSchema(4317)]).default({ host: '127.0.0.1', port: 4317 }),
    /** OTLP/HTTP listener, or false for none. */
    http: z.union([z.literal(false), endpointSchema(4318)]).default({ host: '127.0.0.1', port: 4318 }),
    /** Largest request body on the wire (compressed as sent). */
    maxRequestBytes: z
      .number()
      .int()
      .positive()
      .default(16 * MiB),
    /** Largest body after gunzip; inflating stops as soon as it is passed (gzip bombs). */
    maxDecompressedBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    /**
     * A sender's connection is closed (gently: after a response over HTTP, with GOAWAY and a
     * grace period over gRPC) once it is this old, so senders reconnect and spread over the
     * replicas behind a Service, new ones included; 0 keeps connections for good.
     */
    maxConnectionAgeSeconds: z.number().min(0).default(300),
    /** When set, both transports require `Authorization: Bearer <token>`. */
    bearerToken: z.string().min(1).optional(),
  })
  .strict();

export type ReceiverConfig = z.output<typeof receiverConfigSchema>;
export type ReceiverConfigInput = z.input<typeof receiverConfigSchema>;
