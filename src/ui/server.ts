import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { Receiver, type ReceiverAddresses, type ReceiverOptions } from '../pipeline/receiver/receiver.js';
import { DEFAULT_LIMITS } from '../store/config.js';
import { ProfileStore, type Clock } from '../store/store.js';
import type { StoreLimits } from '../api/types.js';
import { buildUiApp } from './app.js';

export interface UiServerOptions {
  host?: string;
  port?: number;
  /** The UI's OTLP receiver (fed by the gateway); defaults to 127.0.0.1:14317 (gRPC) and :14318 (HTTP). */
  otlp?: Omit<ReceiverOptions, 'consumer' | 'logger' | 'registry'>;
  limits?: StoreLimits;
  webRoot?: string;
  logger?: Logger;
  clock?: Clock;
  eventsHeartbeatMs?: number;
}

export interface UiServer {
  app: FastifyInstance;
  receiver: Receiver;
  store: ProfileStore;
  /** Base URL of the web app and API. */
  url: string;
  otlp: ReceiverAddresses;
  close(): Promise<void>;
}

export const UI_OTLP_GRPC_PORT = 14317;
export const UI_OTLP_HTTP_PORT = 14318;

/** The built web app: next to the sources (src/web/dist) whether we run from src/ or dist/. */
export function defaultWebRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'web', 'dist'), join(here, '..', '..', 'src', 'web', 'dist')];
  return candidates.find((c) => existsSync(join(c, 'index.html'))) ?? candidates[0];
}

/** `pilotlight ui`: the profile store, its OTLP receiver and the HTTP API + web app, in one process. */
export async function startUiServer(opts: UiServerOptions = {}): Promise<UiServer> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pilotlight_ui_' });
  const store = new ProfileStore(opts.limits ?? DEFAULT_LIMITS, opts.clock);
  const receiver = new Receiver({
    grpc: { host: '127.0.0.1', port: UI_OTLP_GRPC_PORT },
    http: { host: '127.0.0.1', port: UI_OTLP_HTTP_PORT },
    ...opts.otlp,
    consumer: store,
    logger,
    registry,
  });
  const app = await buildUiApp({
    store,
    webRoot: opts.webRoot ?? defaultWebRoot(),
    logger,
    registry,
    ready: () => receiver.ready,
    eventsHeartbeatMs: opts.eventsHeartbeatMs,
  });
  const otlp = await receiver.start();
  let url: string;
  try {
    url = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 3000 });
  } catch (err) {
    await receiver.stop(0);
    throw err;
  }
  store.start();
  logger.info({ url, otlp }, 'Pilotlight UI listening');
  return {
    app,
    receiver,
    store,
    url,
    otlp,
    async close() {
      store.stop();
      await receiver.stop();
      await app.close();
    },
  };
}
