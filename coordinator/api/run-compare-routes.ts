/**
 * `GET /api/v1/runs/compare?ids=a,b,c` (issue 11): 2 to 20 runs side by side (coordinator/runs/compare.ts).
 * The rule is "any token" because the ids are in the query, not the path: each id is checked here,
 * and one the caller may not read is answered exactly like one that does not exist (404 naming it).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { parseRunId, RUN_STATUSES, type RunView } from '../../shared/run-model.js';
import type { Access } from '../auth/access.js';
import { principal } from '../auth/http-auth.js';
import { COMPARE_LIMITS, compareRunViews } from '../runs/compare.js';
import type { RunStore } from '../runs/run-store-contract.js';
import { errorResponses } from './schemas.js';

export interface RunCompareRouteOptions { runs: RunStore; access?: Access }

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const MAX_IDS_TEXT = COMPARE_LIMITS.maxRuns * 61;

const CompareQuery = Type.Object({
  ids: Type.String({ minLength: 1, maxLength: MAX_IDS_TEXT, description: `${COMPARE_LIMITS.minRuns} to ${COMPARE_LIMITS.maxRuns} run ids separated by commas` }),
}, { additionalProperties: false });

const ValueRow = Type.Object({
  key: Type.String(),
  values: Type.Array(Nullable(Type.String()), { description: 'one per run, in the order of `runs`; null where the run lacks the key' }),
  differs: Type.Boolean({ description: 'the runs disagree (a missing key disagrees with a present one)' }),
});
const MetricSummary = Type.Object({
  latest: Type.Number({ description: "MLflow's latest value (newest timestamp)" }),
  latestStep: Type.Integer(),
  min: Type.Number(), max: Type.Number(),
  count: Type.Integer({ description: 'points stored' }),
  lastStep: Type.Integer({ description: 'step of the last point stored' }),
  truncated: Type.Boolean({ description: 'min and max are over the newest `pointsRead` points only' }),
  pointsRead: Type.Integer(),
});
export const ComparisonSchema = Type.Object({
  runs: Type.Array(Type.Object({
    id: Type.String(), name: Type.String(), experimentId: Type.String(), status: Type.Enum([...RUN_STATUSES]), state: Type.String(),
    startTime: Nullable(Type.Integer()), endTime: Nullable(Type.Integer()),
  })),
  params: Type.Array(ValueRow),
  tags: Type.Array(ValueRow),
  metrics: Type.Array(Type.Object({
    key: Type.String(),
    runs: Type.Array(Nullable(MetricSummary), { description: 'one per run; null where the run lacks the metric' }),
    differs: Type.Boolean({ description: 'the latest values differ (or a run lacks the metric)' }),
  })),
  metricsLeftOut: Type.Integer({ description: `metrics past the first ${COMPARE_LIMITS.maxMetrics} (by name) not summarised` }),
});
export type ComparisonBody = Static<typeof ComparisonSchema>;

const bad = (reason: string) => new TunehiveError('TH_ERR_REQUEST_INVALID', `query.ids: ${reason}`, [{ field: 'query.ids', reason }]);
const unknownRun = (id: string) => {
  const what = `no run with id ${JSON.stringify(id)} (run ids look like <experimentId>.<number> or <experimentId>.r<12 characters>)`;
  return new TunehiveError('TH_ERR_RUN_NOT_FOUND', what, [{ field: 'query.ids', reason: what }]);
};

/** The ids of the query, in order: 2..20 distinct, non-empty. */
export function parseCompareIds(text: string): string[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((s) => s === '')) throw bad('an empty id (ids are separated by single commas: ids=a,b,c)');
  if (ids.length < COMPARE_LIMITS.minRuns || ids.length > COMPARE_LIMITS.maxRuns) {
    throw bad(`must name ${COMPARE_LIMITS.minRuns} to ${COMPARE_LIMITS.maxRuns} runs (got ${ids.length})`);
  }
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw bad(`run ${JSON.stringify(id)} is named twice`);
    seen.add(id);
  }
  return ids;
}

export const runCompareRoutes: FastifyPluginAsync<RunCompareRouteOptions> = async (plain, { runs, access }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/runs/compare', {
    schema: {
      summary: 'Runs side by side: params and tags with the differing keys marked, metric summaries (latest, min, max, count, last step)',
      querystring: CompareQuery,
      response: { 200: ComparisonSchema, ...errorResponses },
    },
    config: { auth: { token: true, note: 'role viewer in the project of every run named; a run the token may not read is a 404 like an unknown one' } },
  }, async (req) => {
    const ids = parseCompareIds(req.query.ids);
    // Malformed ids are unknown ones: no store read for them.
    for (const id of ids) if (!parseRunId(id)) throw unknownRun(id);
    const views = await runs.getRuns(ids);
    const readable = new Map<string, boolean>();
    const found: RunView[] = [];
    for (let i = 0; i < ids.length; i++) {
      const v = views[i];
      let ok = v !== undefined;
      if (v && access) {
        if (!readable.has(v.project)) readable.set(v.project, (await access.roleIn(principal(req), v.project)) !== undefined);
        ok = readable.get(v.project)!;
      }
      if (!ok) throw unknownRun(ids[i]!);
      found.push(v!);
    }
    return compareRunViews(runs, found);
  });
};
