/**
 * MLflow GetMetricHistory: one metric's points of a run in the order they were logged. Without
 * max_results the whole history (MLflow's behaviour), read from the store in bounded chunks; a
 * run's history is bounded by its point cap (a trial's maxMetricPoints, a direct run's 100,000).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { loadRun, runIdOf, type MlflowDeps } from './deps.js';
import { body, decodePageToken, encodePageToken, ERROR_RESPONSES } from './wire.js';

const CHUNK = 10_000;
const MAX_PAGE = 1_000_000;

export async function metricRoutes(app: FastifyInstance, d: MlflowDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/metrics/get-history', {
    schema: {
      summary: 'MLflow GetMetricHistory (no max_results: the whole history)',
      querystring: body({
        run_id: Type.String({ maxLength: 64 }), run_uuid: Type.String({ maxLength: 64 }), metric_key: Type.String({ minLength: 1, maxLength: 250 }),
        max_results: Type.Integer({ minimum: 1, maximum: MAX_PAGE }), page_token: Type.String({ maxLength: 200 }),
      }, ['metric_key']),
      response: {
        200: Type.Object({ metrics: Type.Array(Type.Object({ key: Type.String(), value: Type.Number(), timestamp: Type.Integer(), step: Type.Integer() })), next_page_token: Type.Optional(Type.String()) }),
        ...ERROR_RESPONSES,
      },
    },
    config: { auth: { run: 'viewer', idIn: ['query.run_id', 'query.run_uuid'], runToken: true } },
  }, async (req) => {
    const run = await loadRun(d, req, runIdOf(req.query));
    const key = req.query.metric_key;
    let offset = decodePageToken(req.query.page_token, (v): v is { offset: number } => Number.isSafeInteger(v.offset) && (v.offset as number) >= 0)?.offset ?? 0;
    const want = req.query.max_results ?? MAX_PAGE;
    const metrics: Array<{ key: string; value: number; timestamp: number; step: number }> = [];
    let total = 0;
    do {
      const h = await d.runs.metricHistory(run.id, key, { offset, limit: Math.min(CHUNK, want - metrics.length) });
      total = h.total;
      for (const p of h.points) metrics.push({ key, value: p.value, timestamp: p.timeMs, step: p.step });
      offset += h.points.length;
      if (h.points.length === 0) break;
    } while (metrics.length < want && offset < total);
    return { metrics, ...(offset < total ? { next_page_token: encodePageToken({ offset }) } : {}) };
  });
}
