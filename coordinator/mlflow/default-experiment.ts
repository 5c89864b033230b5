/**
 * MLflow's experiment `0`: every MLflow server has a "Default" experiment with id 0, and
 * `mlflow.start_run()` without an experiment logs there. Here it is the experiment named
 * `Default` of the caller's project (the token's project when it is limited to one, else
 * `default`), made the first time it is named, as if it had always existed. Ids in requests are
 * rewritten before the auth hook resolves them, so `0` is checked like the real id.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TunehiveError } from '../../shared/errors.js';
import { DEFAULT_PROJECT } from '../../shared/study-spec.js';
import type { MlflowDeps } from './deps.js';

export const DEFAULT_EXPERIMENT_NAME = 'Default';

export function registerDefaultExperiment(scope: FastifyInstance, d: MlflowDeps): void {
  const resolve = async (req: FastifyRequest): Promise<string | undefined> => {
    const p = req.principal;
    if (!p || p.runId !== undefined) return undefined;
    const project = p.project !== '*' ? p.project : DEFAULT_PROJECT;
    const role = await d.access.roleIn(p, project);
    if (role === undefined) return undefined;
    const find = async () => (await d.runs.listExperiments([project], { offset: 0, limit: 10_000, nameContains: DEFAULT_EXPERIMENT_NAME })).experiments
      .find((e) => e.name === DEFAULT_EXPERIMENT_NAME && e.kind === 'plain')?.id;
    const have = await find();
    if (have) return have;
    // Making it is a write: a viewer's read of experiment 0 before anyone made it finds nothing.
    if (role === 'viewer') return undefined;
    try {
      return (await d.runs.createExperiment({ project, name: DEFAULT_EXPERIMENT_NAME, createdBy: p.owner })).id;
    } catch (err) {
      // Made by a concurrent request a moment ago.
      if (err instanceof TunehiveError && err.code === 'TH_ERR_EXPERIMENT_EXISTS') return find();
      throw err;
    }
  };
  scope.addHook('preValidation', async (req) => {
    const parts = [req.query, req.body].filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
    const named = parts.some((x) => x.experiment_id === '0' || (Array.isArray(x.experiment_ids) && x.experiment_ids.includes('0')));
    if (!named) return;
    const id = await resolve(req);
    if (!id) return;
    for (const x of parts) {
      if (x.experiment_id === '0') x.experiment_id = id;
      if (Array.isArray(x.experiment_ids)) x.experiment_ids = x.experiment_ids.map((e: unknown) => (e === '0' ? id : e));
    }
  });
}
