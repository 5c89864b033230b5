/**
 * Experiments (issue 11): a project's plain experiments and its studies (a study is an
 * experiment whose id is its study id). Listing shows both, with a study's progress, state and
 * best value; a plain experiment is deleted with its runs here, a study's with its study.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { ProjectNameSchema, TagsSchema } from '../../shared/study-spec.js';
import { RUN_LIMITS } from '../../shared/run-model.js';
import type { Access } from '../auth/access.js';
import { principal, projectNotFound } from '../auth/http-auth.js';
import type { StudyDeleter } from '../lifecycle/study-deletion.js';
import type { RedisRunStore } from '../runs/redis-run-store.js';
import type { ExperimentRecord } from '../runs/run-store-contract.js';
import { page } from './pagination.js';
import { errorResponses, PageQuery } from './schemas.js';

export interface ExperimentRouteOptions { runs: RedisRunStore; access?: Access; deleter?: StudyDeleter }

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ description: 'ISO 8601 time' });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64, description: 'an experiment id (a study id, or a plain experiment\'s)' }) });
const Name = Type.String({ minLength: 1, maxLength: RUN_LIMITS.nameLength, description: `must be a name of 1 to ${RUN_LIMITS.nameLength} characters` });
const Description = Type.String({ maxLength: 10_000, description: 'must be a string of at most 10000 characters' });
const TagPatch = Type.Record(Type.String({ minLength: 1, maxLength: RUN_LIMITS.tagKeyLength }), Nullable(Type.String({ maxLength: RUN_LIMITS.tagValueLength })), {
  maxProperties: RUN_LIMITS.tagsPerRun, description: 'must be an object of tag -> string (null deletes the tag)',
});

export const ExperimentViewSchema = Type.Object({
  id: Type.String(), project: Type.String(), name: Type.String(),
  kind: Type.Union([Type.Literal('study'), Type.Literal('plain')], { description: '`study` when a search is attached (its id is the study\'s)' }),
  tags: Type.Record(Type.String(), Type.String()), description: Type.String(),
  createdAt: Time, lastActivity: Time, runCount: Type.Integer(),
  state: Type.String({ description: "a study's state; ACTIVE for a plain experiment" }),
  progress: Nullable(Type.Object({ created: Type.Integer(), maxTrials: Type.Integer(), completed: Type.Integer(), running: Type.Integer(), failed: Type.Integer(), pruned: Type.Integer() })),
  best: Nullable(Type.Object({ runId: Type.String(), value: Type.Number(), metric: Type.String(), direction: Type.String() })),
});
const ExperimentPage = Type.Object({ total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer(), experiments: Type.Array(ExperimentViewSchema) });

export const experimentRoutes: FastifyPluginAsync<ExperimentRouteOptions> = async (plain, { runs, access, deleter }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  const view = async (e: ExperimentRecord) => {
    const study = e.kind === 'study' ? await runs.study(e.id) : undefined;
    return {
      ...e, createdAt: new Date(e.createdAt).toISOString(), lastActivity: new Date(e.lastActivity).toISOString(),
      state: study?.state ?? 'ACTIVE',
      progress: study ? { created: study.created, maxTrials: study.spec.maxTrials, completed: study.counts.completed, running: study.counts.running, failed: study.counts.failed, pruned: study.counts.pruned } : null,
      best: study?.best ? { runId: `${study.id}.${study.best.number}`, value: study.best.value, metric: study.spec.objective.metric, direction: study.spec.objective.direction } : null,
    };
  };
  const load = async (id: string) => {
    const e = await runs.getExperiment(id);
    if (!e) throw new TunehiveError('TH_ERR_EXPERIMENT_NOT_FOUND', `no experiment with id ${JSON.stringify(id)}`, [{ field: 'params.id', reason: `no experiment with id ${JSON.stringify(id)}` }]);
    return e;
  };

  app.post('/experiments', {
    schema: {
      summary: 'Create a plain experiment (studies are experiments already)',
      body: Type.Object({ project: ProjectNameSchema, name: Name, description: Type.Optional(Description), tags: Type.Optional(TagsSchema) }, { additionalProperties: false }),
      response: { 201: ExperimentViewSchema, ...errorResponses },
    },
    config: { auth: { token: true, note: 'role editor in the body\'s `project`' } },
  }, async (req, reply) => {
    const b = req.body;
    if (access) {
      await access.require(principal(req), b.project, 'editor', projectNotFound(b.project, 'project'));
      req.authProject = b.project;
    }
    const e = await runs.createExperiment({ project: b.project, name: b.name, createdBy: principal(req).owner, ...(b.tags ? { tags: b.tags } : {}), ...(b.description !== undefined ? { description: b.description } : {}) });
    req.auditTarget = { experimentId: e.id };
    return reply.status(201).send(await view(e));
  });

  app.get('/experiments', {
    schema: {
      summary: "A project's experiments, studies included, newest activity first",
      querystring: Type.Object({
        ...PageQuery.properties,
        project: Type.Optional(ProjectNameSchema),
        name: Type.Optional(Type.String({ maxLength: 250, description: 'only experiments whose name contains this (case-insensitive)' })),
      }, { additionalProperties: false }),
      response: { 200: ExperimentPage, ...errorResponses },
    },
    config: { auth: { token: true, note: 'lists only the experiments of projects the token may read' } },
  }, async (req) => {
    const { offset, limit } = page(req.query);
    let projects = access ? await access.readable(principal(req)) : undefined;
    if (req.query.project !== undefined) projects = projects === undefined || projects.includes(req.query.project) ? [req.query.project] : [];
    const r = await runs.listExperiments(projects, { offset, limit, ...(req.query.name ? { nameContains: req.query.name } : {}) });
    return { total: r.total, offset, limit, experiments: await Promise.all(r.experiments.map(view)) };
  });

  app.get('/experiments/:id', {
    schema: { summary: 'One experiment', params: IdParams, response: { 200: ExperimentViewSchema, ...errorResponses } },
    config: { auth: { experiment: 'viewer' } },
  }, async (req) => view(await load(req.params.id)));

  app.patch('/experiments/:id', {
    schema: {
      summary: "Rename a plain experiment, change its description, set or delete tags (null deletes; a study's spec tags can be hidden)",
      params: IdParams,
      body: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Description), tags: Type.Optional(TagPatch) }, { additionalProperties: false }),
      response: { 200: ExperimentViewSchema, ...errorResponses },
    },
    config: { auth: { experiment: 'editor' } },
  }, async (req) => {
    const { name, description, tags } = req.body;
    if (name !== undefined || description !== undefined) await runs.updateExperiment(req.params.id, { ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) });
    if (tags) await runs.setExperimentTags(req.params.id, tags);
    return view(await load(req.params.id));
  });

  app.delete('/experiments/:id', {
    schema: {
      summary: "Delete an experiment with all its runs (a study's: the study is deleted, as DELETE /studies/:id, which needs role owner)",
      params: IdParams,
      querystring: Type.Object({ force: Type.Optional(Type.Boolean({ description: 'a RUNNING study is stopped first' })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ id: Type.String(), kind: Type.String(), runs: Type.Integer(), keys: Type.Integer() }), ...errorResponses },
    },
    config: { auth: { experiment: 'editor' } },
  }, async (req) => {
    const e = await load(req.params.id);
    req.auditTarget = { experimentId: e.id };
    if (e.kind === 'study') {
      // As DELETE /studies/:id: deleting a study needs its project's owner.
      if (access) await access.require(principal(req), e.project, 'owner', () => new TunehiveError('TH_ERR_EXPERIMENT_NOT_FOUND', `no experiment with id ${JSON.stringify(e.id)}`, [{ field: 'params.id', reason: 'no such experiment' }]));
      if (!deleter) throw new TunehiveError('TH_ERR_STUDY_MODE', 'delete the study with DELETE /api/v1/studies/:id', [{ field: 'params.id', reason: "a study's experiment is deleted with its study" }]);
      const r = await deleter.delete(e.id, { force: req.query.force === true });
      return { id: e.id, kind: e.kind, runs: e.runCount, keys: r.keys };
    }
    const r = await runs.deleteExperiment(e.id);
    return { id: e.id, kind: e.kind, runs: r.runs, keys: r.keys };
  });
};
