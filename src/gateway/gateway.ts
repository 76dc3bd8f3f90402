import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { Exporter, type ExporterOptions } from '../pipeline/exporter/exporter.js';
import type { ProfilesConsumer } from '../pipeline/consumer.js';
import { Receiver, type ReceiverAddresses, type ReceiverOptions } from '../pipeline/receiver/receiver.js';
import { FanoutConsumer } from './fanout.js';
import type { ShapePolicy } from './shape.js';
import { ShapingConsumer } from './shaping.js';
import { UiFilterConsumer, UiSubscription, type UiSubscriptionOptions } from './subscription.js';

/** One target of the gateway: its exporter, and how requests are reshaped for it. */
export interface GatewayTarget extends Omit<ExporterOptions, 'logger' | 'registry'> {
  /** Reshape each request for this target before queueing it; without it the target gets the request as received. */
  shaping?: ShapePolicy;
  /**
   * This target is Pilotlight's UI: forward it only the workloads it has slots for, learnt from
   * its API, and report the others' CPU time to it (subscription.ts).
   */
  subscription?: UiSubscriptionOptions;
}

export interface GatewayOptions {
  receiver: Omit<ReceiverOptions, 'consumer' | 'logger' | 'registry' | 'adminRoutes'>;
  /** One per target: the UI and each destination. Names must be unique (metrics label). */
  exporters: GatewayTarget[];
  logger?: Logger;
  registry?: Registry;
}

/**
 * `pilotlight gateway`: one receiver whose requests fan out to N exporters, each with its own
 * queue and retry, so a dead destination fills only its own queue while the UI keeps getting
 * data. A target with a shaping policy gets each request reshaped for it before its queue;
 * the others get the received bytes. Health and metrics are served on the receiver's OTLP/HTTP
 * port.
 */
export class Gateway {
  readonly receiver: Receiver;
  readonly exporters: Exporter[];
  readonly registry: Registry;
  /** The UI target's subscription, when it has one. */
  readonly subscription: UiSubscription | undefined;
  private readonly logger: Logger;

  constructor(options: GatewayOptions) {
    this.registry = options.registry ?? new Registry();
    this.logger = options.logger ?? pino({ level: 'silent' });
    const names = new Set<string>();
    for (const e of options.exporters) {
      if (names.has(e.name)) throw new Error(`two exporters are named ${JSON.stringify(e.name)}; names must be unique`);
      names.add(e.name);
    }
    const subscribed = options.exporters.filter((e) => e.subscription);
    if (subscribed.length > 1) throw new Error(`only one target can have a subscription; ${subscribed.map((e) => e.name).join(' and ')} both do`);
    this.exporters = options.exporters.map(
      ({ shaping: _shaping, subscription: _subscription, ...e }) => new Exporter({ ...e, logger: this.logger, registry: this.registry }),
    );
    this.subscription = subscribed[0]?.subscription ? new UiSubscription(subscribed[0].subscription, this.registry, this.logger) : undefined;
    const fanout = new FanoutConsumer(
      this.exporters.map((exporter, i) => {
        const { shaping, subscription } = options.exporters[i];
        let consumer: ProfilesConsumer = shaping ? new ShapingConsumer(exporter.name, shaping, exporter, this.registry, this.logger) : exporter;
        if (subscription && this.subscription) consumer = new UiFilterConsumer(this.subscription, consumer);
        return { name: exporter.name, consumer };
      }),
    );
    this.receiver = new Receiver({ ...options.receiver, consumer: fanout, logger: this.logger, registry: this.registry, adminRoutes: true });
  }

  async start(): Promise<ReceiverAddresses> {
    const addrs = await this.receiver.start();
    this.subscription?.start();
    this.logger.info(
      { exporters: this.exporters.map((e) => ({ name: e.name, protocol: e.config.protocol, endpoint: e.config.endpoint })) },
      'gateway fanning out',
    );
    return addrs;
  }

  /** Stops receiving first (so nothing new arrives), then drains every exporter within the deadline. */
  async stop(deadlineMs = 10_000): Promise<void> {
    const started = Date.now();
    await this.receiver.stop(Math.min(5000, deadlineMs));
    await this.subscription?.stop(Math.min(2000, Math.max(0, deadlineMs - (Date.now() - started))));
    const left = Math.max(0, deadlineMs - (Date.now() - started));
    await Promise.all(this.exporters.map((e) => e.shutdown(left)));
  }
}
