import { z } from 'zod';
import { duration } from './duration.js';

/**
 * `pilotlight.yaml`: one file that mirrors the Helm chart's values (the chart renders its
 * values into this file for every pod), so a setting has one name everywhere. Every
 * component reads the sections it needs; unknown keys are errors that name the key.
 */

const MiB = 1024 * 1024;

export const exporterSchema = z
  .object({
    /** gzip request bodies (HTTP Content-Encoding, gRPC message compression). */
    enableDataCompression: z.boolean().default(true),
    /** Deadline for one send attempt. */
    timeout: duration.default(5000),
    retryOnFailure: z
      .object({
        enabled: z.boolean().default(true),
        initialInterval: duration.default(5000),
        maxInterval: duration.default(30_000),
        maxElapsedTime: duration.default(300_000),
      })
      .strict()
      .prefault({}),
    /** The bounded queue between the producer and the sender. */
    queue: z
      .object({
        maxItems: z.number().int().positive().default(1000),
        maxBytes: z.number().int().positive().default(64 * MiB),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const listen = (port: number) =>
  z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(port),
    })
    .strict();

const target = z
  .object({
    /** `host:port` for gRPC, or a URL (`http://host:4318`) for OTLP/HTTP. */
    endpoint: z.string().min(1),
    protocol: z.enum(['grpc', 'http']).default('grpc'),
  })
  .strict();

export const destinationSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('pyroscope'),
      name: z.string().min(1).default('pyroscope'),
      /** Pyroscope's base URL; profiles go to `{url}/v1development/profiles`. */
      url: z.string().url(),
      tenant: z.string().optional(),
      basicAuth: z.object({ username: z.string(), password: z.string() }).strict().optional(),
      headers: z.record(z.string(), z.string()).default({}),
      tls: z.object({ insecureSkipVerify: z.boolean().default(false), caFile: z.string().optional() }).strict().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('otlp'),
      name: z.string().min(1).default('otlp'),
      endpoint: z.string().min(1),
      protocol: z.enum(['grpc', 'http']).default('grpc'),
      headers: z.record(z.string(), z.string()).default({}),
      tls: z.object({ insecureSkipVerify: z.boolean().default(false), caFile: z.string().optional() }).strict().optional(),
    })
    .strict(),
]);

export const configSchema = z
  .object({
    profiling: z
      .object({
        /** The one switch: when false, nothing profiling-related runs. */
        enabled: z.boolean().default(false),
        exporter: exporterSchema.prefault({}),
        node: z
          .object({
            hz: z.number().int().min(1).max(1000).default(20),
            interval: duration.default(1000),
            /**
             * Where the node sends: the gateway. OTLP/HTTP by default: measured on the sampler, a
             * gRPC export once a second (grpc-js) costs about twice the CPU of an HTTP one, and the
             * node's CPU is what every machine pays (bench/sampler.bench.ts prints both).
             */
            gateway: target.default({ endpoint: 'http://127.0.0.1:4318', protocol: 'http' }),
          })
          .strict()
          .prefault({}),
        gateway: z
          .object({
            grpc: listen(4317).prefault({}),
            http: listen(4318).prefault({}),
            /** Where the gateway sends for the UI. */
            ui: target.default({ endpoint: '127.0.0.1:14317', protocol: 'grpc' }),
            bearerToken: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
        ui: z
          .object({
            host: z.string().min(1).default('127.0.0.1'),
            port: z.number().int().min(0).max(65535).default(3000),
            /** The UI's own OTLP receiver (fed by the gateway). */
            otlp: z
              .object({ grpc: listen(14317).prefault({}), http: listen(14318).prefault({}) })
              .strict()
              .prefault({}),
            maxSlots: z.number().int().positive().default(24),
            slotTtlSeconds: z.number().int().positive().default(120),
            slotMaxBytes: z.number().int().positive().default(8 * MiB),
            cleanupIntervalSeconds: z.number().int().positive().default(15),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    destinations: z.array(destinationSchema).default([]),
  })
  .strict();

export type PilotlightConfig = z.output<typeof configSchema>;
export type ExporterSettings = z.output<typeof exporterSchema>;
export type Destination = z.output<typeof destinationSchema>;
