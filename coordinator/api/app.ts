/**
 * The HTTP API. `buildApp` returns the Fastify instance without listening, so tests use
 * `app.inject()`. Errors are mapped to responses here and only here.
 *
 * Schema first: every route declares its params, query, body and responses (schemas.ts), which
 * Fastify's ajv checks, fast-json-stringify serialises and @fastify/swagger publishes at
 * /api/v1/openapi.json (UI at /docs, assets served from the package, nothing fetched).
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import helmet from '@fastify/helmet';
import type { Logger } from 'pino';
import { TunehiveError, type FieldError } from '../../shared/errors.js';
import { describeValue } from '../../shared/schema-errors.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import type { StudyRunner } from '../runner/study-runner.js';
import { studyRoutes } from './studies-routes.js';
import { trialRoutes } from './trials-routes.js';
import { askTellRoutes } from './ask-tell-routes.js';
import { registerBodyParsers } from './body-parsers.js';
import { buildValidator } from './validators.js';
import { AskTell } from '../ask-tell.js';
import { CHALLENGE, registerHttpAuth, type HttpAuth } from '../auth/http-auth.js';
import { ANY_TOKEN, describeRule, type AuthRule } from '../auth/rules.js';
import { tokenRoutes } from './token-routes.js';
import { projectRoutes } from './project-routes.js';
import { auditRoutes } from './audit-routes.js';
import { sessionRoutes } from './session-routes.js';
import { runRoutes } from './run-routes.js';
import { experimentRoutes } from './experiment-routes.js';
import { runCompareRoutes } from './run-compare-routes.js';
import type { RedisRunStore } from '../runs/redis-run-store.js';
import type { StudyDeleter } from '../lifecycle/study-deletion.js';
import { RedisStudyStore } from '../store/study-store.js';
import { studyTableRoutes } from './study-table-routes.js';
import { plotRoutes } from './plot-routes.js';
import { HistoryCache } from '../analysis/history-cache.js';
import { EVENT_LIMITS, StudyEventHub, studyEventRoutes, type EventLimits } from './study-events.js';
import { staticRoutes } from './static-routes.js';

export interface ApiDeps {
  store: StudyStore;
  runner: StudyRunner;
  workers: WorkerDirectory;
  log: Logger;
  /** Extra routes (operations endpoints) registered by the composition root. */
  plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
  bodyLimit?: number;
  /** Serve HTTPS with this key and certificate (PEM). */
  https?: { key: Buffer; cert: Buffer };
  /**
   * Tokens, projects and the audit log. Always given by the composition root; the literal
   * below exists for `npm run bench:auth` only (the cost of auth is measured against it).
   */
  auth: HttpAuth | 'disabled-for-benchmark';
  /** Experiments and runs (issue 11); their routes are registered when given. */
  runs?: RedisRunStore;
  /** A study's experiment is deleted with its study. */
  deleter?: StudyDeleter;
  /** Limits of the dashboard's event streams (tests lower them). */
  eventLimits?: Partial<EventLimits>;
}

/**
 * The CSP for every answer, the docs UI included: its assets are served by the coordinator
 * (no CDN), so 'self' is enough for scripts; the UI sets inline styles. No
 * upgrade-insecure-requests: a coordinator on plain HTTP inside a network must still serve it.
 */
const CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"], baseUri: ["'self'"], fontSrc: ["'self'", 'data:'], frameAncestors: ["'none'"], imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"], scriptSrc: ["'self'"], scriptSrcAttr: ["'none'"], styleSrc: ["'self'", "'unsafe-inline'"], formAction: ["'self'"],
  },
};

/** An ajv error as Fastify attaches it (verbose: the failing schema and data included). */
interface AjvError { instancePath: string; keyword: string; message?: string; params: Record<string, unknown>; parentSchema?: { description?: string }; data?: unknown }

const PART_NAMES: Record<string, string> = { querystring: 'query', params: 'params', headers: 'headers' };

/** Field names as the rest of the API writes them: `parallelism`, `query.limit`, `params.id`. */
export function ajvFields(errors: AjvError[], context: string | undefined): FieldError[] {
  const part = context && PART_NAMES[context];
  return errors.map((v) => {
    let path = v.instancePath.split('/').slice(1).join('.');
    const extra = (v.params.missingProperty ?? v.params.additionalProperty) as string | undefined;
    if (extra !== undefined) path = path ? `${path}.${extra}` : extra;
    const field = part ? (path ? `${part}.${path}` : part) : path || '(body)';
    let reason: string;
    if (v.keyword === 'additionalProperties') reason = 'unknown field';
    else if (v.keyword === 'required') reason = 'is required (missing)';
    else reason = `${v.parentSchema?.description ?? v.message ?? 'is invalid'} (${describeValue(v.data)})`;
    return { field, reason };
  });
}

/** What a Fastify 4xx that is not a schema error is about. */
function fastifyErrorField(err: FastifyError): string {
  if (err.code?.startsWith('FST_ERR_CTP_INVALID_MEDIA_TYPE') || err.code === 'FST_ERR_CTP_INVALID_TYPE') return 'headers.content-type';
  if (err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return 'headers.content-length';
  return '(body)';
}

const pageFetch = (h: Record<string, string | string[] | undefined>) =>
  typeof h['sec-fetch-site'] === 'string' && typeof h['sec-fetch-mode'] === 'string' && h['sec-fetch-mode'] !== 'navigate';

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  // An https server is still the same Fastify for every route; only the listener differs.
  const app = Fastify({
    ...(deps.https ? { https: deps.https } : {}),
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    // Fastify's ajv: strict for bodies, coercing for query strings and path parameters.
    schemaController: { compilersFactory: { buildValidator } },
    // The router's own refusals (a bad %-escape, a path part over maxParamLength) come before the error handler.
    frameworkErrors: (err, _req, reply: FastifyReply) => reply.status(err.statusCode ?? 400)
      .send({ error: { code: err.code, message: err.message, fields: [{ field: '(url)', reason: err.message.slice(0, 300) }] } }),
  }) as unknown as FastifyInstance;

  registerBodyParsers(app);

  app.setErrorHandler((err: FastifyError | TunehiveError, req, reply) => {
    if (err instanceof TunehiveError) {
      // A page's fetch (a browser's Sec-Fetch-Site with a mode other than navigate) gets no Basic
      // challenge: browsers answer one with a native password dialog over the dashboard's login form.
      if (err.status === 401) void reply.header('www-authenticate', pageFetch(req.headers) ? 'Bearer realm="tunehive"' : CHALLENGE);
      const fields = err.fields.length > 0 || err.status >= 500 ? err.fields : [{ field: '(request)', reason: err.message }];
      return reply.status(err.status).send({ error: { code: err.code, message: err.message, fields } });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.status(500).send({ error: { code: 'TH_ERR_INTERNAL', message: 'internal error; see the coordinator log', fields: [] } });
    }
    // Fastify's own 4xx: schema errors, body too large, unsupported media type.
    const fields = err.validation ? ajvFields(err.validation as unknown as AjvError[], err.validationContext) : [{ field: fastifyErrorField(err), reason: err.message }];
    const message = err.validation ? fields.map((f) => `${f.field}: ${f.reason}`).join('; ') : err.message;
    return reply.status(status).send({ error: { code: err.validation ? 'TH_ERR_REQUEST_INVALID' : (err.code ?? 'TH_ERR_REQUEST_INVALID'), message, fields } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'TH_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}`, fields: [{ field: '(url)', reason: `no route ${req.method} ${req.url.slice(0, 200)}` }] } }));

  await app.register(helmet, { global: true, contentSecurityPolicy: CSP, hsts: false });
  // Before any route, so that every route (the composition root's too) gets the hooks.
  if (deps.auth !== 'disabled-for-benchmark') await registerHttpAuth(app, deps.auth, deps.store);

  // First, so that it sees every route registered after it (the composition root's too).
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Tunehive API', version: 'v1', description: 'Studies, trials and ask/tell of the Tunehive coordinator. Errors are {error: {code, message, fields: [{field, reason}]}}. ' +
        'Every route needs an API token (`Authorization: Bearer <token>`, or HTTP Basic with the token as user name or password) unless its `x-tunehive-auth` says `public`; ' +
        '401 for a missing or bad token, 403 for too small a role or a missing scope, 404 for what the token may not read.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, basic: { type: 'http', scheme: 'basic' } } },
      security: [{ bearer: [] }, { basic: [] }],
    },
    // The rule each route enforces, in the document: the auth matrix test reads it from here.
    transform: ({ schema, url, route }) => {
      const rule: AuthRule = route.config?.auth ?? ANY_TOKEN;
      const s = { ...(schema ?? {}), 'x-tunehive-auth': rule } as Record<string, unknown>;
      s.description = [s.description, describeRule(rule)].filter(Boolean).join(' ');
      if ('public' in rule) s.security = [];
      return { schema: s as typeof schema, url };
    },
  });
  // The docs UI and the document need a token like everything else (a browser asks for it:
  // paste the token as the Basic user name). The UI sets its CSP with hashes of its own.
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null }, staticCSP: true,
    transformStaticCSP: (h) => h.replace(/ validator\.swagger\.io| https:|upgrade-insecure-requests;/g, '') });
  app.get('/api/v1/openapi.json', { schema: { hide: true }, config: { auth: ANY_TOKEN } }, async () => app.swagger());

  if (deps.auth !== 'disabled-for-benchmark') {
    await app.register(tokenRoutes, { prefix: '/api/v1', auth: deps.auth });
    await app.register(projectRoutes, { prefix: '/api/v1', auth: deps.auth });
    await app.register(auditRoutes, { prefix: '/api/v1', auth: deps.auth });
    if (deps.auth.sessions) await app.register(sessionRoutes, { prefix: '/api/v1', auth: deps.auth, sessions: deps.auth.sessions });
  }
  await app.register(studyRoutes, { prefix: '/api/v1', store: deps.store, runner: deps.runner, workers: deps.workers, ...(deps.auth !== 'disabled-for-benchmark' ? { access: deps.auth.access } : {}) });
  await app.register(trialRoutes, { prefix: '/api/v1', store: deps.store, runner: deps.runner });
  await app.register(askTellRoutes, { prefix: '/api/v1', askTell: new AskTell(deps.store, deps.runner) });
  // The dashboard's study views read Redis directly (snapshots in one MULTI, shared pollers).
  if (deps.store instanceof RedisStudyStore) {
    const history = new HistoryCache(deps.store);
    await app.register(studyTableRoutes, { prefix: '/api/v1', store: deps.store, history });
    await app.register(plotRoutes, { prefix: '/api/v1', store: deps.store, history });
    await app.register(studyEventRoutes, { prefix: '/api/v1', store: deps.store, ...(deps.auth !== 'disabled-for-benchmark' ? { auth: deps.auth } : {}), hub: new StudyEventHub(deps.store.redis, deps.store.prefix, { ...EVENT_LIMITS, ...deps.eventLimits }) });
  }
  if (deps.runs) {
    const access = deps.auth !== 'disabled-for-benchmark' ? { access: deps.auth.access } : {};
    await app.register(runCompareRoutes, { prefix: '/api/v1', runs: deps.runs, ...access });
    await app.register(runRoutes, { prefix: '/api/v1', runs: deps.runs, ...access });
    await app.register(experimentRoutes, { prefix: '/api/v1', runs: deps.runs, ...access, ...(deps.deleter ? { deleter: deps.deleter } : {}) });
  }
  for (const plugin of deps.plugins ?? []) await plugin(app);
  // The dashboard (issue 13): the built browser app at / (public assets; its data comes from the API above).
  await app.register(staticRoutes);
  return app;
}
