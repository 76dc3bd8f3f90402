import type * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { ProfilesConsumer } from '../consumer.js';
import { receiverMetrics } from '../metrics.js';
import type { ReceiveCore } from './receive.js';
import { receiverConfigSchema, type ReceiverConfig, type ReceiverConfigInput } from './receiver-config.js';
import { bindGrpc, buildGrpcReceiver } from './receiver-grpc.js';
import { buildHttpReceiver } from './receiver-http.js';

export interface ReceiverOptions extends ReceiverConfigInput {
  /** Where validated requests go: the profile store, an exporter, a fan-out. */
  consumer: ProfilesConsumer;
  logger?: Logger;
  /** Self-metrics are registered here (shared with the embedding process's /metrics). */
  registry?: Registry;
  /**
   * Also serve GET /metrics (the registry), /healthz and /readyz on the OTLP/HTTP port, without
   * the bearer token. `ready` adds a condition to /readyz beyond "the receiver is listening".
   */
  adminRoutes?: boolean | { ready?: () => boolean };
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ReceiverAddresses {
  grpc?: ListenAddress;
  http?: ListenAddress;
}

/**
 * The OTLP Profiles receiver: ProfilesService/Export over gRPC and POST /v1development/profiles
 * over HTTP, both handing validated requests to one consumer.
 */
export class Receiver {
  readonly config: ReceiverConfig;
  readonly registry: Registry;
  private readonly core: ReceiveCore;
  private readonly adminRoutes: ReceiverOptions['adminRoutes'];
  private grpcServer?: grpc.Server;
  private httpServer?: FastifyInstance;
  private bound: ReceiverAddresses = {};
  private state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';

  constructor(options: ReceiverOptions) {
    const { consumer, logger, registry, adminRoutes, ...config } = options;
    this.adminRoutes = adminRoutes;
    this.config = receiverConfigSchema.parse(config);
    this.registry = registry ?? new Registry();
    this.core = {
      consumer,
      logger: (logger ?? pino({ level: 'silent' })).child({ component: 'receiver' }),
      metrics: receiverMetrics(this.registry),
    };
  }

  /** Listens on the configured ports; resolves with the ports really bound (port 0 → a free one). */
  async start(): Promise<ReceiverAddresses> {
    if (this.state !== 'new') throw new Error(`receiver cannot start: it is ${this.state}`);
    this.state = 'started';
    try {
      const { grpc: grpcCfg, http: httpCfg } = this.config;
      if (grpcCfg) {
        this.grpcServer = buildGrpcReceiver(this.core, this.config);
        const port = await bindGrpc(this.grpcServer, grpcCfg.host, grpcCfg.port);
        this.bound.grpc = { host: grpcCfg.host, port };
      }
      if (httpCfg) {
        const extra = typeof this.adminRoutes === 'object' ? this.adminRoutes.ready : undefined;
        const admin = this.adminRoutes ? { registry: this.registry, ready: () => this.ready && (extra?.() ?? true) } : undefined;
        this.httpServer = buildHttpReceiver(this.core, this.config, admin);
        await this.httpServer.listen({ host: httpCfg.host, port: httpCfg.port });
        const addr = this.httpServer.server.address();
        const port = typeof addr === 'object' && addr ? addr.port : httpCfg.port;
        this.bound.http = { host: httpCfg.host, port };
      }
    } catch (err) {
      await this.stop(0);
      throw err;
    }
    this.core.logger.info({ ...this.bound }, 'OTLP Profiles receiver listening');
    return this.addresses;
  }

  get addresses(): ReceiverAddresses {
    return { ...this.bound };
  }

  /** True between a successful start() and stop(): what /readyz reports. */
  get ready(): boolean {
    return this.state === 'started';
  }

  /**
   * Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts what is left.
   * Call before shutting down the consumer so that nothing arrives at a closed consumer.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    await Promise.all([this.stopGrpc(graceMs), this.httpServer?.close()]);
    this.state = 'stopped';
  }

  private stopGrpc(graceMs: number): Promise<void> {
    const server = this.grpcServer;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
