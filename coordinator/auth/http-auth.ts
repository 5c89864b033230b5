/**
 * Authentication and authorization for every HTTP route, as Fastify hooks:
 *
 * * onRequest: the token (Bearer or Basic) is verified (TokenVerifier: cached 2 s by hash);
 *   a missing or bad one is a 401 with WWW-Authenticate, and counts against the client
 *   address's failure budget (@fastify/rate-limit; past it: 429 with Retry-After). Successful
 *   requests never touch the limiter.
 * * preHandler (after the request's shape is validated: a 400 says nothing about what exists):
 *   the study, trial or project the route names is resolved and the role checked; another
 *   project's study is a 404 like an unknown one, and the handler reuses the loaded study.
 * * onResponse: every write of an authenticated caller goes to the audit log.
 *
 * Without an Authorization header, the dashboard's session cookie (session-store.ts) is
 * accepted instead; a write so authenticated needs the session's CSRF header. A header always
 * wins: a reverse proxy doing single sign-on decides who the request is.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { TunehiveError } from '../../shared/errors.js';
import { parseTrialId, STUDY_ID } from '../../shared/redis-keys.js';
import { PROJECT_NAME } from '../../shared/study-spec.js';
import type { StudyRecord } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { ProjectStore } from '../store/project-store.js';
import type { CredentialStore } from '../store/credential-store.js';
import { Access, forbidden, notFound } from './access.js';
import type { AuditLog } from './audit-log.js';
import { principalOf, tokenFromHeader, type Principal, type TokenVerifier } from './principal.js';
import { parseToken } from './token-format.js';
import { ANY_TOKEN, type AuthRule } from './rules.js';
import { EXPERIMENT_ID, parseRunId } from '../../shared/run-model.js';
import type { CredentialRecord } from '../store/credential-store.js';
import { cookieValue, csrfMatches, SESSION_COOKIE, type SessionStore } from './session-store.js';

export interface HttpAuth {
  creds: CredentialStore;
  projects: ProjectStore;
  verifier: TokenVerifier;
  access: Access;
  audit: AuditLog;
  /** /metrics without a token (a scraper on a trusted network). */
  openMetrics?: boolean;
  /** Failed authentications per client address per minute before 429 (default 20). */
  failuresPerMinute?: number;
  /**
   * The project of an experiment (a study or a plain experiment), for `{run}` and `{experiment}`
   * rules; without it only studies are experiments.
   */
  experimentProject?: (experimentId: string) => Promise<string | undefined>;
  /** Browser sessions (the `th_session` cookie); without it only headers authenticate. */
  sessions?: SessionStore;
  /** The project of a registered model, for `{model}` rules (the registry's). */
  modelProject?: (name: string) => Promise<string | undefined>;
  /** How many registered models a project holds (a project is deleted only once it holds none). */
  modelsIn?: (project: string) => Promise<number>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The study a study-scoped route names, loaded once by the auth hook. */
    study?: StudyRecord;
    /** The project the request concerns, for the audit log. */
    authProject?: string;
    /** Ids the handler created (the audit log's target). */
    auditTarget?: Record<string, string>;
    /** How the principal was authenticated (the session cookie, or a header). */
    authVia?: 'header' | 'cookie';
    /** The cookie session that authenticated the request (its value and CSRF token). */
    session?: { sid: string; csrf: string };
  }
  interface FastifyInstance {
    /**
     * Verifies a token presented other than in the Authorization header (the login body):
     * the record of a live API token, or the same 401/429 a bad header gets, counted against
     * the address's failure budget.
     */
    verifyPresentedToken(req: FastifyRequest, reply: FastifyReply, token: string): Promise<CredentialRecord>;
  }
}

export const CHALLENGE = 'Bearer realm="tunehive", Basic realm="tunehive"';
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const studyNotFound = (id: string) => notFound('TH_ERR_STUDY_NOT_FOUND', 'params.id', `no study with id ${JSON.stringify(id)}`);
const trialNotFound = (id: string) => notFound('TH_ERR_TRIAL_NOT_FOUND', 'params.id', `no trial with id ${JSON.stringify(id)} (trial ids look like <studyId>.<number>)`);
const runNotFound = (id: string) => notFound('TH_ERR_RUN_NOT_FOUND', 'params.id', `no run with id ${JSON.stringify(id)} (run ids look like <experimentId>.<number> or <experimentId>.r<12 characters>)`);
const experimentNotFound = (id: string) => notFound('TH_ERR_EXPERIMENT_NOT_FOUND', 'params.id', `no experiment with id ${JSON.stringify(id)}`);
const modelNotFound = (name: string) => notFound('TH_ERR_MODEL_NOT_FOUND', 'params.name', `no registered model ${JSON.stringify(name.slice(0, 140))}`);
export const projectNotFound = (name: string, field = 'params.name') => notFound('TH_ERR_PROJECT_NOT_FOUND', field, `no project ${JSON.stringify(name)} (or no access to it)`);

export function unauthenticated(missing: boolean): TunehiveError {
  const reason = missing
    ? 'a token is required: send "Authorization: Bearer <token>" (or HTTP Basic with the token as user name or password)'
    : 'the token is unknown, expired or revoked';
  return new TunehiveError(missing ? 'TH_ERR_AUTH_MISSING' : 'TH_ERR_AUTH_INVALID', reason, [{ field: 'headers.authorization', reason }]);
}

export function principal(req: FastifyRequest): Principal {
  if (!req.principal) throw unauthenticated(true);
  return req.principal;
}

/** Registers the hooks; call before any route is registered. */
export async function registerHttpAuth(app: FastifyInstance, auth: HttpAuth, store: StudyStore): Promise<void> {
  await app.register(rateLimit, { global: false });
  const failures = app.rateLimit({
    max: auth.failuresPerMinute ?? 20,
    timeWindow: 60_000,
    errorResponseBuilder: (_req, ctx) => new TunehiveError('TH_ERR_AUTH_RATE_LIMITED', `too many failed authentications from this address; retry in ${ctx.after}`,
      [{ field: 'headers.authorization', reason: `too many failed authentications; retry in ${ctx.after}` }]),
  });

  /**
   * Addresses past their budget, until when. While an address is in here, a secret not shaped
   * like a minted token (an operator's TUNEHIVE_ADMIN_TOKEN, which may be short) is refused
   * without being checked: otherwise the limiter only changed the answer to a wrong guess (429)
   * and the right guess still got 200, an unlimited oracle. Minted tokens carry 256 random bits,
   * so they are still checked and users behind the same address keep working.
   */
  const blocked = new Map<string, number>();
  const refuse = async (req: FastifyRequest, reply: FastifyReply, missing: boolean): Promise<never> => {
    try {
      await failures.call(app, req, reply); // throws the 429 once the address is over its budget
    } catch (err) {
      blocked.delete(req.ip);
      if (blocked.size >= 10_000) blocked.delete(blocked.keys().next().value!);
      blocked.set(req.ip, Date.now() + 60_000);
      throw err;
    }
    throw unauthenticated(missing);
  };

  const verifyPresented = async (req: FastifyRequest, reply: FastifyReply, token: string, allowRun = false): Promise<CredentialRecord> => {
    const until = blocked.get(req.ip);
    if (until !== undefined && !parseToken(token)) {
      if (until > Date.now()) return refuse(req, reply, false);
      blocked.delete(req.ip);
    }
    const rec = await auth.verifier.verify(token);
    // Only API tokens speak HTTP: join tokens and worker credentials are for the gRPC service,
    // run tokens (allowRun) for the MLflow routes of their own run; never for a browser session.
    if (!rec || (rec.kind !== 'api' && !(allowRun && rec.kind === 'run'))) return refuse(req, reply, false);
    return rec;
  };
  app.decorate('verifyPresentedToken', (req: FastifyRequest, reply: FastifyReply, token: string) => verifyPresented(req, reply, token));

  app.addHook('onRequest', async (req, reply) => {
    const rule: AuthRule = req.routeOptions.config?.auth ?? ANY_TOKEN;
    if ('public' in rule) return;
    if ('scope' in rule && rule.openable && auth.openMetrics) return;
    const sid = req.headers.authorization === undefined && auth.sessions ? cookieValue(req.headers.cookie, SESSION_COOKIE) : undefined;
    if (sid !== undefined) {
      // Not counted as a failure: a cookie value is 256 random bits (nothing to guess), and a
      // browser whose session just expired must not lock its address out.
      const session = await auth.sessions!.lookup(sid);
      if (!session) {
        const reason = 'the session has expired or ended (log in again), or its token was revoked';
        throw new TunehiveError('TH_ERR_AUTH_INVALID', reason, [{ field: 'cookies.th_session', reason }]);
      }
      if (WRITES.has(req.method) && !csrfMatches(req.headers['x-tunehive-csrf'], session.csrf)) {
        const reason = 'a write authenticated by the session cookie needs the header x-tunehive-csrf with the session\'s CSRF token (from POST /api/v1/session or GET /api/v1/whoami)';
        throw new TunehiveError('TH_ERR_AUTH_CSRF', reason, [{ field: 'headers.x-tunehive-csrf', reason }]);
      }
      req.principal = principalOf(session.credential);
      req.authVia = 'cookie';
      req.session = { sid, csrf: session.csrf };
    } else {
      const token = tokenFromHeader(req.headers.authorization);
      if (token === undefined) return refuse(req, reply, true);
      const rec = await verifyPresented(req, reply, token, true);
      if (rec.kind === 'run' && !('runToken' in rule && rule.runToken)) throw forbidden("a trial's run token may only log to its own run (MLflow run routes)");
      req.principal = principalOf(rec);
      req.authVia = 'header';
    }
    if ('admin' in rule && !req.principal.admin) throw forbidden('this needs an admin token');
    if ('scope' in rule && !req.principal.admin && !req.principal.scopes.includes(rule.scope)) {
      throw forbidden(`this needs a token with scope ${rule.scope}`);
    }
  });

  const experimentProject = auth.experimentProject ?? ((id: string) => store.studyProject(id));
  app.addHook('preHandler', async (req) => {
    const rule = req.routeOptions.config?.auth;
    if (!rule || !req.principal) return;
    const id = 'idIn' in rule && rule.idIn ? idFrom(req, rule.idIn) : String((req.params as Record<string, unknown> | undefined)?.id ?? (req.params as Record<string, unknown> | undefined)?.name ?? '');
    const runOnly = req.principal.runId;
    if ('study' in rule) {
      const study = STUDY_ID.test(id) ? await store.getStudy(id) : undefined;
      if (!study) throw studyNotFound(id)();
      await auth.access.require(req.principal, study.project, rule.study, studyNotFound(id));
      req.study = study;
      req.authProject = study.project;
    } else if ('trial' in rule) {
      const ids = parseTrialId(id);
      const project = ids && (await store.studyProject(ids.studyId));
      if (!project) throw trialNotFound(id)();
      await auth.access.require(req.principal, project, rule.trial, trialNotFound(id));
      req.authProject = project;
    } else if ('run' in rule || 'experiment' in rule) {
      const [experimentId, role, missing] = 'run' in rule
        ? [parseRunId(id)?.experimentId, rule.run, runNotFound(id)] as const
        : [EXPERIMENT_ID.test(id) ? id : undefined, rule.experiment, experimentNotFound(id)] as const;
      if (runOnly !== undefined && ('run' in rule ? id !== runOnly : experimentId !== parseRunId(runOnly)?.experimentId)) {
        throw forbidden(`this run token may only act on run ${runOnly}`);
      }
      const project = experimentId && (await experimentProject(experimentId));
      if (!project) throw missing();
      await auth.access.require(req.principal, project, role, missing);
      req.authProject = project;
    } else if ('model' in rule) {
      const missing = modelNotFound(id);
      const project = id && (await auth.modelProject?.(id));
      if (!project) throw missing();
      await auth.access.require(req.principal, project, rule.model, missing);
      req.authProject = project;
    } else if ('project' in rule) {
      if (!PROJECT_NAME.test(id) || !(await auth.projects.exists(id))) throw projectNotFound(id)();
      await auth.access.require(req.principal, id, rule.project, projectNotFound(id));
      req.authProject = id;
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    if (!WRITES.has(req.method) || !req.principal) return;
    const target: Record<string, string> = {};
    for (const [k, v] of Object.entries((req.params as Record<string, unknown> | undefined) ?? {})) target[k] = String(v).slice(0, 200);
    Object.assign(target, req.auditTarget);
    try {
      await auth.audit.record({
        credentialId: req.principal.credentialId, owner: req.principal.owner, method: req.method, route: req.routeOptions.url ?? req.url.slice(0, 200),
        target, project: req.authProject ?? null, status: reply.statusCode, ip: req.ip,
      });
    } catch (err) {
      req.log.error({ err }, 'audit log write failed');
    }
  });
}

/** The id an `idIn` rule names: the first of its places present in the request (rules.ts). */
function idFrom(req: FastifyRequest, places: readonly string[]): string {
  for (const place of places) {
    const m = /^(query|body|params)\.([A-Za-z0-9_*]+)(?:\[(\d+)\])?$/.exec(place);
    if (!m) continue;
    const part = (m[1] === 'query' ? req.query : m[1] === 'body' ? req.body : req.params) as Record<string, unknown> | undefined;
    const v = part?.[m[2]!];
    if (typeof v !== 'string' || v === '') continue;
    return m[3] === undefined ? v : (v.split('/').filter(Boolean)[Number(m[3])] ?? '');
  }
  return '';
}
