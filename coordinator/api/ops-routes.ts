import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import { Type } from 'typebox';
import type { CoordinatorMetrics } from '../ops/metrics.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import { errorResponses, HealthSchema, NotReadySchema, WorkerListSchema } from './schemas.js';

/** Probes and metrics for operators (outside /api/v1: they are not part of the versioned API). */
export const opsRoutes: FastifyPluginAsync<{ redis: Redis; metrics: CoordinatorMetrics; workers: WorkerDirectory }> = async (plain, { redis, metrics, workers }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/healthz', { schema: { summary: 'Liveness: the process answers', response: { 200: HealthSchema } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'Readiness: Redis answers within a second', response: { 200: HealthSchema, 503: NotReadySchema } } }, async (_req, reply) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([redis.ping(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), 1000); })]);
      return { status: 'ready' };
    } catch (err) {
      return reply.status(503).send({ status: 'not ready', reason: `Redis: ${(err as Error).message}` });
    } finally {
      clearTimeout(timer);
    }
  });
  app.get('/metrics', {
    schema: { summary: 'Prometheus metrics (text exposition format)', response: { 200: Type.String({ description: 'Prometheus text format' }) } },
  }, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/api/v1/workers', { schema: { summary: 'The registered worker agents', response: { 200: WorkerListSchema, ...errorResponses } } }, async () => ({ workers: await workers.list() }));
};
