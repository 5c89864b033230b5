/**
 * The HTTP API. `buildApp` returns the Fastify instance without listening, so tests use
 * `app.inject()`. Errors are mapped to responses here and only here.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { parse as parseYaml } from 'yaml';
import { TunehiveError } from '../../shared/errors.js';
import type { StudyStore } from '../store/study-store.js';
import type { WorkerDirectory } from '../store/worker-directory.js';
import type { StudyRunner } from '../runner/study-runner.js';
import { studyRoutes } from './studies-routes.js';
import { trialRoutes } from './trials-routes.js';
import { askTellRoutes } from './ask-tell-routes.js';
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

export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({ loggerInstance: deps.log as FastifyBaseLogger, bodyLimit: deps.bodyLimit ?? 1024 * 1024, });

  // Specs may be sent as YAML (the CLI sends what the user wrote, e.g. a Katib-style file).
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseYaml(body as string));
    } catch (err) {
      done(new TunehiveError('TH_ERR_REQUEST_INVALID', `body is not valid YAML: ${(err as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | TunehiveError, req, reply) => {
    if (err instanceof TunehiveError) {
      return reply.status(err.status).send({ error: { code: err.code, message: err.message, fields: err.fields } });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return reply.status(500).send({ error: { code: 'TH_ERR_INTERNAL', message: 'internal error; see the coordinator log', fields: [] } });
    }
    // Fastify's own 4xx: malformed JSON, body too large, unsupported media type, schema errors.
    const fields = err.validation?.map((v) => ({ field: `${err.validationContext ?? 'request'}${v.instancePath.replaceAll('/', '.')}`, reason: v.message ?? 'invalid' })) ?? [];
    return reply.status(status).send({ error: { code: err.code ?? 'TH_ERR_REQUEST_INVALID', message: err.message, fields } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'TH_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}`, fields: [] } }));

  await app.register(studyRoutes, { prefix: '/api/v1', store: deps.store, runner: deps.runner, workers: deps.workers });
  await app.register(trialRoutes, { prefix: '/api/v1', store: deps.store, runner: deps.runner });
  await app.register(askTellRoutes, { prefix: '/api/v1', askTell: new AskTell(deps.store, deps.runner) });
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}
