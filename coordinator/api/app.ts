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
import type { Logger } from 'pino';
import { TunehiveError, type FieldError } from '../../shared/errors.js';
import { describeValue } from '../../shared/schema-errors.js';
import type { StudyStore } from '../store/study-store.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import type { StudyRunner } from '../runner/study-runner.js';
import { studyRoutes } from './studies-routes.js';
import { trialRoutes } from './trials-routes.js';
import { askTellRoutes } from './ask-tell-routes.js';
import { registerBodyParsers } from './body-parsers.js';
import { buildValidator } from './validators.js';
import { AskTell } from '../ask-tell.js';

export interface ApiDeps {
  store: StudyStore;
  runner: StudyRunner;
  workers: WorkerDirectory;
  log: Logger;
  /** Extra routes (operations endpoints) registered by the composition root. */
  plugins?: Array<(app: FastifyInstance) => Promise<void> | void>;
  bodyLimit?: number;
}

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

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit ?? 1024 * 1024,
    // Fastify's ajv: strict for bodies, coercing for query strings and path parameters.
    schemaController: { compilersFactory: { buildValidator } },
    // The router's own refusals (a bad %-escape, a path part over maxParamLength) come before the error handler.
    frameworkErrors: (err, _req, reply: FastifyReply) => reply.status(err.statusCode ?? 400)
      .send({ error: { code: err.code, message: err.message, fields: [{ field: '(url)', reason: err.message.slice(0, 300) }] } }),
  });

  registerBodyParsers(app);

  app.setErrorHandler((err: FastifyError | TunehiveError, req, reply) => {
    if (err instanceof TunehiveError) {
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

  // First, so that it sees every route registered after it (the composition root's too).
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Tunehive API', version: 'v1', description: 'Studies, trials and ask/tell of the Tunehive coordinator. Errors are {error: {code, message, fields: [{field, reason}]}}.' },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null }, staticCSP: true });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(studyRoutes, { prefix: '/api/v1', store: deps.store, runner: deps.runner, workers: deps.workers });
  await app.register(trialRoutes, { prefix: '/api/v1', store: deps.store, runner: deps.runner });
  await app.register(askTellRoutes, { prefix: '/api/v1', askTell: new AskTell(deps.store, deps.runner) });
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
