/**
 * Tunehive as an MLflow tracking server: every MLflow route, under `/api/2.0/` and
 * `/ajax-api/2.0/` (wire.ts). Registered by the composition root (coordinator/main.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MlflowDeps } from './deps.js';
import { artifactListRoutes, artifactProxyRoutes } from './artifacts.js';
import { registerDefaultExperiment } from './default-experiment.js';
import { checkRunToken } from './run-tokens.js';
import { experimentRoutes } from './experiments.js';
import { metricRoutes } from './metrics.js';
import { runRoutes } from './runs.js';
import { searchRoutes } from './search.js';
import { registerMlflowRoutes } from './wire.js';

export type { MlflowDeps } from './deps.js';

/** `more`: further routes of the `mlflow` area (the model registry, coordinator/mlflow/registry-routes.ts): a prefix has one MLflow scope. */
export async function registerMlflow(app: FastifyInstance, d: MlflowDeps, more?: (scope: FastifyInstance) => Promise<void>): Promise<void> {
  // Every route a run token may reach, reads included (experiments/get, get-by-name), refuses it
  // once its attempt has ended: one hook, so no route can forget the check (loadRun repeats it).
  const attemptLive = async (req: FastifyRequest) => {
    if (req.principal?.runId !== undefined) await checkRunToken(req.principal, d.store);
  };
  await registerMlflowRoutes(app, 'mlflow', async (scope) => {
    scope.addHook('preHandler', attemptLive);
    registerDefaultExperiment(scope, d);
    await experimentRoutes(scope, d);
    await runRoutes(scope, d);
    await searchRoutes(scope, d);
    await metricRoutes(scope, d);
    await artifactListRoutes(scope, d);
    await more?.(scope);
  });
  await registerMlflowRoutes(app, 'mlflow-artifacts', async (scope) => {
    scope.addHook('preHandler', attemptLive);
    await artifactProxyRoutes(scope, d);
  });
}
