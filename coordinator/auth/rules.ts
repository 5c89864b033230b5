/**
 * What each route needs, declared on the route (`config.auth`) and published in the OpenAPI
 * document (`x-tunehive-auth` on every operation), so the auth matrix test reads the same
 * rules the server enforces. A route that declares nothing needs a valid token.
 */
import type { Role } from '../store/credential-store.js';
import type { Scope } from './roles.js';

export type AuthRule =
  /** No token: liveness and readiness probes only. */
  | { public: true }
  /** Any valid API token; the handler filters or checks further (lists, creation, tokens). */
  | { token: true; note?: string; runToken?: true }
  /** An admin token (the fleet: revoking workers). */
  | { admin: true }
  /** A token with this scope (or an admin token); `openable` routes are public with --open-metrics. */
  | { scope: Scope; openable?: boolean }
  /** `params.id` is a study id: the role is needed in the study's project. */
  | { study: Role }
  /** `params.id` is a trial id (<studyId>.<number>): the role is needed in its study's project. */
  | { trial: Role }
  /** `params.name` is a project name. */
  | { project: Role }
  /** `params.id` is a run id (`<experimentId>.<suffix>`, shared/run-model.ts): the role is needed in its experiment's project. */
  | { run: Role; idIn?: readonly string[]; runToken?: true }
  /** `params.id` is an experiment id (a study's id, or a plain experiment's). */
  | { experiment: Role; idIn?: readonly string[]; runToken?: true }
  /** `params.name` is a registered model's name (coordinator/registry): the role is needed in the model's project. */
  | { model: Role };

/*
 * `idIn`: where a `{run}` / `{experiment}` rule finds its id when it is not `params.id` (MLflow's
 * RPCs carry ids in the query or the body): `query.run_id`, `body.experiment_id`; a `[n]` suffix
 * takes the n-th '/'-separated segment (`query.path[1]`). The first one present is used.
 * `runToken`: a run token (a trial attempt's MLFLOW_TRACKING_TOKEN) is accepted on the route,
 * for its own run (and its run's experiment) only; every other route refuses it.
 */

export const ANY_TOKEN: AuthRule = { token: true };

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRule;
  }
}

/** One line for the OpenAPI description of an operation. */
export function describeRule(rule: AuthRule): string {
  if ('public' in rule) return 'Auth: none.';
  if ('admin' in rule) return 'Auth: an admin token.';
  if ('scope' in rule) return `Auth: a token with scope \`${rule.scope}\` (or admin)${rule.openable ? '; none with --open-metrics' : ''}.`;
  if ('study' in rule) return `Auth: role \`${rule.study}\` in the study's project.`;
  if ('trial' in rule) return `Auth: role \`${rule.trial}\` in the project of the trial's study.`;
  if ('project' in rule) return `Auth: role \`${rule.project}\` in the project.`;
  const where = (r: { idIn?: readonly string[] }) => (r.idIn ? ` (the id in ${r.idIn.join(' or ')})` : '');
  const runToken = (r: { runToken?: true }) => (r.runToken ? '; a trial\'s run token for its own run' : '');
  if ('run' in rule) return `Auth: role \`${rule.run}\` in the project of the run's experiment${where(rule)}${runToken(rule)}.`;
  if ('experiment' in rule) return `Auth: role \`${rule.experiment}\` in the experiment's project${where(rule)}${runToken(rule)}.`;
  if ('model' in rule) return `Auth: role \`${rule.model}\` in the registered model's project.`;
  return `Auth: any valid token${rule.note ? `; ${rule.note}` : ''}.`;
}
