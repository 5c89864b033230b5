import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RedisClient } from '../../shared/redis.js';
import { Type } from 'typebox';
import type { CoordinatorMetrics } from '../ops/metrics.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import type { Access } from '../auth/access.js';
import { errorResponses, HealthSchema, NotReadySchema, WorkerListSchema } from './schemas.js';

/** Probes and metrics for operators (outside /api/v1: they are not part of the versioned API). */
export const opsRoutes: FastifyPluginAsync<{ redis: RedisClient; metrics: CoordinatorMetrics; workers: WorkerDirectory; access?: Access }> = async (plain, { redis, metrics, workers, access }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/healthz', { schema: { summary: 'Liveness: the process answers', response: { 200: HealthSchema } }, config: { auth: { public: true } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { summary: 'Readiness: Redis answers within a second', response: { 200: HealthSchema, 503: NotReadySchema } }, config: { auth: { public: true } } }, async (_req, reply) => {
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
    schema: { summary: 'Prometheus metrics (text exposition format)', response: { 200: Type.String({ description: 'Prometheus text format' }), ...errorResponses } },
    config: { auth: { scope: 'metrics', openable: true } },
  }, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get('/api/v1/workers', { schema: { summary: 'The registered worker agents', response: { 200: WorkerListSchema, ...errorResponses } }, config: { auth: { token: true, note: 'lists the workers that serve a project the token may read (or every project)' } } }, async (req) => {
    const all = await workers.list();
    const readable = access && req.principal ? await access.readable(req.principal) : undefined;
    if (readable === undefined) return { workers: all };
    // A worker restricted to projects (info.projects) is shown to those who may read one of them.
    return { workers: all.filter((w) => {
      const served = (w.info as { projects?: unknown }).projects;
      return !Array.isArray(served) || served.includes('*') || served.some((p) => readable.includes(String(p)));
    }) };
  });
};
