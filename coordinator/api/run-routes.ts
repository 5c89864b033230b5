/**
 * Runs (issue 11): created directly by any client (nested with parentRunId), read, tagged,
 * noted, given params once and metrics as series; found with MLflow's filter grammar
 * (`GET /api/v1/runs`), paged with keyset tokens, or exported whole as CSV or JSON, streamed
 * page by page so memory stays bounded whatever the result's size.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import type { Filter, OrderKey } from '../../shared/run-filter/ast.js';
import { parseFilter, parseOrderBy } from '../../shared/run-filter/parse-filter.js';
import { RUN_LIMITS, RUN_STATUSES, RunViewSchema, type RunView } from '../../shared/run-model.js';
import { TagsSchema } from '../../shared/study-spec.js';
import type { Access } from '../auth/access.js';
import { principal } from '../auth/http-auth.js';
import type { RedisRunStore } from '../runs/redis-run-store.js';
import type { RunSearch } from '../runs/run-store-contract.js';
import { csvLine, exportColumns, runCells } from '../runs/run-export.js';
import { errorResponses } from './schemas.js';

export interface RunRouteOptions { runs: RedisRunStore; access?: Access }

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const RunId = Type.Object({ id: Type.String({ maxLength: 64, description: 'a run id: <experimentId>.<number> (a trial) or <experimentId>.r<12 characters>' }) });
const MetricParams = Type.Object({ id: RunId.properties.id, name: Type.String({ maxLength: 200, description: 'metric name' }) });
const Status = Type.Enum([...RUN_STATUSES], { description: `must be one of ${RUN_STATUSES.join(', ')}` });
const Ms = Type.Integer({ minimum: 0, maximum: 8.64e15, description: 'ms since the epoch' });
const ParamValues = Type.Record(Type.String({ minLength: 1, maxLength: RUN_LIMITS.paramKeyLength }), Type.String({ maxLength: RUN_LIMITS.paramValueLength, description: `must be a string of at most ${RUN_LIMITS.paramValueLength} characters` }), {
  maxProperties: RUN_LIMITS.paramsPerRun, description: `must be an object of at most ${RUN_LIMITS.paramsPerRun} params, key -> string value`,
});
const TagPatch = Type.Record(Type.String({ minLength: 1, maxLength: RUN_LIMITS.tagKeyLength }), Nullable(Type.String({ maxLength: RUN_LIMITS.tagValueLength })), {
  maxProperties: RUN_LIMITS.tagsPerRun, description: 'must be an object of tag -> string (null deletes the tag)',
});
const StringOrList = (description: string, max: number) => Type.Union([Type.String({ maxLength: max }), Type.Array(Type.String({ maxLength: max }), { maxItems: 50 })], { description });
const SearchQuery = Type.Object({
  filter: Type.Optional(Type.String({ maxLength: 4000, description: "MLflow's filter grammar, e.g. metrics.f1 > 0.9 and params.model = 'rf'" })),
  orderBy: Type.Optional(StringOrList('order keys (repeated or comma-separated), e.g. metrics.f1 DESC', 4000)),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'runs per page, 1 to 1000 (default 100)' })),
  pageToken: Type.Optional(Type.String({ maxLength: 24 * 1024, description: 'the nextPageToken of the previous page' })),
  experiment: Type.Optional(StringOrList('only these experiments (repeated or comma-separated ids)', 2000)),
  format: Type.Optional(Type.Enum(['json', 'csv'], { description: 'export every matching run (not one page), streamed: csv or a JSON array' })),
}, { additionalProperties: false });
const HistoryQuery = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0, description: 'index of the first point (default 0)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'points per page, 1 to 10000 (default 1000)' })),
}, { additionalProperties: false });
const Point = Type.Object({ step: Type.Integer(), value: Type.Number(), timestamp: Type.Integer() });

const invalidFilter = (field: string, reason: string) => new TunehiveError('TH_ERR_FILTER_INVALID', `${field}: ${reason}`, [{ field, reason }]);
const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : [v]));

/** The filter and order of a search request, or a 400 that gives the position and what was expected there. */
export function parseSearch(q: { filter?: string | undefined; orderBy?: string | string[] | undefined }): { filter: Filter | undefined; orderBy: OrderKey[] } {
  const f = parseFilter(q.filter ?? '');
  if (!f.ok) throw invalidFilter('query.filter', `at position ${f.error.position}: expected ${f.error.expected}`);
  // Order items may be repeated or comma-separated; commas never occur inside an item's key unquoted.
  const items = list(q.orderBy).flatMap(splitOrderItems).filter((s) => s.trim() !== '');
  const o = parseOrderBy(items);
  if (!o.ok) throw invalidFilter('query.orderBy', `item ${o.error.index + 1} (${JSON.stringify(items[o.error.index] ?? '')}) at position ${o.error.position}: expected ${o.error.expected}`);
  return { filter: f.filter, orderBy: o.keys };
}

/** Splits "a DESC, `b,c` ASC" at commas outside backticks and quotes. */
function splitOrderItems(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      cur += ch;
    } else if (ch === '`' || ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export const runRoutes: FastifyPluginAsync<RunRouteOptions> = async (plain, { runs, access }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const load = async (id: string): Promise<RunView> => {
    const r = await runs.getRun(id);
    if (!r) throw new TunehiveError('TH_ERR_RUN_NOT_FOUND', `no run with id ${JSON.stringify(id)}`, [{ field: 'params.id', reason: `no run with id ${JSON.stringify(id)}` }]);
    return r;
  };

  app.post('/runs', {
    schema: {
      summary: 'Create a run in an experiment (a plain one or a study\'s), optionally nested under a parent run',
      body: Type.Object({
        experimentId: Type.String({ maxLength: 64, description: 'the experiment (or study) id' }),
        name: Type.Optional(Type.String({ maxLength: RUN_LIMITS.nameLength })),
        parentRunId: Type.Optional(Type.String({ maxLength: 64, description: 'a run of the same project' })),
        params: Type.Optional(ParamValues), tags: Type.Optional(TagsSchema), startTime: Type.Optional(Ms), status: Type.Optional(Status),
      }, { additionalProperties: false }),
      response: { 201: RunViewSchema, ...errorResponses },
    },
    config: { auth: { token: true, note: "role editor in the project of the body's `experimentId`" } },
  }, async (req, reply) => {
    const b = req.body;
    const notFound = () => new TunehiveError('TH_ERR_EXPERIMENT_NOT_FOUND', `no experiment with id ${JSON.stringify(b.experimentId)}`, [{ field: 'experimentId', reason: 'no such experiment (or no access to it)' }]);
    const project = await runs.experimentProject(b.experimentId);
    if (!project) throw notFound();
    if (access) await access.require(principal(req), project, 'editor', notFound);
    req.authProject = project;
    const run = await runs.createRun({
      experimentId: b.experimentId, createdBy: principal(req).owner, ...(b.name !== undefined ? { name: b.name } : {}), ...(b.parentRunId ? { parentRunId: b.parentRunId } : {}),
      ...(b.params ? { params: b.params } : {}), ...(b.tags ? { tags: b.tags } : {}), ...(b.startTime !== undefined ? { startTime: b.startTime } : {}), ...(b.status ? { status: b.status } : {}),
    });
    req.auditTarget = { runId: run.id };
    return reply.status(201).send(run);
  });

  app.get('/runs', {
    schema: {
      summary: "Search runs with MLflow's filter grammar across every experiment the token may read; ?format=csv|json exports all matches, streamed",
      querystring: SearchQuery,
      response: { 200: Type.Object({ runs: Type.Array(RunViewSchema), nextPageToken: Nullable(Type.String()) }), ...errorResponses },
    },
    config: { auth: { token: true, note: 'searches only the experiments of projects the token may read' } },
  }, async (req, reply) => {
    const { filter, orderBy } = parseSearch(req.query);
    const projects = access ? await access.readable(principal(req)) : undefined;
    const experimentIds = list(req.query.experiment).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
    for (const id of experimentIds) {
      const project = await runs.experimentProject(id);
      if (!project || (projects !== undefined && !projects.includes(project))) {
        throw new TunehiveError('TH_ERR_EXPERIMENT_NOT_FOUND', `no experiment with id ${JSON.stringify(id)}`, [{ field: 'query.experiment', reason: `no experiment with id ${JSON.stringify(id)} (or no access to it)` }]);
      }
    }
    const q: RunSearch = { projects, filter, orderBy, pageSize: req.query.pageSize ?? 100, ...(req.query.pageToken ? { pageToken: req.query.pageToken } : {}), ...(experimentIds.length ? { experimentIds } : {}) };
    const format = req.query.format;
    if (!format) return runs.search(q);
    // Fail before the first byte: a bad page token is still a 400.
    const first = await runs.search({ ...q, pageSize: 500 });
    const columns = format === 'csv' ? await exportColumns(runs, q) : undefined;
    async function* body(): AsyncGenerator<string> {
      let pageRuns = first.runs;
      let token = first.nextPageToken;
      let n = 0;
      if (columns) yield csvLine(columns.map((c) => c.header));
      else yield '[';
      for (let pages = 0; ; pages++) {
        for (const r of pageRuns) {
          yield columns ? csvLine(runCells(r, columns)) : `${n === 0 ? '' : ','}\n${JSON.stringify(r)}`;
          n++;
        }
        if (!token) break;
        ({ runs: pageRuns, nextPageToken: token } = await runs.search({ ...q, pageSize: 500, pageToken: token }));
      }
      if (!columns) yield '\n]\n';
    }
    void reply.header('content-disposition', `attachment; filename="runs.${format}"`);
    void reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8');
    // A stream is sent as it is (the 200 schema serialises the page form only).
    return reply.send(Readable.from(body()) as never);
  });

  app.get('/runs/:id', {
    schema: { summary: 'One run (a trial run or a direct run)', params: RunId, response: { 200: RunViewSchema, ...errorResponses } },
    config: { auth: { run: 'viewer' } },
  }, async (req) => load(req.params.id));

  app.patch('/runs/:id', {
    schema: {
      summary: "Set or delete tags (null deletes), the note, the name; a direct run's status and end time",
      params: RunId,
      body: Type.Object({
        tags: Type.Optional(TagPatch), note: Type.Optional(Type.String({ maxLength: RUN_LIMITS.noteBytes, description: 'Markdown' })),
        name: Type.Optional(Type.String({ maxLength: RUN_LIMITS.nameLength })), status: Type.Optional(Status), endTime: Type.Optional(Ms),
      }, { additionalProperties: false }),
      response: { 200: RunViewSchema, ...errorResponses },
    },
    config: { auth: { run: 'editor' } },
  }, async (req) => {
    const { tags, ...rest } = req.body;
    req.auditTarget = { runId: req.params.id };
    if (tags) await runs.setTags(req.params.id, tags);
    const patch = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    return Object.keys(patch).length > 0 ? runs.updateRun(req.params.id, patch) : load(req.params.id);
  });

  app.post('/runs/:id/params', {
    schema: {
      summary: "Log params of a direct run: each is set once (another value for one already set is a 409 and nothing of the call is applied)",
      params: RunId, body: Type.Object({ params: ParamValues }, { additionalProperties: false }), response: { 200: RunViewSchema, ...errorResponses },
    },
    config: { auth: { run: 'editor' } },
  }, async (req) => {
    await runs.logParams(req.params.id, req.body.params);
    return load(req.params.id);
  });

  app.post('/runs/:id/metrics', {
    schema: {
      summary: 'Log metric points of a direct run (appended to each metric\'s series)',
      params: RunId,
      body: Type.Object({
        metrics: Type.Array(Type.Object({
          name: Type.String({ maxLength: 200 }), value: Type.Number(), step: Type.Optional(Type.Integer({ minimum: 0 })), timestamp: Type.Optional(Ms),
        }, { additionalProperties: false }), { minItems: 1, maxItems: 10_000, description: 'must be 1 to 10000 points {name, value, step?, timestamp?}' }),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ runId: Type.String(), stored: Type.Integer() }), ...errorResponses },
    },
    config: { auth: { run: 'editor' } },
  }, async (req) => {
    const now = Date.now();
    const points = req.body.metrics.map((m) => ({ name: m.name, value: m.value, step: m.step ?? 0, timeMs: m.timestamp ?? now }));
    await runs.logMetrics(req.params.id, points);
    return { runId: req.params.id, stored: points.length };
  });

  app.get('/runs/:id/metrics/:name', {
    schema: {
      summary: "One metric's history (MLflow's get-history), paged in stored order",
      params: MetricParams, querystring: HistoryQuery,
      response: { 200: Type.Object({ runId: Type.String(), name: Type.String(), total: Type.Integer(), points: Type.Array(Point), next: Nullable(Type.Integer({ description: '`offset` of the next page; null on the last' })) }), ...errorResponses },
    },
    config: { auth: { run: 'viewer' } },
  }, async (req) => {
    await load(req.params.id);
    const offset = req.query.offset ?? 0;
    const limit = req.query.limit ?? 1000;
    const h = await runs.metricHistory(req.params.id, req.params.name, { offset, limit });
    const next = offset + h.points.length < h.total ? offset + h.points.length : null;
    return { runId: req.params.id, name: req.params.name, total: h.total, points: h.points.map((p) => ({ step: p.step, value: p.value, timestamp: p.timeMs })), next };
  });

  app.delete('/runs/:id', {
    schema: { summary: "Delete a direct run with its metrics, params, tags and provenance (a trial run goes with its study)", params: RunId, response: { 200: Type.Object({ id: Type.String(), deleted: Type.Boolean() }), ...errorResponses } },
    config: { auth: { run: 'editor' } },
  }, async (req) => {
    await load(req.params.id);
    req.auditTarget = { runId: req.params.id };
    return { id: req.params.id, deleted: await runs.deleteRun(req.params.id) };
  });
};
