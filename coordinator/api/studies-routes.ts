import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { invalidSpec, TunehiveError } from '../../shared/errors.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import { SAMPLERS } from '../search/registry.js';
import { STUDY_ID } from '../../shared/redis-keys.js';
import { StudySpecInputSchema, type StudySpec } from '../../shared/study-spec.js';
import type { StudyRecord } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { StudyRunner } from '../runner/study-runner.js';
import { validateStudy } from '../study-validation.js';
import { isKatibExperiment, studyFromKatib } from '../katib/index.js';
import type { Access } from '../auth/access.js';
import { principal, projectNotFound } from '../auth/http-auth.js';
import { page } from './pagination.js';
import { trialPage } from './trial-listing.js';
import { studyView, trialView } from './views.js';
import {
  AlgorithmListSchema, errorResponses, StudyIdParams, StudyListQuery, StudyPageSchema, StudyViewSchema, TrialPageSchema, TrialsQuery,
} from './schemas.js';

export interface RouteOptions { store: StudyStore; runner: StudyRunner; workers?: WorkerDirectory; access?: Access }

export async function loadStudy(store: StudyStore, id: string): Promise<StudyRecord> {
  const study = STUDY_ID.test(id) ? await store.getStudy(id) : undefined;
  if (!study) throw new TunehiveError('TH_ERR_STUDY_NOT_FOUND', `no study with id ${JSON.stringify(id)}`, [{ field: 'params.id', reason: `no study with id ${JSON.stringify(id)}` }]);
  return study;
}

export const studyRoutes: FastifyPluginAsync<RouteOptions> = async (plain, { store, runner, workers, access }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const withBest = async (s: StudyRecord) => studyView(s, s.best ? await store.getTrial(s.id, s.best.number) : undefined);
  // The auth hook has loaded (and authorised) the study a study-scoped route names.
  const theStudy = (req: { study?: StudyRecord; params: { id: string } }) => req.study ?? loadStudy(store, req.params.id);

  app.post('/studies', {
    config: { auth: { token: true, note: 'role editor in the spec\'s `project` (default "default")' } },
    schema: {
      summary: 'Create a study (JSON or YAML body): a Tunehive spec, or a Katib Experiment (apiVersion kubeflow.org/v1beta1, kind Experiment)',
      body: StudySpecInputSchema,
      response: { 201: StudyViewSchema, ...errorResponses },
    },
    // The spec's structure and its semantic rules are checked in one pass by parseStudySpec,
    // the same entry point the CLI and YAML files use, so every problem is reported at once
    // with the same words; the handler gets the spec with its defaults (and a stored seed).
    validatorCompiler: () => (data: unknown) => {
      try {
        // A Katib Experiment (apiVersion kubeflow.org/..., kind Experiment) is mapped field by field.
        if (isKatibExperiment(data)) {
          const k = studyFromKatib(data);
          if (!k.ok) throw invalidSpec(k.refusals);
          return { value: k.spec };
        }
        return { value: validateStudy(data) };
      } catch (err) {
        return { error: err as Error };
      }
    },
  }, async (req, reply) => {
    const spec = req.body as unknown as StudySpec;
    if (access) {
      // A project the caller cannot read is answered like one that does not exist.
      await access.require(principal(req), spec.project, 'editor', projectNotFound(spec.project, 'project'));
      req.authProject = spec.project;
    }
    // With a known fleet, a trial no machine can ever fit is refused now rather than queued forever.
    const wanted = spec.trial?.gpus ?? 0;
    if (wanted > 0 && workers) {
      const fleet = await workers.list();
      const largest = Math.max(0, ...fleet.map((w) => w.info.gpus ?? 0));
      if (fleet.length > 0 && wanted > largest) {
        throw invalidSpec([{ field: 'trial.gpus', reason: `no worker has ${wanted} GPUs (the largest of the ${fleet.length} registered has ${largest})` }]);
      }
    }
    const study = await store.createStudy(spec);
    req.auditTarget = { studyId: study.id };
    req.log.info({ studyId: study.id, name: spec.name, algorithm: spec.algorithm.name }, 'study created');
    runner.kick(study.id);
    return reply.status(201).send(studyView(study));
  });

  app.get('/studies', {
    schema: { summary: 'List studies, newest first (only those of projects the token may read)', querystring: StudyListQuery, response: { 200: StudyPageSchema, ...errorResponses } },
    config: { auth: { token: true, note: 'lists only the studies of projects the token may read' } },
  }, async (req) => {
    const { offset, limit } = page(req.query);
    let projects = access ? await access.readable(principal(req)) : undefined;
    if (req.query.project !== undefined) projects = projects === undefined || projects.includes(req.query.project) ? [req.query.project] : [];
    const { total, studies } = await store.listStudiesIn(projects, offset, limit);
    return { total, offset, limit, studies: await Promise.all(studies.map(withBest)) };
  });

  app.get('/studies/:id', {
    schema: { summary: 'One study with its best trial', params: StudyIdParams, response: { 200: StudyViewSchema, ...errorResponses } },
    config: { auth: { study: 'viewer' } },
  }, async (req) => withBest(await theStudy(req)));

  app.get('/studies/:id/trials', {
    schema: { summary: 'A page of a study\'s trials, by number; with `state`, full pages of the trials in that state; `cursor` goes on from a page\'s `next`',
      params: StudyIdParams, querystring: TrialsQuery, response: { 200: TrialPageSchema, ...errorResponses } },
    config: { auth: { study: 'viewer' } },
  }, async (req) => {
    const study = await theStudy(req);
    const { state, cursor, offset } = req.query;
    const p = await trialPage(store, study, { limit: page(req.query).limit, ...(offset !== undefined ? { offset } : {}), ...(state ? { state } : {}), ...(cursor !== undefined ? { cursor } : {}) });
    return { ...p, trials: p.trials.map(trialView) };
  });

  app.post('/studies/:id/stop', {
    schema: { summary: 'Stop a running study; its queued and running trials are cancelled or stopped', params: StudyIdParams, response: { 200: StudyViewSchema, ...errorResponses } },
    config: { auth: { study: 'editor' } },
  }, async (req) => {
    const study = await theStudy(req);
    if (study.state !== 'RUNNING') throw new TunehiveError('TH_ERR_STUDY_NOT_RUNNING', `study ${study.id} is already ${study.state}`, [{ field: 'params.id', reason: `study ${study.id} is already ${study.state}` }]);
    // Ask/tell trials have no worker to stop them: endStudy cancels them, and later tells are refused.
    await runner.endStudy(study, 'STOPPED', 'stopped by request');
    return withBest((await store.getStudy(study.id))!);
  });

  app.get('/algorithms', {
    schema: { summary: 'The search algorithms a study can name', response: { 200: AlgorithmListSchema, ...errorResponses } },
    config: { auth: { token: true } },
  }, async () => ({
    algorithms: [...SAMPLERS.values()].map((f) => ({ name: f.name, description: f.description })),
  }));
};
