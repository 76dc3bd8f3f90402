import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Self-metrics of the pipeline. Several receivers and exporters may share one registry (the
 * gateway runs one receiver and N exporters), so each metric is created once per registry and
 * told apart by labels.
 */
export function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}

function histogram<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Histogram<L>;
  return new Histogram({ name, help, labelNames, buckets, registers: [registry] });
}

export type Transport = 'grpc' | 'http';

/** How a received request ended; one label value per class of answer. */
export type ReceiveOutcome = 'accepted' | 'invalid' | 'too_large' | 'unsupported' | 'unauthenticated' | 'refused' | 'internal';

export interface ReceiverMetrics {
  requests: Counter<'transport' | 'outcome'>;
  samples: Counter<'transport' | 'outcome'>;
  bytes: Counter<'transport' | 'outcome'>;
  rejectedProfiles: Counter<'transport'>;
}

export function receiverMetrics(registry: Registry): ReceiverMetrics {
  return {
    requests: counter(registry, 'pilotlight_receiver_requests_total', 'OTLP Profiles export requests received, by transport and outcome', [
      'transport',
      'outcome',
    ]),
    samples: counter(registry, 'pilotlight_receiver_samples_total', 'Samples in received requests (decoded ones only), by transport and outcome', [
      'transport',
      'outcome',
    ]),
    bytes: counter(registry, 'pilotlight_receiver_bytes_total', 'Request body bytes as received on the wire (before gunzip), by transport and outcome', [
      'transport',
      'outcome',
    ]),
    rejectedProfiles: counter(registry, 'pilotlight_receiver_rejected_profiles_total', 'Profiles reported back as rejected in partial_success', ['transport']),
  };
}

/** Why an exporter dropped a request. */
export type DropReason = 'queue_full' | 'retries_exhausted' | 'permanent_error' | 'retry_disabled' | 'shutdown';

export interface ExporterMetrics {
  sentRequests: Counter<'exporter'>;
  sentBytes: Counter<'exporter'>;
  sentSamples: Counter<'exporter'>;
  retries: Counter<'exporter' | 'reason'>;
  droppedRequests: Counter<'exporter' | 'reason'>;
  droppedSamples: Counter<'exporter' | 'reason'>;
  rejectedByDestination: Counter<'exporter'>;
  queueItems: Gauge<'exporter'>;
  queueBytes: Gauge<'exporter'>;
  queueCapacity: Gauge<'exporter'>;
  sendSeconds: Histogram<'exporter' | 'outcome'>;
}

export function exporterMetrics(registry: Registry): ExporterMetrics {
  return {
    sentRequests: counter(registry, 'pilotlight_exporter_sent_requests_total', 'Requests the destination accepted', ['exporter']),
    sentBytes: counter(registry, 'pilotlight_exporter_sent_bytes_total', 'Request bytes sent and accepted (after compression)', ['exporter']),
    sentSamples: counter(registry, 'pilotlight_exporter_sent_samples_total', 'Samples in requests the destination accepted', ['exporter']),
    retries: counter(registry, 'pilotlight_exporter_retries_total', 'Send attempts that failed with a retryable error and were scheduled again', [
      'exporter',
      'reason',
    ]),
    droppedRequests: counter(registry, 'pilotlight_exporter_dropped_requests_total', 'Requests given up on, by reason', ['exporter', 'reason']),
    droppedSamples: counter(registry, 'pilotlight_exporter_dropped_samples_total', 'Samples in requests given up on, by reason', ['exporter', 'reason']),
    rejectedByDestination: counter(
      registry,
      'pilotlight_exporter_rejected_profiles_total',
      'Profiles the destination reported as rejected in partial_success',
      ['exporter'],
    ),
    queueItems: gauge(registry, 'pilotlight_exporter_queue_size', 'Requests waiting in the sending queue', ['exporter']),
    queueBytes: gauge(registry, 'pilotlight_exporter_queue_bytes', 'Encoded bytes waiting in the sending queue', ['exporter']),
    queueCapacity: gauge(registry, 'pilotlight_exporter_queue_capacity', 'Maximum requests the sending queue holds', ['exporter']),
    sendSeconds: histogram(
      registry,
      'pilotlight_exporter_send_seconds',
      'Duration of one send attempt',
      ['exporter', 'outcome'],
      [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    ),
  };
}
