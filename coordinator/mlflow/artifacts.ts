/**
 * MLflow artifacts: ListArtifacts (`mlflow/artifacts/list`) and the artifact proxy of
 * `mlflow server --serve-artifacts` (`mlflow-artifacts/artifacts/<path>`: PUT, GET, DELETE, and
 * GET `?path=` to list; mlflow_artifacts.proto). A run's artifact_uri is
 * `mlflow-artifacts:/<experiment>/<run>/artifacts`; the client resolves it against the tracking
 * URI and uploads over plain HTTP with its token, so proxy paths are
 * `<experiment>/<run>/artifacts/<file>` and map onto the run's artifacts in Tunehive's artifact
 * store (ArtifactService: quotas, checksums, the run's project's auth).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ArtifactEntry } from '../artifacts/artifact-index.js';
import type { ArtifactService } from '../artifacts/artifact-service.js';
import { loadRun, requireActive, runIdOf, type MlflowDeps } from './deps.js';
import { artifactUri } from './mapping.js';
import { body, decodePageToken, Empty, encodePageToken, ERROR_RESPONSES, MlflowError } from './wire.js';

const FileInfo = Type.Object({ path: Type.String(), is_dir: Type.Boolean(), file_size: Type.Optional(Type.Integer()) });
const LIST_PAGE = 1000;

/** The direct children of `dir` (run-relative, no slashes at the ends): files with their size, folders once. */
export function childrenOf(entries: readonly ArtifactEntry[], dir: string): Array<{ name: string; isDir: boolean; size?: number }> {
  const prefix = dir ? `${dir}/` : '';
  const out = new Map<string, { name: string; isDir: boolean; size?: number }>();
  for (const e of entries) {
    if (!e.path.startsWith(prefix)) continue;
    const rest = e.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) out.set(rest, { name: rest, isDir: false, size: e.size });
    else if (!out.has(rest.slice(0, slash))) out.set(rest.slice(0, slash), { name: rest.slice(0, slash), isDir: true });
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const trimSlashes = (p: string) => p.replace(/^\/+|\/+$/g, '');

function need(artifacts: ArtifactService | undefined): ArtifactService {
  if (!artifacts) throw new MlflowError('NOT_IMPLEMENTED', 'this coordinator has no artifact store');
  return artifacts;
}

export async function artifactListRoutes(app: FastifyInstance, d: MlflowDeps): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/artifacts/list', {
    schema: {
      summary: 'MLflow ListArtifacts: the direct children of path in the run\'s artifacts',
      querystring: body({ run_id: Type.String({ maxLength: 64 }), run_uuid: Type.String({ maxLength: 64 }), path: Type.String({ maxLength: 4096 }), page_token: Type.String({ maxLength: 200 }) }),
      response: { 200: Type.Object({ root_uri: Type.String(), files: Type.Array(FileInfo), next_page_token: Type.Optional(Type.String()) }), ...ERROR_RESPONSES },
    },
    config: { auth: { run: 'viewer', idIn: ['query.run_id', 'query.run_uuid'], runToken: true } },
  }, async (req) => {
    const svc = need(d.artifacts);
    const run = await loadRun(d, req, runIdOf(req.query));
    const dir = trimSlashes(req.query.path ?? '');
    const kids = childrenOf(await svc.list(await svc.run(run.id), dir ? `${dir}/` : ''), dir);
    const start = decodePageToken(req.query.page_token, (v): v is { offset: number } => Number.isSafeInteger(v.offset) && (v.offset as number) >= 0)?.offset ?? 0;
    const page = kids.slice(start, start + LIST_PAGE);
    return {
      root_uri: artifactUri(run),
      files: page.map((k) => ({ path: dir ? `${dir}/${k.name}` : k.name, is_dir: k.isDir, ...(k.isDir ? {} : { file_size: k.size! }) })),
      ...(start + LIST_PAGE < kids.length ? { next_page_token: encodePageToken({ offset: start + LIST_PAGE }) } : {}),
    };
  });
}

/** `<experiment>/<run>/artifacts[/<path>]` -> the run and the run-relative path; anything else is not an artifact of a run. */
function proxyPath(experiment: string, runId: string, rest: string): { runId: string; path: string } {
  if (!runId.startsWith(`${experiment}.`)) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `no run ${runId} in experiment ${experiment}`);
  return { runId, path: trimSlashes(rest) };
}

export async function artifactProxyRoutes(app: FastifyInstance, d: MlflowDeps): Promise<void> {
  // The body is the artifact itself, whatever its type: streamed into the store, never parsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const Params = Type.Object({ experiment: Type.String({ maxLength: 64 }), id: Type.String({ maxLength: 64 }), '*': Type.String({ maxLength: 4096 }) });

  const open = async (req: FastifyRequest, p: { experiment: string; id: string; '*': string }, write: boolean) => {
    const svc = need(d.artifacts);
    const { runId, path } = proxyPath(p.experiment, p.id, p['*']);
    const run = await loadRun(d, req, runId);
    if (write) requireActive(run);
    return { svc, space: await svc.run(run.id), path };
  };

  r.put('/artifacts/:experiment/:id/artifacts/*', {
    schema: {
      summary: 'MLflow artifact proxy: upload one file (the raw body, Content-Length required)',
      params: Params, headers: Type.Object({ 'content-length': Type.Optional(Type.String({ pattern: '^[0-9]{1,13}$' })) }),
      response: { 200: Empty, ...ERROR_RESPONSES },
    },
    config: { auth: { run: 'editor', runToken: true } },
  }, async (req) => {
    const { svc, space, path } = await open(req, req.params, true);
    const length = req.headers['content-length'];
    if (length === undefined) throw new MlflowError('INVALID_PARAMETER_VALUE', 'an artifact upload needs Content-Length (its size is checked against the run\'s quota first)');
    await svc.putOne(space, path, req.raw, { size: Number(length) });
    req.auditTarget = { runId: space.runId, artifact: path };
    return {};
  });

  r.get('/artifacts/:experiment/:id/artifacts/*', {
    schema: { summary: 'MLflow artifact proxy: download one file', params: Params, response: { 200: { description: 'the file\'s bytes', content: { '*/*': { schema: {} } } }, ...ERROR_RESPONSES } } as never,
    config: { auth: { run: 'viewer', runToken: true } },
  }, async (req, reply) => {
    const { svc, space, path } = await open(req, req.params as { experiment: string; id: string; '*': string }, false);
    const entry = await svc.entry(space, path);
    void reply.type('application/octet-stream').header('content-length', entry.size).header('x-content-sha256', entry.sha256).header('x-content-type-options', 'nosniff');
    return reply.send(entry.size === 0 ? '' : await svc.open(space, entry.path));
  });

  r.delete('/artifacts/:experiment/:id/artifacts/*', {
    schema: { summary: 'MLflow artifact proxy: delete a file (a folder: everything below it)', params: Params, response: { 200: Empty, ...ERROR_RESPONSES } },
    config: { auth: { run: 'editor' } },
  }, async (req) => {
    const { svc, space, path } = await open(req, req.params, true);
    await svc.remove(space, path);
    req.auditTarget = { runId: space.runId, artifact: path };
    return {};
  });

  r.get('/artifacts', {
    schema: {
      summary: 'MLflow artifact proxy: list path (<experiment>/<run>/artifacts[/<dir>]); paths relative to it',
      querystring: body({ path: Type.String({ minLength: 1, maxLength: 4096 }) }, ['path']),
      response: { 200: Type.Object({ files: Type.Array(FileInfo) }), ...ERROR_RESPONSES },
    },
    config: { auth: { run: 'viewer', idIn: ['query.path[1]'], runToken: true } },
  }, async (req) => {
    const parts = trimSlashes(req.query.path).split('/');
    if (parts.length < 3 || parts[2] !== 'artifacts') throw new MlflowError('INVALID_PARAMETER_VALUE', "Invalid value for parameter 'path': must be <experiment>/<run>/artifacts[/<dir>]");
    const { svc, space, path } = await open(req, { experiment: parts[0]!, id: parts[1]!, '*': parts.slice(3).join('/') }, false);
    const kids = childrenOf(await svc.list(space, path ? `${path}/` : ''), path);
    return { files: kids.map((k) => ({ path: k.name, is_dir: k.isDir, ...(k.isDir ? {} : { file_size: k.size! }) })) };
  });
}

