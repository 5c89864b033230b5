import type { FastifyPluginAsync } from 'fastify';
import { invalidSpec, TunehiveError } from '../../shared/errors.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import { SAMPLERS } from '../search/registry.js';
import { STUDY_ID } from '../../shared/redis-keys.js';
import type { StudyRecord, StudyStore } from '../store/study-store.js';
import type { StudyRunner } from '../runner/study-runner.js';
import { validateStudy } from '../study-validation.js';
import { page } from './pagination.js';
import { studyView, trialView } from './views.js';
import type { TrialState } from '../../shared/trial.js';
import { TRIAL_STATES } from '../../shared/trial.js';

export interface RouteOptions { store: StudyStore; runner: StudyRunner; workers?: WorkerDirectory }

const idParams = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] } as const;

export async function loadStudy(store: StudyStore, id: string): Promise<StudyRecord> {
  const study = STUDY_ID.test(id) ? await store.getStudy(id) : undefined;
  if (!study) throw new TunehiveError('TH_ERR_STUDY_NOT_FOUND', `no study with id ${JSON.stringify(id)}`);
  return study;
}

export const studyRoutes: FastifyPluginAsync<RouteOptions> = async (app, { store, runner, workers }) => {
  const withBest = async (s: StudyRecord) => studyView(s, s.best ? await store.getTrial(s.id, s.best.number) : undefined);

  app.post('/studies', async (req, reply) => {
    const spec = validateStudy(req.body);
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
    req.log.info({ studyId: study.id, name: spec.name, algorithm: spec.algorithm.name }, 'study created');
    runner.kick(study.id);
    return reply.status(201).send(studyView(study));
  });

  app.get('/studies', async (req) => {
    const { offset, limit } = page(req.query as Record<string, string>);
    const { total, studies } = await store.listStudies(offset, limit);
    return { total, offset, limit, studies: await Promise.all(studies.map(withBest)) };
  });

  app.get<{ Params: { id: string } }>('/studies/:id', { schema: { params: idParams } }, async (req) => withBest(await loadStudy(store, req.params.id)));

  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/studies/:id/trials', { schema: { params: idParams } }, async (req) => {
    const study = await loadStudy(store, req.params.id);
    const { offset, limit } = page(req.query);
    const stateFilter = req.query.state;
    if (stateFilter !== undefined && !TRIAL_STATES.includes(stateFilter as TrialState)) {
      throw new TunehiveError('TH_ERR_REQUEST_INVALID', 'unknown trial state', [{ field: 'query.state', reason: `must be one of ${TRIAL_STATES.join(', ')}` }]);
    }
    // Trials are numbered densely, so a page is a range of numbers; a state filter scans pages.
    const numbers = Array.from({ length: Math.max(0, Math.min(limit, study.created - offset)) }, (_, i) => offset + i);
    let trials = await store.getTrials(study.id, numbers);
    if (stateFilter) trials = trials.filter((t) => t.state === stateFilter);
    return { total: study.created, offset, limit, trials: trials.map(trialView) };
  });

  app.post<{ Params: { id: string } }>('/studies/:id/stop', { schema: { params: idParams } }, async (req) => {
    const study = await loadStudy(store, req.params.id);
    if (study.state !== 'RUNNING') throw new TunehiveError('TH_ERR_STUDY_NOT_RUNNING', `study ${study.id} is already ${study.state}`);
    await runner.endStudy(study, 'STOPPED', 'stopped by request');
    return withBest((await store.getStudy(study.id))!);
  });

  app.get('/algorithms', async () => ({
    algorithms: [...SAMPLERS.values()].map((f) => ({ name: f.name, description: f.description })),
  }));
};


