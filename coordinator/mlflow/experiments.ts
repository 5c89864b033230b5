/**
 * MLflow experiments (service.proto CreateExperiment, GetExperiment, GetExperimentByName,
 * SearchExperiments, UpdateExperiment, DeleteExperiment, RestoreExperiment, SetExperimentTag,
 * DeleteExperimentTag) over Tunehive's experiments and studies; ids are Tunehive's.
 *
 * Which project a new experiment goes to: a `tunehive.project` tag on create, else the token's
 * project when it is limited to one, else `default`. Names are unique per project (MLflow's are
 * global): get-by-name looks in the projects the token may read, preferring that same project.
 * delete/restore are MLflow's soft delete (the lifecycle tag, mapping.ts): the experiment and
 * its runs stay, searchable with view_type DELETED_ONLY or ALL.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { DEFAULT_PROJECT } from '../../shared/study-spec.js';
import type { ExperimentRecord } from '../runs/run-store-contract.js';
import { notFound } from '../auth/access.js';
import { who, type MlflowDeps } from './deps.js';
import { compareExperiments, experimentMatches, parseExperimentFilter, parseExperimentOrder, type ExpView } from './experiment-filter.js';
import { experimentJson, LIFECYCLE_TAG, lifecycleOf } from './mapping.js';
import { body, decodePageToken, doesNotExist, Empty, encodePageToken, ERROR_RESPONSES, KeyValue, MlflowError, missingParam, ViewTypeSchema, type ViewType } from './wire.js';

const Experiment = Type.Object({
  experiment_id: Type.String(), name: Type.String(), artifact_location: Type.String(), lifecycle_stage: Type.String(),
  last_update_time: Type.Integer(), creation_time: Type.Integer(), tags: Type.Array(Type.Object({ key: Type.String(), value: Type.String() })),
});
const ExperimentReply = Type.Object({ experiment: Experiment });
const SearchReply = Type.Object({ experiments: Type.Array(Experiment), next_page_token: Type.Optional(Type.String()) });
const ExpId = Type.String({ minLength: 1, maxLength: 64 });
const SearchFields = {
  max_results: Type.Integer({ minimum: 1, maximum: 50_000 }), page_token: Type.String({ maxLength: 4096 }),
  filter: Type.String({ maxLength: 4000 }), order_by: Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 20 }), view_type: ViewTypeSchema,
};
const byExperiment = (role: 'viewer' | 'editor', from: 'query' | 'body') => ({ experiment: role, idIn: [`${from}.experiment_id`] } as const);
const expNotFound = (id: string) => doesNotExist(`No Experiment with id=${id} exists`);

const view = (e: ExperimentRecord): ExpView => ({ id: e.id, name: e.name, creationTime: e.createdAt, lastUpdateTime: e.lastActivity || e.createdAt, tags: e.tags });
const inView = (e: ExperimentRecord, v: ViewType | undefined) => {
  const stage = lifecycleOf(e.tags);
  return v === 'ALL' || (v === 'DELETED_ONLY' ? stage === 'deleted' : stage === 'active');
};

export async function experimentRoutes(app: FastifyInstance, d: MlflowDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  /** Every experiment the caller may read (a run token: its run's only). */
  const readableExperiments = async (req: FastifyRequest): Promise<ExperimentRecord[]> => {
    const p = who(req);
    if (p.runId !== undefined) {
      const e = await d.runs.getExperiment(p.runId.slice(0, p.runId.indexOf('.')));
      return e ? [e] : [];
    }
    const projects = await d.access.readable(p);
    return (await d.runs.listExperiments(projects, { offset: 0, limit: Number.MAX_SAFE_INTEGER })).experiments;
  };

  r.post('/experiments/create', {
    schema: {
      summary: 'MLflow CreateExperiment: in the tunehive.project tag\'s project, else the token\'s project, else default',
      body: body({ name: Type.String({ maxLength: 500 }), artifact_location: Type.String({ maxLength: 2000 }), tags: Type.Array(KeyValue, { maxItems: 200 }) }),
      response: { 200: Type.Object({ experiment_id: Type.String() }), ...ERROR_RESPONSES },
    },
    config: { auth: { token: true, note: "role editor in the experiment's project (the tunehive.project tag, else the token's project, else default)" } },
  }, async (req) => {
    const p = who(req);
    if (!req.body.name) throw missingParam('name');
    const tags: Record<string, string> = {};
    for (const t of req.body.tags ?? []) tags[t.key] = t.value ?? '';
    const project = tags['tunehive.project'] ?? (p.project !== '*' ? p.project : DEFAULT_PROJECT);
    delete tags['tunehive.project'];
    const description = tags['mlflow.note.content'];
    await d.access.require(p, project, 'editor', notFound('TH_ERR_PROJECT_NOT_FOUND', 'tags.tunehive.project', `no project ${JSON.stringify(project)} (or no access to it): name one with the tag tunehive.project`));
    // artifact_location is accepted and ignored: artifacts live in Tunehive's store (mlflow-artifacts:/<id>).
    const e = await d.runs.createExperiment({ project, name: req.body.name, tags, ...(description !== undefined ? { description } : {}), createdBy: p.owner });
    req.auditTarget = { experimentId: e.id };
    req.authProject = project;
    return { experiment_id: e.id };
  });

  r.get('/experiments/get', {
    schema: { summary: 'MLflow GetExperiment', querystring: body({ experiment_id: ExpId }, ['experiment_id']), response: { 200: ExperimentReply, ...ERROR_RESPONSES } },
    config: { auth: { ...byExperiment('viewer', 'query'), runToken: true } },
  }, async (req) => {
    const e = await d.runs.getExperiment(req.query.experiment_id);
    if (!e) throw expNotFound(req.query.experiment_id);
    return { experiment: experimentJson(e) };
  });

  r.get('/experiments/get-by-name', {
    schema: { summary: 'MLflow GetExperimentByName (RESOURCE_DOES_NOT_EXIST when none: mlflow.set_experiment then creates it)', querystring: body({ experiment_name: Type.String({ minLength: 1, maxLength: 500 }) }, ['experiment_name']), response: { 200: ExperimentReply, ...ERROR_RESPONSES } },
    config: { auth: { token: true, note: 'finds the experiment among those the token may read', runToken: true } },
  }, async (req) => {
    const p = who(req);
    const hits = (await readableExperiments(req)).filter((e) => e.name === req.query.experiment_name);
    const preferred = p.project !== '*' ? p.project : DEFAULT_PROJECT;
    hits.sort((a, b) => Number(b.project === preferred) - Number(a.project === preferred) || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    if (hits.length === 0) throw doesNotExist(`Could not find experiment with name '${req.query.experiment_name}'`);
    return { experiment: experimentJson(hits[0]!) };
  });

  const search = async (req: FastifyRequest, q: { max_results?: number; page_token?: string; filter?: string; order_by?: string[]; view_type?: ViewType }) => {
    const clauses = parseExperimentFilter(q.filter);
    const order = parseExperimentOrder(q.order_by);
    const max = q.max_results ?? 1000;
    const start = decodePageToken(q.page_token, (v): v is { offset: number } => Number.isSafeInteger(v.offset) && (v.offset as number) >= 0)?.offset ?? 0;
    const all = (await readableExperiments(req)).filter((e) => inView(e, q.view_type) && experimentMatches(view(e), clauses));
    all.sort((a, b) => compareExperiments(view(a), view(b), order));
    const page = all.slice(start, start + max);
    const next = start + max < all.length ? encodePageToken({ offset: start + max }) : undefined;
    return { experiments: page.map(experimentJson), ...(next ? { next_page_token: next } : {}) };
  };
  r.post('/experiments/search', {
    schema: { summary: 'MLflow SearchExperiments', body: body(SearchFields), response: { 200: SearchReply, ...ERROR_RESPONSES } },
    config: { auth: { token: true, note: 'only experiments the token may read' } },
  }, async (req) => search(req, req.body));
  r.get('/experiments/search', {
    schema: { summary: 'MLflow SearchExperiments (GET: fields as query parameters)', querystring: body(SearchFields), response: { 200: SearchReply, ...ERROR_RESPONSES } },
    config: { auth: { token: true, note: 'only experiments the token may read' } },
  }, async (req) => search(req, req.query));
  // MLflow 1.x's ListExperiments (removed in 2.0; older clients, the npm `mlflow` package, still call it).
  r.get('/experiments/list', {
    schema: { summary: 'MLflow 1.x ListExperiments (every readable experiment of the view type)', querystring: body({ view_type: ViewTypeSchema, max_results: SearchFields.max_results, page_token: SearchFields.page_token }), response: { 200: SearchReply, ...ERROR_RESPONSES } },
    config: { auth: { token: true, note: 'only experiments the token may read' } },
  }, async (req) => search(req, req.query));

  r.post('/experiments/update', {
    schema: { summary: 'MLflow UpdateExperiment (rename; a study\'s experiment is named by its spec)', body: body({ experiment_id: ExpId, new_name: Type.String({ maxLength: 500 }) }, ['experiment_id']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byExperiment('editor', 'body') },
  }, async (req) => {
    if (req.body.new_name !== undefined && req.body.new_name !== '') await d.runs.updateExperiment(req.body.experiment_id, { name: req.body.new_name });
    return {};
  });

  const setLifecycle = async (id: string, stage: 'deleted' | null) => {
    const e = await d.runs.getExperiment(id);
    if (!e) throw expNotFound(id);
    if (stage === null && lifecycleOf(e.tags) !== 'deleted') throw new MlflowError('INVALID_PARAMETER_VALUE', `Cannot restore an active experiment. Experiment id=${id}`);
    if (stage === 'deleted' && lifecycleOf(e.tags) === 'deleted') throw new MlflowError('INVALID_PARAMETER_VALUE', `Cannot delete an already deleted experiment. Experiment id=${id}`);
    await d.runs.setExperimentTags(id, { [LIFECYCLE_TAG]: stage });
  };
  r.post('/experiments/delete', {
    schema: { summary: 'MLflow DeleteExperiment (soft: restorable; its runs stay)', body: body({ experiment_id: ExpId }, ['experiment_id']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byExperiment('editor', 'body') },
  }, async (req) => {
    await setLifecycle(req.body.experiment_id, 'deleted');
    return {};
  });
  r.post('/experiments/restore', {
    schema: { summary: 'MLflow RestoreExperiment', body: body({ experiment_id: ExpId }, ['experiment_id']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byExperiment('editor', 'body') },
  }, async (req) => {
    await setLifecycle(req.body.experiment_id, null);
    return {};
  });

  r.post('/experiments/set-experiment-tag', {
    schema: { summary: 'MLflow SetExperimentTag', body: body({ experiment_id: ExpId, key: Type.String({ minLength: 1 }), value: Type.String() }, ['experiment_id', 'key']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byExperiment('editor', 'body') },
  }, async (req) => {
    if (req.body.key === LIFECYCLE_TAG) throw new MlflowError('INVALID_PARAMETER_VALUE', `tag ${LIFECYCLE_TAG} is reserved: use experiments/delete and experiments/restore`);
    await d.runs.setExperimentTags(req.body.experiment_id, { [req.body.key]: req.body.value ?? '' });
    return {};
  });
  r.post('/experiments/delete-experiment-tag', {
    schema: { summary: 'MLflow DeleteExperimentTag', body: body({ experiment_id: ExpId, key: Type.String({ minLength: 1 }) }, ['experiment_id', 'key']), response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: byExperiment('editor', 'body') },
  }, async (req) => {
    const e = await d.runs.getExperiment(req.body.experiment_id);
    if (!e) throw expNotFound(req.body.experiment_id);
    if (req.body.key === LIFECYCLE_TAG || !Object.hasOwn(e.tags, req.body.key)) throw doesNotExist(`No tag with name: ${req.body.key} in experiment ${req.body.experiment_id}`);
    await d.runs.setExperimentTags(req.body.experiment_id, { [req.body.key]: null });
    return {};
  });
}
