/**
 * GET /studies/:id/table: a study's trials as columns, first whole (sampled above `sample`
 * rows) and then incrementally with the cursors of the previous reply (see
 * coordinator/analysis/study-table.ts for what a reply holds and why it misses nothing).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { StudyTableReader, TABLE_SAMPLE_DEFAULT } from '../analysis/study-table.js';
import type { HistoryCache } from '../analysis/history-cache.js';
import type { RedisStudyStore } from '../store/study-store.js';
import { loadStudy } from './studies-routes.js';
import { errorResponses, StudyIdParams } from './schemas.js';

const Cell = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]);
const NumOrNull = Type.Union([Type.Number(), Type.Null()]);
export const TableQuerySchema = Type.Object({
  afterNumber: Type.Optional(Type.Integer({ minimum: -1, maximum: 1_000_000_000, description: 'must be an integer >= -1: the afterNumber of the previous reply (trials numbered above it are sent)' })),
  afterHistory: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'must be an integer >= 0: the afterHistory of the previous reply (trials finished since are sent)' })),
  sample: Type.Optional(Type.Integer({ minimum: 100, maximum: 200_000, description: `must be an integer from 100 to 200000: above this many rows a first load is a stratified sample (default ${TABLE_SAMPLE_DEFAULT})` })),
}, { additionalProperties: false });
const TableReply = Type.Object({
  afterNumber: Type.Integer({ description: 'cursor: the highest trial number (-1 for none)' }),
  afterHistory: Type.Integer({ description: 'cursor: the length of the completion-ordered history' }),
  total: Type.Integer({ description: 'trials created' }), finished: Type.Integer({ description: 'trials finished' }),
  sampled: Type.Boolean({ description: 'true when rows are a stratified sample (live trials and the best ones always kept)' }),
  paramNames: Type.Array(Type.String()),
  rows: Type.Object({
    number: Type.Array(Type.Integer()), state: Type.Array(Type.String()), value: Type.Array(NumOrNull),
    params: Type.Record(Type.String(), Type.Array(Cell)), startedAt: Type.Array(NumOrNull), finishedAt: Type.Array(NumOrNull),
  }),
});

export const studyTableRoutes: FastifyPluginAsync<{ store: RedisStudyStore; history: HistoryCache }> = async (plain, { store, history }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const reader = new StudyTableReader(store.redis, store.prefix, history);
  app.get('/studies/:id/table', {
    schema: {
      summary: "A study's trials as columns; with the previous reply's afterNumber/afterHistory only what changed (new, finished since, pending or paused now)",
      params: StudyIdParams, querystring: TableQuerySchema, response: { 200: TableReply, ...errorResponses },
    },
    config: { auth: { study: 'viewer' } },
  }, async (req, reply) => {
    const study = req.study ?? (await loadStudy(store, req.params.id));
    const table = await reader.read(study.id, study.spec.objective.direction, req.query);
    // Serialised here: the schema's per-cell unions make the compiled serialiser check every cell
    // of 20,000-row columns against each branch (several times slower than JSON.stringify).
    return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').serializer(JSON.stringify).send(table);
  });
};
