/**
 * Plot data sized for the screen, computed on the server: the optimisation history (min/max
 * down-sampled above `points`), learning curves of the trials worth looking at (each curve
 * down-sampled), and parameter importance (PED-ANOVA, cached until the count of finished trials
 * changes, over at most IMPORTANCE_MAX_TRIALS trials).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HistoryCache } from '../analysis/history-cache.js';
import { pedAnova } from '../analysis/ped-anova.js';
import { curveTrials, historyPlot, importanceInput } from '../analysis/plots.js';
import { keys } from '../../shared/redis-keys.js';
import type { RedisStudyStore, StudyRecord } from '../store/study-store.js';
import { downsampleMinMax } from './downsample.js';
import { loadStudy } from './studies-routes.js';
import { errorResponses, StudyIdParams } from './schemas.js';

export const IMPORTANCE_MAX_TRIALS = 5000;

const HistoryQuery = Type.Object({
  points: Type.Optional(Type.Integer({ minimum: 10, maximum: 20_000, description: 'must be an integer from 10 to 20000: at most this many points (default 2000)' })),
}, { additionalProperties: false });
const CurvesQuery = Type.Object({
  trials: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'must be an integer from 1 to 500: how many trials (default 50)' })),
  points: Type.Optional(Type.Integer({ minimum: 4, maximum: 5000, description: 'must be an integer from 4 to 5000: points per curve (default 200)' })),
}, { additionalProperties: false });
const HistoryReply = Type.Object({
  sampled: Type.Boolean(),
  points: Type.Array(Type.Object({ number: Type.Integer(), value: Type.Number(), state: Type.String() })),
  best: Type.Array(Type.Object({ number: Type.Integer(), value: Type.Number() })),
});
const CurvesReply = Type.Object({
  sampled: Type.Boolean({ description: 'true when trials were left out or a curve was down-sampled' }),
  curves: Type.Array(Type.Object({ number: Type.Integer(), state: Type.String(), steps: Type.Array(Type.Number()), values: Type.Array(Type.Number()) })),
});
const ImportanceReply = Type.Object({
  method: Type.Literal('ped-anova'),
  finished: Type.Integer({ description: 'finished trials when computed (the cache key)' }),
  trials: Type.Integer({ description: 'completed trials the computation used (at most 5000, evenly spaced)' }),
  importances: Type.Array(Type.Object({ param: Type.String(), importance: Type.Number() })),
});

type Importance = { method: 'ped-anova'; finished: number; trials: number; importances: Array<{ param: string; importance: number }> };

export const plotRoutes: FastifyPluginAsync<{ store: RedisStudyStore; history: HistoryCache }> = async (plain, { store, history }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const importance = new Map<string, Importance>();
  const study = async (req: { study?: StudyRecord; params: { id: string } }) => req.study ?? (await loadStudy(store, req.params.id));

  app.get('/studies/:id/plots/history', {
    schema: { summary: 'Optimisation history: every trial with a value and the best-so-far, min/max down-sampled above `points`', params: StudyIdParams, querystring: HistoryQuery,
      response: { 200: HistoryReply, ...errorResponses } },
    config: { auth: { study: 'viewer' } },
  }, async (req) => {
    const s = await study(req);
    const points = req.query.points ?? 2000;
    return history.derive(s.id, `history:${points}`, (entries) => historyPlot(entries, s.spec.objective.direction, points));
  });

  app.get('/studies/:id/plots/curves', {
    schema: { summary: 'Intermediate objective values of the best and the latest trials (pruned and paused included), each down-sampled to `points`', params: StudyIdParams, querystring: CurvesQuery,
      response: { 200: CurvesReply, ...errorResponses } },
    config: { auth: { study: 'viewer' } },
  }, async (req) => {
    const s = await study(req);
    const want = req.query.trials ?? 50;
    const points = req.query.points ?? 200;
    const metric = s.spec.objective.metric;
    const [ranked, pending, paused] = await Promise.all([
      history.derive(s.id, `best:${want}`, (entries) => curveTrials(entries, [], 0, s.spec.objective.direction, want)),
      store.pendingNumbers(s.id), store.pausedNumbers(s.id)]);
    // The best ones (memoised per history length), then the latest, live ones first.
    const numbers = curveTrials([], [...pending, ...paused], s.created, s.spec.objective.direction, want - Math.ceil(want / 2));
    const chosen = [...new Set([...ranked.slice(0, Math.ceil(want / 2)), ...numbers])];
    for (let n = s.created - 1; n >= 0 && chosen.length < want; n--) if (!chosen.includes(n)) chosen.push(n);
    const selected = chosen.slice(0, want);
    const pipe = store.redis.pipeline();
    for (const n of selected) pipe.hget(keys.trial(store.prefix, s.id, n), 'state').hget(keys.metricCounts(store.prefix, s.id, n), metric);
    const meta = (await pipe.exec()) ?? [];
    let sampled = selected.length < s.created;
    const curves = await Promise.all(selected.map(async (n, i) => {
      const state = meta[2 * i]?.[1] as string | null;
      const count = Number(meta[2 * i + 1]?.[1] ?? 0);
      if (!state) return undefined;
      let series: Array<{ step: number; value: number }>;
      if (count <= points) series = await store.readSeries(s.id, n, metric, 0, -1);
      else {
        sampled = true;
        series = (await downsampleMinMax(count, points, (a, b) => store.readSeries(s.id, n, metric, a, b))).map((x) => x.point);
      }
      return { number: n, state, steps: series.map((p) => p.step), values: series.map((p) => p.value) };
    }));
    return { sampled, curves: curves.filter((c) => c !== undefined) };
  });

  app.get('/studies/:id/plots/importance', {
    schema: { summary: 'Parameter importance (PED-ANOVA, top 10% vs all; normalised to sum 1), cached until the count of finished trials changes', params: StudyIdParams,
      response: { 200: ImportanceReply, ...errorResponses } },
    config: { auth: { study: 'viewer' } },
  }, async (req) => {
    const s = await study(req);
    // The key is the history the result is computed from (its length: the finished count).
    const entries = await history.get(s.id);
    const finished = entries.length;
    const hit = importance.get(s.id);
    if (hit && hit.finished === finished) return hit;
    const input = importanceInput(entries, s.spec.searchSpace, s.spec.objective.direction, IMPORTANCE_MAX_TRIALS);
    const result: Importance = { method: 'ped-anova', finished, trials: input.values.length, importances: pedAnova(input) };
    importance.delete(s.id);
    if (importance.size >= 1000) importance.delete(importance.keys().next().value!);
    importance.set(s.id, result);
    return result;
  });
};
