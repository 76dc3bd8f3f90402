import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { encodeRequest, errorText } from '../otlp/codec.js';
import { readRequest } from '../otlp/read-request.js';
import type { WireRequest } from '../otlp/wire/request.js';
import { encodedBatch, type ConsumeResult, type ProfilesBatch, type ProfilesConsumer } from '../pipeline/consumer.js';
import { shapingMetrics, type ShapingMetrics, type UnshapedReason } from './metrics.js';
import { RequestShaper, type ShapePolicy } from './shape.js';

/**
 * A fan-out branch that reshapes each request for its destination (`RequestShaper`, on the
 * protobuf bytes) and hands the reshaped bytes on to the destination's exporter. The shaped
 * request must pass the same validation as a received one. Nothing is lost to shaping: a
 * request that cannot be read or shaped goes on as it came, and a resource that cannot be
 * shaped goes on as it came inside the shaped request; both are counted and logged.
 */
export class ShapingConsumer implements ProfilesConsumer {
  private readonly shaper: RequestShaper;
  private readonly metrics: ShapingMetrics;
  private readonly logger: Logger;

  constructor(
    /** The destination (its exporter's name), for metrics and logs. */
    readonly name: string,
    policy: ShapePolicy,
    private readonly next: ProfilesConsumer,
    registry: Registry,
    logger: Logger,
  ) {
    this.shaper = new RequestShaper(policy);
    this.metrics = shapingMetrics(registry);
    this.metrics.shapedRequests.inc({ exporter: name }, 0);
    this.logger = logger.child({ component: 'shaping', exporter: name });
  }

  async consume(batch: ProfilesBatch): Promise<ConsumeResult> {
    return this.next.consume(this.shaped(batch));
  }

  /**
   * The batch reshaped for this destination, or the batch as it came when that fails. A
   * received batch brings its bytes read and validated (`wire`); other bytes are read here, and
   * a batch of messages only is encoded first.
   */
  shaped(batch: ProfilesBatch): ProfilesBatch {
    let encoded: Uint8Array;
    let wire: WireRequest;
    try {
      encoded = batch.encoded ?? encodeRequest(batch.request);
      wire = batch.encoded && batch.wire ? batch.wire : readRequest(encoded, 'protobuf').wire;
    } catch (err) {
      return this.unshaped(batch, 'undecodable', err);
    }
    try {
      const { encoded: shaped, stats, counts } = this.shaper.shape(encoded, wire);
      const exporter = this.name;
      this.metrics.shapedRequests.inc({ exporter });
      for (const from of ['resource', 'profile', 'sample'] as const) {
        if (counts.dropped[from] > 0) this.metrics.droppedAttributes.inc({ exporter, from }, counts.dropped[from]);
      }
      if (counts.filledServiceNames > 0) this.metrics.filledServiceNames.inc({ exporter }, counts.filledServiceNames);
      if (counts.mergedSamples > 0) this.metrics.mergedSamples.inc({ exporter }, counts.mergedSamples);
      if (counts.unshapedResources > 0) {
        this.metrics.unshapedResources.inc({ exporter }, counts.unshapedResources);
        this.logger.warn({ resources: counts.unshapedResources }, `sent resources as they came, since shaping them failed: ${errorText(counts.error)}`);
      }
      return encodedBatch(shaped, undefined, stats);
    } catch (err) {
      return this.unshaped(batch, 'failed', err);
    }
  }

  private unshaped(batch: ProfilesBatch, reason: UnshapedReason, err: unknown): ProfilesBatch {
    this.metrics.unshapedRequests.inc({ exporter: this.name, reason });
    this.logger.warn({ reason }, `sent a request as it came, since it could not be shaped: ${errorText(err)}`);
    return batch;
  }
}
