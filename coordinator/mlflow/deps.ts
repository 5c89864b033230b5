/** What the MLflow routes are built on, and the checks every run route shares. */
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RunView } from '../../shared/run-model.js';
import { principal } from '../auth/http-auth.js';
import type { Access } from '../auth/access.js';
import type { Principal } from '../auth/principal.js';
import type { ArtifactService } from '../artifacts/artifact-service.js';
import type { RedisRunStore } from '../runs/redis-run-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { TrialCommands } from '../runner/trial-commands.js';
import type { StudyRunner } from '../runner/study-runner.js';
import { lifecycleOf } from './mapping.js';
import { checkRunToken } from './run-tokens.js';
import { doesNotExist, MlflowError } from './wire.js';

export interface MlflowDeps {
  runs: RedisRunStore;
  store: StudyStore;
  access: Access;
  runner: StudyRunner;
  commands: TrialCommands;
  artifacts?: ArtifactService;
  log: Logger;
}

export const who = (req: FastifyRequest): Principal => principal(req);

/** A run the route may act on (the auth hook checked the role), with MLflow's not-found answer. */
export async function loadRun(d: MlflowDeps, req: FastifyRequest, runId: string): Promise<RunView> {
  await checkRunToken(who(req), d.store);
  const run = await d.runs.getRun(runId);
  if (!run) throw doesNotExist(`Run with id=${runId} not found`);
  return run;
}

/** MLflow refuses writes to a deleted run with exactly this message (`_check_run_is_active`). */
export function requireActive(run: RunView): void {
  const stage = lifecycleOf(run.tags);
  if (stage !== 'active') throw new MlflowError('INVALID_PARAMETER_VALUE', `The run ${run.id} must be in the 'active' state. Current state is ${stage}.`);
}

export const runIdOf = (b: { run_id?: string; run_uuid?: string }): string => {
  const id = b.run_id || b.run_uuid;
  if (!id) throw new MlflowError('INVALID_PARAMETER_VALUE', "Missing value for required parameter 'run_id'.");
  return id;
};
