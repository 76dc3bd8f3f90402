import type { Counter, Registry } from 'prom-client';
import { counter } from '../pipeline/metrics.js';

/** Why a request went to a destination as it came instead of reshaped. */
export type UnshapedReason = 'undecodable' | 'failed';

/** Self-metrics of request shaping, one series per destination (`exporter`, as the exporter metrics name it). */
export interface ShapingMetrics {
  shapedRequests: Counter<'exporter'>;
  droppedAttributes: Counter<'exporter' | 'from'>;
  filledServiceNames: Counter<'exporter'>;
  mergedSamples: Counter<'exporter'>;
  unshapedResources: Counter<'exporter'>;
  unshapedRequests: Counter<'exporter' | 'reason'>;
}

export function shapingMetrics(registry: Registry): ShapingMetrics {
  return {
    shapedRequests: counter(registry, 'pilotlight_gateway_shaped_requests_total', 'Requests reshaped for a destination before it was queued', ['exporter']),
    droppedAttributes: counter(
      registry,
      'pilotlight_gateway_dropped_attributes_total',
      "Attribute values left out by a destination's attributes.drop, by where they were (resource, profile, sample)",
      ['exporter', 'from'],
    ),
    filledServiceNames: counter(registry, 'pilotlight_gateway_filled_service_names_total', 'Resources without service.name given their workload name', [
      'exporter',
    ]),
    mergedSamples: counter(registry, 'pilotlight_gateway_merged_samples_total', 'Samples merged into an equal one after attributes were dropped', ['exporter']),
    unshapedResources: counter(registry, 'pilotlight_gateway_unshaped_resources_total', 'Resources sent as they came because shaping them failed', [
      'exporter',
    ]),
    unshapedRequests: counter(
      registry,
      'pilotlight_gateway_unshaped_requests_total',
      'Requests sent as they came because they could not be shaped, by reason',
      ['exporter', 'reason'],
    ),
  };
}
