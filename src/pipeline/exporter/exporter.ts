import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { encodeRequest, errorText } from '../../otlp/codec.js';
import type { ConsumeResult, ProfilesBatch, ProfilesConsumer } from '../consumer.js';
import { ACCEPTED, batchStats } from '../consumer.js';
import { exporterConfigSchema, type ExporterConfig, type ExporterConfigInput } from './exporter-config.js';
import { ExporterClosedError, PermanentError, RetryableError } from './exporter-errors.js';
import type { ExportItem, SendOutcome, Transport } from './export-item.js';
import { exporterMetrics, type DropReason, type ExporterMetrics } from '../metrics.js';
import { BoundedQueue } from './queue.js';
import { RetryLink } from './retry.js';
import { timeoutLink } from './timeout.js';
import { grpcTransport } from './transport-grpc.js';
import { httpTransport } from './transport-http.js';

export interface ExporterOptions extends ExporterConfigInput {
  /** Names this exporter in metrics (`exporter` label) and logs, e.g. `ui` or `pyroscope`. */
  name: string;
  logger?: Logger;
  registry?: Registry;
  /** Replaces the gRPC/HTTP transport (tests, benchmarks). */
  transport?: Transport;
}

/**
 * An OTLP Profiles exporter, built as the Collector's exporterhelper: consume() puts the request
 * in a bounded queue and returns; workers take from the queue and pass each request through
 * retry → timeout → transport. What is dropped (queue full, retries exhausted, permanent
 * error, shutdown) is counted by reason and logged.
 *
 * Shutdown order: stop taking requests, stop retrying (so pending waits end), let the workers
 * send what is queued once each until the deadline, then cut sends in flight and drop the rest.
 */
export class Exporter implements ProfilesConsumer {
  readonly name: string;
  readonly config: ExporterConfig;
  readonly registry: Registry;
  private readonly logger: Logger;
  private readonly metrics: ExporterMetrics;
  private readonly transport: Transport;
  private readonly queue: BoundedQueue<ExportItem>;
  private readonly retry: RetryLink;
  private readonly cutoff = new AbortController();
  private readonly workers: Promise<void>[] = [];
  /** Accepted and not yet sent or dropped (queued + being sent). */
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(options: ExporterOptions) {
    const { name, logger, registry, transport, ...config } = options;
    this.name = name;
    this.config = exporterConfigSchema.parse(config);
    this.registry = registry ?? new Registry();
    this.logger = (logger ?? pino({ level: 'silent' })).child({ component: 'exporter', exporter: name });
    this.metrics = exporterMetrics(this.registry);
    this.transport = transport ?? (this.config.protocol === 'http' ? httpTransport(this.config) : grpcTransport(this.config));

    const labels = { exporter: name };
    const { maxItems, maxBytes, numConsumers } = this.config.sendingQueue;
    this.metrics.queueCapacity.set(labels, maxItems);
    this.metrics.queueItems.set(labels, 0);
    this.metrics.queueBytes.set(labels, 0);
    this.queue = new BoundedQueue<ExportItem>(
      maxItems,
      maxBytes,
      (i) => i.body.byteLength,
      (items, bytes) => {
        this.metrics.queueItems.set(labels, items);
        this.metrics.queueBytes.set(labels, bytes);
      },
    );

    const send = timeoutLink(this.config.timeout, (item, signal) => this.timedSend(item, signal));
    this.retry = new RetryLink(this.config.retryOnFailure, send, {
      onRetry: (item, err, delay) => {
        this.metrics.retries.inc({ exporter: name, reason: reasonOf(err) });
        this.logger.debug({ reason: reasonOf(err), delayMs: Math.round(delay), samples: item.samples }, `send failed, retrying: ${errorText(err)}`);
      },
      onDrop: (item, reason, err) => this.countDrop(item, reason, errorText(err)),
    });
    for (let i = 0; i < numConsumers; i++) this.workers.push(this.work());
  }

  /** Queues the request; resolves at once. A full queue drops it and says so in the result. */
  async consume(batch: ProfilesBatch): Promise<ConsumeResult> {
    if (this.closed) throw new ExporterClosedError(this.name);
    const stats = batchStats(batch);
    const body = this.config.encoding === 'json' ? encodeRequest(batch.request, 'json') : (batch.encoded ?? encodeRequest(batch.request));
    const item: ExportItem = { body, profiles: stats.profiles, samples: stats.samples };
    // The request as the sender gzipped it goes on so when this exporter compresses (compress.ts).
    if (this.config.enableDataCompression && this.config.protocol === 'http' && batch.gzipped && body === batch.encoded) item.gzipped = batch.gzipped;
    if (this.queue.offer(item)) {
      this.outstanding++;
      return ACCEPTED;
    }
    const { maxItems, maxBytes } = this.config.sendingQueue;
    const why = `sending queue is full (${maxItems} requests or ${maxBytes} bytes)`;
    this.countDrop(item, 'queue_full', why);
    return { rejectedProfiles: stats.profiles, errorMessage: `exporter "${this.name}": ${why}; request dropped` };
  }

  /** Requests waiting in the queue (not counting those being sent). */
  get queueSize(): number {
    return this.queue.size;
  }

  /** Resolves when nothing is queued or being sent (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Sends what is queued within `deadlineMs` (once each, no more retries), then drops the rest. */
  async shutdown(deadlineMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.retry.stop();
    this.queue.close();
    const timer = setTimeout(() => this.cutoff.abort(new Error('shutdown deadline passed')), deadlineMs);
    // Once cut off, workers finish at once (their sends abort) and leftovers are dropped below.
    const cut = new Promise<void>((resolve) => this.cutoff.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([Promise.all(this.workers), cut]);
    clearTimeout(timer);
    for (const item of this.queue.drainRemaining()) {
      this.outstanding--;
      this.countDrop(item, 'shutdown', 'shutdown deadline passed before it was sent');
    }
    // Sends in flight were aborted by the cutoff; give them a moment to settle and be counted,
    // but a transport that ignores the abort must not hold shutdown hostage.
    await Promise.race([Promise.all(this.workers), new Promise((r) => setTimeout(r, 200).unref())]);
    this.transport.close();
    this.settleIdle();
  }

  private async work(): Promise<void> {
    for (let item = await this.queue.take(); item !== undefined; item = await this.queue.take()) {
      try {
        if (this.cutoff.signal.aborted) {
          this.countDrop(item, 'shutdown', 'shutdown deadline passed before it was sent');
          continue;
        }
        await this.retry.send(item, this.cutoff.signal);
      } catch (err) {
        // The links classify and count everything; reaching here is a bug, but must not lose the count.
        this.countDrop(item, 'permanent_error', `unexpected: ${errorText(err)}`);
      } finally {
        this.outstanding--;
        this.settleIdle();
      }
    }
  }

  private async timedSend(item: ExportItem, signal: AbortSignal): Promise<SendOutcome> {
    const started = performance.now();
    const labels = { exporter: this.name };
    try {
      const outcome = await this.transport.send(item, signal);
      this.metrics.sendSeconds.observe({ ...labels, outcome: 'success' }, (performance.now() - started) / 1000);
      this.metrics.sentRequests.inc(labels);
      this.metrics.sentSamples.inc(labels, item.samples);
      this.metrics.sentBytes.inc(labels, item.gzipped?.byteLength ?? item.body.byteLength);
      if (outcome.rejectedProfiles > 0) {
        this.metrics.rejectedByDestination.inc(labels, outcome.rejectedProfiles);
        this.logger.warn({ rejectedProfiles: outcome.rejectedProfiles }, `destination rejected part of a request: ${outcome.errorMessage}`);
      }
      return outcome;
    } catch (err) {
      this.metrics.sendSeconds.observe({ ...labels, outcome: 'failure' }, (performance.now() - started) / 1000);
      throw err;
    }
  }

  private countDrop(item: ExportItem, reason: DropReason, why: string): void {
    const labels = { exporter: this.name, reason };
    this.metrics.droppedRequests.inc(labels);
    this.metrics.droppedSamples.inc(labels, item.samples);
    this.logger.warn({ reason, samples: item.samples, profiles: item.profiles, bytes: item.body.byteLength }, `dropped a request (${reason}): ${why}`);
  }

  private settleIdle(): void {
    if (this.outstanding !== 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof RetryableError || err instanceof PermanentError) return err.reason;
  return 'error';
}
