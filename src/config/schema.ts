import { z } from 'zod';
import { EXPORTER_DEFAULTS, grpcErrorStatusSchema, httpErrorStatusSchema, type ExporterConfigInput } from '../pipeline/exporter/exporter-config.js';
import { duration } from './duration.js';

/**
 * `pilotlight.yaml`: one file that mirrors the Helm chart's values (the chart renders its
 * values into this file for every pod), so a setting has one name everywhere. Every
 * component reads the sections it needs; unknown keys are errors that name the key.
 */

const MiB = 1024 * 1024;

const { retryOnFailure: retryDefaults, sendingQueue: queueDefaults } = EXPORTER_DEFAULTS;

/** The tuning every exporter hop shares; defaults are the exporter's own (EXPORTER_DEFAULTS). */
export const exporterSchema = z
  .object({
    /** gzip request bodies (HTTP Content-Encoding, gRPC message compression); off by default. */
    enableDataCompression: z.boolean().default(EXPORTER_DEFAULTS.enableDataCompression),
    /** Deadline for one send attempt. */
    timeout: duration.default(EXPORTER_DEFAULTS.timeout),
    retryOnFailure: z
      .object({
        enabled: z.boolean().default(retryDefaults.enabled),
        initialInterval: duration.default(retryDefaults.initialInterval),
        maxInterval: duration.default(retryDefaults.maxInterval),
        maxElapsedTime: duration.default(retryDefaults.maxElapsedTime),
      })
      .strict()
      .prefault({}),
    /** The bounded queue between the producer and the sender. */
    queue: z
      .object({
        maxItems: z.number().int().positive().default(queueDefaults.maxItems),
        maxBytes: z.number().int().positive().default(queueDefaults.maxBytes),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** `profiling.exporter` as exporter options: the tuning every hop (node, gateway, up) shares. */
export function exporterTuning(config: PilotlightConfig) {
  const e = config.profiling.exporter;
  return {
    enableDataCompression: e.enableDataCompression,
    timeout: e.timeout,
    retryOnFailure: { ...e.retryOnFailure },
    sendingQueue: { maxItems: e.queue.maxItems, maxBytes: e.queue.maxBytes },
  } satisfies Partial<ExporterConfigInput>;
}

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

/**
 * Attributes Grafana Pyroscope should not get. It makes every string or int Resource attribute
 * and every sample attribute a series label, so each of these would split one workload into a
 * series per process, thread, CPU, pod or container, past its per-tenant series limit.
 */
export const PYROSCOPE_DROPPED_ATTRIBUTES: readonly string[] = [
  'process.pid',
  'thread.name',
  'thread.id',
  'cpu.logical_number',
  'k8s.pod.name',
  'k8s.pod.uid',
  'container.id',
  'process.executable.path',
  'process.environment_variable.*',
];

/**
 * Pyroscope answers 500 when a push fails on its side (an ingester not ready, say), 400 for
 * invalid data and 429 over a limit: its 500 is the transient failure that the OTLP/HTTP spec
 * expects as 502/503/504, so it is retried too.
 */
export const PYROSCOPE_RETRY_ON_HTTP_STATUS: readonly number[] = [500];

/** What a destination gets of each profile's attributes (the gateway reshapes the request for it). */
const attributes = (defaults: { serviceNameFromWorkload: boolean; drop: readonly string[] }) =>
  z
    .object({
      /** A Resource without `service.name` (or with an empty one) gets its workload's name. */
      serviceNameFromWorkload: z.boolean().default(defaults.serviceNameFromWorkload),
      /**
       * Attribute keys left out of Resources, profiles and samples (`*` matches any run of
       * characters); location and mapping attributes are kept. `[]` sends every attribute.
       */
      drop: z.array(z.string().min(1)).default(() => [...defaults.drop]),
    })
    .strict()
    .prefault({});

const tls = z
  .object({ insecureSkipVerify: z.boolean().default(false), caFile: z.string().optional() })
  .strict()
  .optional();

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
      tls,
      attributes: attributes({ serviceNameFromWorkload: true, drop: PYROSCOPE_DROPPED_ATTRIBUTES }),
      retryOnHttpStatus: z.array(httpErrorStatusSchema).default(() => [...PYROSCOPE_RETRY_ON_HTTP_STATUS]),
    })
    .strict(),
  z
    .object({
      type: z.literal('otlp'),
      name: z.string().min(1).default('otlp'),
      endpoint: z.string().min(1),
      protocol: z.enum(['grpc', 'http']).default('grpc'),
      headers: z.record(z.string(), z.string()).default({}),
      tls,
      attributes: attributes({ serviceNameFromWorkload: false, drop: [] }),
      retryOnHttpStatus: z.array(httpErrorStatusSchema).default(() => []),
      retryOnGrpcStatus: z.array(grpcErrorStatusSchema).default(() => []),
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
             * What samples: bpftrace (frame pointers only) or the OpenTelemetry eBPF profiler
             * (.eh_frame unwinding, interpreter frames). Unset: the eBPF profiler where it can
             * run, else bpftrace (src/node/choose-sampler.ts).
             */
            sampler: z.enum(['bpftrace', 'ebpf-profiler']).optional(),
            /**
             * Off-CPU profiles ("where does this workload wait?"), with the eBPF profiler only:
             * each context switch (a thread leaving the CPU) is recorded with `probability`
             * (the profiler's `-off-cpu-threshold`) with its stack and the nanoseconds until the
             * thread ran again, sent as the workload's off-CPU profile beside its CPU one.
             */
            offCpu: z
              .object({
                enabled: z.boolean().default(false),
                probability: z.number().gt(0).max(1).default(0.01),
              })
              .strict()
              .prefault({}),
            /**
             * Where the node sends: the gateway. OTLP/HTTP by default: a gRPC export (grpc-js)
             * costs the sampler more CPU than an HTTP one, and the node's CPU is what every
             * machine pays (bench/sampler.bench.ts prints both).
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
            ui: target
              .extend({
                endpoint: z.string().min(1).default('127.0.0.1:14317'),
                /**
                 * Forward to the UI only the workloads it has profiling slots for (it says which
                 * through its HTTP API), and report the others' CPU time to it instead of their
                 * stacks. Off: the UI gets every workload's data and drops what it does not keep.
                 */
                subscription: z
                  .object({
                    enabled: z.boolean().default(true),
                    /** The UI's HTTP API (where the browser reaches it). */
                    api: z.string().url().default('http://127.0.0.1:3000'),
                    /** How often the CPU time of the workloads not forwarded is reported. */
                    usageInterval: duration.default(1000),
                  })
                  .strict()
                  .prefault({}),
              })
              .strict()
              .prefault({}),
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
            slotMaxBytes: z
              .number()
              .int()
              .positive()
              .default(8 * MiB),
            cleanupIntervalSeconds: z.number().int().positive().default(15),
            maxSources: z.number().int().positive().default(50_000),
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
export type Destination = z.output<typeof destinationSchema>;
