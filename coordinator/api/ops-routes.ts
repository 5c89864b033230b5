import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { CoordinatorMetrics } from '../ops/metrics.js';
import type { WorkerDirectory } from '../store/worker-directory.js';

/** Probes and metrics for operators (outside /api/v1: they are not part of the versioned API). */
export const opsRoutes: FastifyPluginAsync<{ redis: Redis; metrics: CoordinatorMetrics; workers: WorkerDirectory }> = async (app, { redis, metrics, workers }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 1000))]);
      return { status: 'ready' };
    } catch (err) {
      return reply.status(503).send({ status: 'not ready', reason: `Redis: ${(err as Error).message}` });
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/api/v1/workers', async () => ({ workers: await workers.list() }));
};
