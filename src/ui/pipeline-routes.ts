import type { FastifyInstance } from 'fastify';
import type { ProfileStore } from '../store/store.js';
import { CPU_RING_BUCKETS } from '../store/cpu.js';
import {
  SUBSCRIPTION_MAX_WAIT_SECONDS,
  SUBSCRIPTION_PATH,
  USAGE_MAX_BYTES,
  USAGE_MAX_SOURCES,
  USAGE_PATH,
  type SubscriptionResponse,
  type UsageReport,
} from '../api/pipeline.js';

const name = { type: 'string', minLength: 1, maxLength: 1024 } as const;

const usageSchema = {
  type: 'object',
  required: ['sources'],
  additionalProperties: false,
  properties: {
    sources: {
      type: 'array',
      maxItems: USAGE_MAX_SOURCES,
      items: {
        type: 'object',
        required: ['namespace', 'kind', 'name', 'cpu'],
        additionalProperties: false,
        properties: {
          namespace: name,
          kind: name,
          name,
          cpu: {
            type: 'array',
            maxItems: CPU_RING_BUCKETS,
            items: {
              type: 'array',
              minItems: 2,
              maxItems: 2,
              items: [
                { type: 'number', minimum: 0 },
                { type: 'number', minimum: 0, maximum: 1e15 },
              ],
            },
          },
        },
      },
    },
  },
} as const;

/** The gateways' API (src/api/pipeline.ts): the subscription long poll and usage reports. */
export function registerPipelineRoutes(app: FastifyInstance, store: ProfileStore): void {
  app.get<{ Querystring: { since?: string; wait?: number } }>(
    SUBSCRIPTION_PATH,
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { since: { type: 'string', maxLength: 128 }, wait: { type: 'number', minimum: 0, maximum: SUBSCRIPTION_MAX_WAIT_SECONDS } },
        },
      },
    },
    async (req): Promise<SubscriptionResponse> => {
      const { since, wait = 0 } = req.query;
      const now = store.subscription();
      if (since === undefined || since !== now.token || wait === 0) return now;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          off();
          req.raw.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, wait * 1000);
        const off = store.onSlotSetChange(done);
        req.raw.on('close', done);
      });
      return store.subscription();
    },
  );

  app.post<{ Body: UsageReport }>(USAGE_PATH, { bodyLimit: USAGE_MAX_BYTES, schema: { body: usageSchema } }, async (req, reply) => {
    store.addUsage(req.body.sources);
    return reply.code(204).send();
  });
}
