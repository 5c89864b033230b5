/**
 * Provenance and reruns of a run (issues 11 and 14):
 *   GET  /runs/:id/provenance   every attempt's provenance, oldest first
 *   POST /runs/:id/rerun        a one-trial study that runs the trial again from its record
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { ProvenanceSchema, RUN_LIMITS } from '../../shared/run-model.js';
import { trialId } from '../../shared/redis-keys.js';
import type { RunStore } from '../runs/run-store-contract.js';
import { RERUNS_TAG, rerunSource, rerunSpec } from '../runs/rerun.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { StudyRunner } from '../runner/study-runner.js';
import { validateStudy } from '../study-validation.js';
import { errorResponses } from './schemas.js';

export interface RerunRouteOptions { store: StudyStore; runs: Pick<RunStore, 'provenanceOf' | 'getRun' | 'setTags'>; runner: StudyRunner }

const RunIdParams = Type.Object({ id: Type.String({ maxLength: 60, description: 'a run id (`<experimentId>.<number>` for a trial run)' }) });
const ProvenanceListSchema = Type.Object({ runId: Type.String(), provenance: Type.Array(ProvenanceSchema) });
const RerunBody = Type.Object({
  force: Type.Optional(Type.Boolean({ description: 'must be true or false: run even when the code or data differ from the record' })),
}, { additionalProperties: false, description: 'must be an object {force?}' });
const RerunReply = Type.Object({
  runId: Type.String({ description: 'the new run (trial 0 of the rerun study)' }),
  studyId: Type.String(),
  rerunOf: Type.String(),
  force: Type.Boolean(),
  /** What the worker will check before it starts the program. */
  expect: Type.Record(Type.String(), Type.Union([Type.String(), Type.Boolean()])),
  seed: Type.Integer(),
});

export const rerunRoutes: FastifyPluginAsync<RerunRouteOptions> = async (plain, { store, runs, runner }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/runs/:id/provenance', {
    schema: { summary: 'Every attempt\'s provenance of a run (code, data, image, command, environment, seed), oldest first', params: RunIdParams, response: { 200: ProvenanceListSchema, ...errorResponses } },
    config: { auth: { run: 'viewer' } },
  }, async (req) => {
    // The auth hook found the experiment, not the run: an unknown run of it is a 404, not an empty list.
    if (!(await runs.getRun(req.params.id))) {
      throw new TunehiveError('TH_ERR_RUN_NOT_FOUND', `no run with id ${JSON.stringify(req.params.id)}`, [{ field: 'params.id', reason: 'no such run' }]);
    }
    return { runId: req.params.id, provenance: await runs.provenanceOf(req.params.id) };
  });

  app.post('/runs/:id/rerun', {
    schema: {
      summary: 'Run a trial again from its record: same command, params, environment, image digest, seed and budget, as a one-trial study; the worker refuses to start when the code or data differ from the record, unless force',
      params: RunIdParams, body: Type.Optional(RerunBody), response: { 201: RerunReply, ...errorResponses },
    },
    config: { auth: { run: 'editor' } },
  }, async (req, reply) => {
    const force = req.body?.force ?? false;
    const src = await rerunSource(store, (id) => runs.provenanceOf(id), req.params.id);
    // The same validation as a submitted spec: a record that no longer passes is refused here, not on a worker.
    const spec = validateStudy(rerunSpec(src, force));
    const study = await store.createStudy(spec);
    req.auditTarget = { studyId: study.id };
    const runId = trialId(study.id, 0);
    // The reverse reference: the original lists its reruns (newest last, bounded like any tag).
    const original = await runs.getRun(src.trial.id);
    const before = original?.tags[RERUNS_TAG];
    const list = before ? `${before},${runId}` : runId;
    if (list.length <= RUN_LIMITS.tagValueLength) await runs.setTags(src.trial.id, { [RERUNS_TAG]: list });
    req.log.info({ studyId: study.id, rerunOf: src.trial.id, force }, 'rerun created');
    runner.kick(study.id);
    return reply.status(201).send({ runId, studyId: study.id, rerunOf: src.trial.id, force, expect: { ...spec.rerun!.expect }, seed: spec.rerun!.seed });
  });
};
