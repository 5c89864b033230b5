/**
 * Trials and their metric series. A trial's GET carries per-metric counts and last values only;
 * series are read per metric, a page (LRANGE range) at a time or down-sampled over the whole
 * series, so no request ever holds a huge series in memory.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { parseTrialId } from '../../shared/redis-keys.js';
import type { TrialRecord } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import { downsampleMinMax } from './downsample.js';
import type { RouteOptions } from './studies-routes.js';
import { pointView, trialView } from './views.js';

export const SERIES_LIMITS = { pageDefault: 1000, pageMax: 10_000, maxPointsMax: 10_000 } as const;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

const TrialParams = Type.Object({ id: Type.String({ maxLength: 64, description: 'trial id: <studyId>.<number>' }) });
const SeriesParams = Type.Object({
  id: Type.String({ maxLength: 64, description: 'trial id: <studyId>.<number>' }),
  name: Type.String({ maxLength: 200, description: 'metric name' }),
});
const SeriesQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'index of the first point to return: the `next` of the previous page (default 0)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SERIES_LIMITS.pageMax, description: `points per page (default ${SERIES_LIMITS.pageDefault})` })),
  maxPoints: Type.Optional(Type.Integer({ minimum: 2, maximum: SERIES_LIMITS.maxPointsMax,
    description: 'down-sample the whole series to at most this many points (min/max per bucket); `after` and `limit` do not apply' })),
}, { additionalProperties: false });

const Point = Type.Object({
  index: Type.Integer({ description: 'position in the series' }),
  step: Type.Integer(), value: Type.Number(), attempt: Type.Integer(), time: Type.String({ description: 'ISO 8601' }),
});
const MetricSummary = Type.Object({ count: Type.Integer(), last: Nullable(Point) });
const Trial = Type.Object({
  id: Type.String(), studyId: Type.String(), number: Type.Integer(), state: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  value: Nullable(Type.Number()),
  lastObjective: Nullable(Type.Object({ value: Type.Number(), step: Type.Number() })),
  attempt: Type.Integer(), workerId: Nullable(Type.String()), reason: Nullable(Type.String()), lastReason: Nullable(Type.String()),
  exitCode: Nullable(Type.Number()), stderrTail: Nullable(Type.String()), budget: Nullable(Type.Number()),
  checkpoint: Nullable(Type.Object({ id: Type.String(), step: Type.Number() })),
  stopLatencyMs: Nullable(Type.Number()), hardware: Type.Unknown(),
  createdAt: Type.String(), startedAt: Nullable(Type.String()), finishedAt: Nullable(Type.String()),
  points: Type.Integer({ description: 'metric points stored' }),
  pointsDropped: Type.Integer({ description: 'metric points refused past spec.limits.maxMetricPoints' }),
  metrics: Type.Record(Type.String(), MetricSummary, { description: 'per metric name: points stored and the last one' }),
// Other views may add fields; the schema must not silently strip them.
}, { additionalProperties: true });
const MetricList = Type.Object({
  trialId: Type.String(), points: Type.Integer(), pointsDropped: Type.Integer(),
  metrics: Type.Array(Type.Object({ name: Type.String(), count: Type.Integer() })),
});
const SeriesPage = Type.Object({
  trialId: Type.String(), name: Type.String(), count: Type.Integer({ description: 'points in the whole series' }),
  downsampled: Nullable(Type.Literal('min-max', { description: 'each of maxPoints/2 buckets of consecutive points keeps its min and its max' })),
  points: Type.Array(Point),
  next: Nullable(Type.Integer({ description: '`after` of the next page; null on the last page' })),
});
const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), fields: Type.Array(Type.Object({ field: Type.String(), reason: Type.String() })) }),
});

export type TrialBody = Static<typeof Trial>;
export type SeriesPageBody = Static<typeof SeriesPage>;

async function loadTrial(store: StudyStore, id: string): Promise<TrialRecord> {
  const ids = parseTrialId(id);
  const trial = ids && (await store.getTrial(ids.studyId, ids.number));
  if (!trial) throw new TunehiveError('TH_ERR_TRIAL_NOT_FOUND', `no trial with id ${JSON.stringify(id)} (trial ids look like <studyId>.<number>)`);
  return trial;
}

export const trialRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { store }) => {
  app.get('/trials/:id', {
    schema: { summary: 'A trial, with per-metric counts and last values (series: /trials/:id/metrics/:name)', params: TrialParams,
      response: { 200: Trial, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody } },
    config: { auth: { trial: 'viewer' } },
  }, async (req) => {
    const trial = await loadTrial(store, req.params.id);
    const counts = await store.metricCounts(trial.studyId, trial.number);
    const last = await store.lastPoints(trial.studyId, trial.number, [...counts.keys()]);
    // No prototype: a metric may well be called "constructor".
    const metrics: Record<string, Static<typeof MetricSummary>> = Object.create(null);
    for (const [name, count] of counts) {
      const p = last.get(name);
      metrics[name] = { count, last: p ? pointView(p, count - 1) : null };
    }
    return { ...trialView(trial), hardware: trial.hardware ?? null, lastReason: trial.lastReason ?? null,
      points: trial.points, pointsDropped: trial.pointsDropped, metrics };
  });

  app.get('/trials/:id/metrics', {
    schema: { summary: "A trial's metric names with their point counts", params: TrialParams, response: { 200: MetricList, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody } },
    config: { auth: { trial: 'viewer' } },
  }, async (req) => {
    const trial = await loadTrial(store, req.params.id);
    const counts = await store.metricCounts(trial.studyId, trial.number);
    return { trialId: trial.id, points: trial.points, pointsDropped: trial.pointsDropped,
      metrics: [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
  });

  app.get('/trials/:id/metrics/:name', {
    schema: { summary: 'One metric series of a trial: a page of points, or the whole series down-sampled (?maxPoints=N, min/max buckets)',
      params: SeriesParams, querystring: SeriesQuery, response: { 200: SeriesPage, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody } },
    config: { auth: { trial: 'viewer' } },
  }, async (req) => {
    const trial = await loadTrial(store, req.params.id);
    const { name } = req.params;
    const count = (await store.metricCounts(trial.studyId, trial.number)).get(name);
    if (count === undefined) throw new TunehiveError('TH_ERR_METRIC_NOT_FOUND', `trial ${trial.id} has no metric ${JSON.stringify(name.slice(0, 200))}`, [{ field: 'params.name', reason: 'no such metric in this trial' }]);
    const read = (start: number, stop: number) => store.readSeries(trial.studyId, trial.number, name, start, stop);
    const { maxPoints } = req.query;
    if (maxPoints !== undefined) {
      if (req.query.after !== undefined || req.query.limit !== undefined) {
        throw new TunehiveError('TH_ERR_REQUEST_INVALID', 'maxPoints down-samples the whole series: drop after and limit', [{ field: 'query.maxPoints', reason: 'cannot be combined with after or limit' }]);
      }
      const points = count <= maxPoints
        ? (await read(0, count - 1)).map((p, i) => pointView(p, i))
        : (await downsampleMinMax(count, maxPoints, read)).map(({ index, point }) => pointView(point, index));
      return { trialId: trial.id, name, count, downsampled: count <= maxPoints ? null : 'min-max' as const, points, next: null };
    }
    const after = req.query.after ?? 0;
    const limit = req.query.limit ?? SERIES_LIMITS.pageDefault;
    const rows = after < count ? await read(after, Math.min(count, after + limit) - 1) : [];
    const end = after + rows.length;
    return { trialId: trial.id, name, count, downsampled: null, points: rows.map((p, i) => pointView(p, after + i)), next: end < count ? end : null };
  });
};
