/**
 * The model registry over HTTP (`/api/v1/models`, issue 12). Reads need `viewer` in the model's
 * project, writes `editor`; a model of a project the caller cannot read is a 404 like an unknown
 * one. Registering a version also needs `viewer` on the run it is made from. File downloads
 * stream from the registry's own copy, with Range.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { parseRunId } from '../../shared/run-model.js';
import { PROJECT_NAME } from '../../shared/study-spec.js';
import { DEFAULT_PROJECT } from '../../shared/trial-job.js';
import type { Access } from '../auth/access.js';
import { principal } from '../auth/http-auth.js';
import type { Role } from '../store/credential-store.js';
import {
  ALIAS_NAME, modelNotFound, parseModelUri, parseRunSource, parseStage, REGISTRY_LIMITS, STAGES, versionNotFound, type ModelRegistry, type ModelVersion,
} from '../registry/model-registry.js';
import { HistoryEventSchema, ModelFileSchema, ModelVersionSchema, RegisteredModelSchema } from '../registry/views.js';
import { disposition, parseRange } from './artifact-routes.js';
import { errorResponses } from './schemas.js';

export interface ModelRouteOptions {
  registry: ModelRegistry;
  access: Access;
  /** The project of a run's experiment (registering a version needs viewer on the run). */
  experimentProject: (experimentId: string) => Promise<string | undefined>;
}

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: REGISTRY_LIMITS.nameLength, description: 'a registered model name' }) });
const Version = Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'must be a version number (an integer >= 1)' });
const VersionParams = Type.Object({ ...NameParams.properties, version: Version });
const AliasParams = Type.Object({ ...NameParams.properties, alias: Type.String({ minLength: 1, maxLength: REGISTRY_LIMITS.aliasLength, pattern: ALIAS_NAME.source, description: 'must be a letter or "_" then letters, digits, "_" or "-"' }) });
const FileParams = Type.Object({ ...VersionParams.properties, '*': Type.String({ maxLength: 4096 }) });
const TagMap = Type.Record(Type.String({ maxLength: REGISTRY_LIMITS.tagKeyLength }), Type.String({ maxLength: REGISTRY_LIMITS.tagValueLength }), { description: 'tag key -> value' });
const TagPatch = Type.Record(Type.String({ maxLength: REGISTRY_LIMITS.tagKeyLength }), Type.Union([Type.String({ maxLength: REGISTRY_LIMITS.tagValueLength }), Type.Null()]), { description: 'tag key -> value; null deletes the tag' });
const Description = Type.String({ maxLength: REGISTRY_LIMITS.descriptionLength, description: `must be at most ${REGISTRY_LIMITS.descriptionLength} characters` });

const CreateModelBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: REGISTRY_LIMITS.nameLength, description: 'must be a model name (letters, digits, ".", "_", "-", inner spaces)' }),
  project: Type.Optional(Type.String({ pattern: PROJECT_NAME.source, description: 'must be a project name (default: the token\'s project, else "default")' })),
  description: Type.Optional(Description),
  tags: Type.Optional(TagMap),
}, { additionalProperties: false });
const UpdateModelBody = Type.Object({
  description: Type.Optional(Description), tags: Type.Optional(TagPatch),
  newName: Type.Optional(Type.String({ minLength: 1, maxLength: REGISTRY_LIMITS.nameLength, description: 'renames the model' })),
}, { additionalProperties: false });
const ListQuery = Type.Object({
  project: Type.Optional(Type.String({ pattern: PROJECT_NAME.source, description: 'must be a project name' })),
  nameLike: Type.Optional(Type.String({ maxLength: 200, description: 'a SQL LIKE pattern (% and _)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'must be an integer >= 0' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'must be an integer from 1 to 1000 (default 100)' })),
}, { additionalProperties: false });
const CreateVersionBody = Type.Object({
  runId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the run to register (with path)' })),
  path: Type.Optional(Type.String({ maxLength: 1024, description: 'artifact path in the run (default "model"; "" for all of its artifacts)' })),
  source: Type.Optional(Type.String({ maxLength: 1200, description: 'runs:/<runId>/<path> (instead of runId and path)' })),
  description: Type.Optional(Description), tags: Type.Optional(TagMap),
}, { additionalProperties: false });
const UpdateVersionBody = Type.Object({ description: Type.Optional(Description), tags: Type.Optional(TagPatch) }, { additionalProperties: false });
const AliasBody = Type.Object({ version: Version }, { additionalProperties: false });
const StageBody = Type.Object({
  stage: Type.Enum([...STAGES], { description: `must be one of ${STAGES.join(', ')}` }),
  archiveExisting: Type.Optional(Type.Boolean({ description: 'move the other versions in this stage (Staging or Production) to Archived' })),
}, { additionalProperties: false });
const ResolveQuery = Type.Object({ uri: Type.String({ minLength: 1, maxLength: 700, description: 'models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>' }) }, { additionalProperties: false });
const HistoryQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: REGISTRY_LIMITS.historyPerModel, description: `must be an integer from 1 to ${REGISTRY_LIMITS.historyPerModel}` })) }, { additionalProperties: false });

const ModelWithVersions = Type.Object({ ...RegisteredModelSchema.properties, versions: Type.Array(ModelVersionSchema, { description: 'newest first' }) });
const ModelList = Type.Object({ total: Type.Integer(), models: Type.Array(RegisteredModelSchema) });
const AliasReply = Type.Object({ alias: Type.String(), version: Type.Integer(), previous: Type.Union([Type.Integer(), Type.Null()], { description: 'the version the alias named before' }) });
const StageReply = Type.Object({ version: ModelVersionSchema, archived: Type.Array(Type.Integer(), { description: 'versions moved to Archived' }) });
const Bytes = { content: { '*/*': { schema: {} } } };

export const modelRoutes: FastifyPluginAsync<ModelRouteOptions> = async (app, { registry, access, experimentProject }) => {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const by = (req: FastifyRequest) => principal(req).owner;

  /** A version the request named, or the 404 that says which part is missing. */
  const mustVersion = async (name: string, version: number): Promise<ModelVersion> => {
    const v = await registry.getVersion(name, version);
    if (!v) throw (await registry.modelProject(name)) ? versionNotFound(name, version, 'params.version') : modelNotFound(name, 'params.name');
    return v;
  };

  r.post('/models', {
    schema: { summary: 'Register a model (a name in a project)', body: CreateModelBody, response: { 201: RegisteredModelSchema, ...errorResponses } },
    config: { auth: { token: true, note: 'role `editor` in the model\'s project' } },
  }, async (req, reply) => {
    const who = principal(req);
    const project = req.body.project ?? (who.project !== '*' ? who.project : DEFAULT_PROJECT);
    await access.require(who, project, 'editor', () => new TunehiveError('TH_ERR_PROJECT_NOT_FOUND', `no project ${JSON.stringify(project)} (or no access to it)`, [{ field: 'project', reason: 'no such project (or no access to it)' }]));
    req.authProject = project;
    const m = await registry.createModel({ name: req.body.name, project, ...(req.body.description !== undefined ? { description: req.body.description } : {}), ...(req.body.tags ? { tags: req.body.tags } : {}), createdBy: who.owner });
    req.auditTarget = { model: m.name };
    return reply.status(201).send(m);
  });

  r.get('/models', {
    schema: { summary: 'List registered models (those of projects the caller may read), by name', querystring: ListQuery, response: { 200: ModelList, ...errorResponses } },
    config: { auth: { token: true, note: 'lists the models of projects the token may read' } },
  }, async (req) => {
    const readable = await access.readable(principal(req));
    const projects = req.query.project ? (readable && !readable.includes(req.query.project) ? [] : [req.query.project]) : readable;
    return registry.listModels({ projects, ...(req.query.nameLike !== undefined ? { nameLike: req.query.nameLike } : {}), offset: req.query.offset ?? 0, limit: req.query.limit ?? 100 });
  });

  r.get('/models/resolve', {
    schema: { summary: 'Resolve a models:/ URI to the version it names', querystring: ResolveQuery, response: { 200: ModelVersionSchema, ...errorResponses } },
    config: { auth: { token: true, note: 'role `viewer` in the model\'s project' } },
  }, async (req) => {
    // The project is checked before anything about the versions is said (an unreadable model is unknown).
    const { name } = parseModelUri(req.query.uri, 'query.uri');
    const project = await registry.modelProject(name);
    if (!project) throw modelNotFound(name, 'query.uri');
    await access.require(principal(req), project, 'viewer', () => modelNotFound(name, 'query.uri'));
    return registry.resolve(req.query.uri);
  });

  r.get('/models/:name', {
    schema: { summary: 'A registered model with its versions', params: NameParams, response: { 200: ModelWithVersions, ...errorResponses } },
    config: { auth: { model: 'viewer' } },
  }, async (req) => {
    const m = await registry.getModel(req.params.name);
    if (!m) throw modelNotFound(req.params.name, 'params.name');
    return { ...m, versions: await registry.listVersions(m.name) };
  });

  r.patch('/models/:name', {
    schema: { summary: 'Change a model\'s description or tags, or rename it', params: NameParams, body: UpdateModelBody, response: { 200: RegisteredModelSchema, ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req) => {
    const { description, tags, newName } = req.body;
    let m = description !== undefined || tags ? await registry.updateModel(req.params.name, { ...(description !== undefined ? { description } : {}), ...(tags ? { tags } : {}) }) : undefined;
    if (newName !== undefined && newName !== req.params.name) m = await registry.renameModel(req.params.name, newName);
    return m ?? (await registry.getModel(req.params.name))!;
  });

  r.delete('/models/:name', {
    schema: { summary: 'Delete a model, every version and their files', params: NameParams, response: { 200: Type.Object({ name: Type.String(), deleted: Type.Literal(true) }), ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req) => {
    await registry.deleteModel(req.params.name);
    return { name: req.params.name, deleted: true as const };
  });

  r.post('/models/:name/versions', {
    schema: { summary: 'Register a version from a run\'s artifacts (copied into the registry; lineage snapshotted)', params: NameParams, body: CreateVersionBody, response: { 201: ModelVersionSchema, ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req, reply) => {
    const { runId, path } = req.body.source !== undefined ? parseRunSource(req.body.source, 'source') : { runId: req.body.runId, path: req.body.path ?? 'model' };
    if (!runId) throw new TunehiveError('TH_ERR_REQUEST_INVALID', 'a version needs runId (with path) or source', [{ field: 'runId', reason: 'is required (or give source: runs:/<runId>/<path>)' }]);
    await requireRun(runId, 'viewer', principal(req));
    const v = await registry.createVersion({
      name: req.params.name, runId, path, createdBy: by(req),
      ...(req.body.description !== undefined ? { description: req.body.description } : {}), ...(req.body.tags ? { tags: req.body.tags } : {}),
    });
    req.auditTarget = { model: v.name, version: String(v.version), runId };
    return reply.status(201).send(v);
  });

  const requireRun = async (runId: string, role: Role, who: ReturnType<typeof principal>) => {
    const missing = () => new TunehiveError('TH_ERR_RUN_NOT_FOUND', `no run with id ${JSON.stringify(runId.slice(0, 100))}`, [{ field: 'runId', reason: 'no such run' }]);
    const ref = parseRunId(runId);
    const project = ref && (await experimentProject(ref.experimentId));
    if (!project) throw missing();
    await access.require(who, project, role, missing);
  };

  r.get('/models/:name/versions', {
    schema: { summary: 'The versions of a model, newest first', params: NameParams, response: { 200: Type.Object({ versions: Type.Array(ModelVersionSchema) }), ...errorResponses } },
    config: { auth: { model: 'viewer' } },
  }, async (req) => ({ versions: await registry.listVersions(req.params.name) }));

  r.get('/models/:name/versions/:version', {
    schema: { summary: 'One version', params: VersionParams, response: { 200: ModelVersionSchema, ...errorResponses } },
    config: { auth: { model: 'viewer' } },
  }, async (req) => mustVersion(req.params.name, req.params.version));

  r.patch('/models/:name/versions/:version', {
    schema: { summary: 'Change a version\'s description or tags', params: VersionParams, body: UpdateVersionBody, response: { 200: ModelVersionSchema, ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req) => {
    await mustVersion(req.params.name, req.params.version);
    return registry.updateVersion(req.params.name, req.params.version, { ...(req.body.description !== undefined ? { description: req.body.description } : {}), ...(req.body.tags ? { tags: req.body.tags } : {}) });
  });

  r.delete('/models/:name/versions/:version', {
    schema: { summary: 'Delete a version (its aliases and files go with it)', params: VersionParams, response: { 200: Type.Object({ name: Type.String(), version: Type.Integer(), deleted: Type.Literal(true) }), ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req) => {
    await mustVersion(req.params.name, req.params.version);
    await registry.deleteVersion(req.params.name, req.params.version, by(req));
    return { name: req.params.name, version: req.params.version, deleted: true as const };
  });

  r.post('/models/:name/versions/:version/stage', {
    schema: { summary: 'Move a version to a stage (legacy; aliases are preferred)', params: VersionParams, body: StageBody, response: { 200: StageReply, ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req) => {
    await mustVersion(req.params.name, req.params.version);
    return registry.setStage(req.params.name, req.params.version, parseStage(req.body.stage), req.body.archiveExisting ?? false, by(req));
  });

  r.put('/models/:name/aliases/:alias', {
    schema: { summary: 'Point an alias at a version (moves it if it named another)', params: AliasParams, body: AliasBody, response: { 200: AliasReply, ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req) => {
    await mustVersion(req.params.name, req.body.version);
    const { previous } = await registry.setAlias(req.params.name, req.params.alias, req.body.version, by(req));
    return { alias: req.params.alias, version: req.body.version, previous: previous ?? null };
  });

  r.delete('/models/:name/aliases/:alias', {
    schema: { summary: 'Remove an alias', params: AliasParams, response: { 200: Type.Object({ alias: Type.String(), deleted: Type.Literal(true) }), ...errorResponses } },
    config: { auth: { model: 'editor' } },
  }, async (req) => {
    await registry.deleteAlias(req.params.name, req.params.alias, by(req));
    return { alias: req.params.alias, deleted: true as const };
  });

  r.get('/models/:name/history', {
    schema: { summary: 'Stage and alias changes, newest first (who and when)', params: NameParams, querystring: HistoryQuery, response: { 200: Type.Object({ events: Type.Array(HistoryEventSchema) }), ...errorResponses } },
    config: { auth: { model: 'viewer' } },
  }, async (req) => ({ events: await registry.history(req.params.name, req.query.limit) }));

  r.get('/models/:name/versions/:version/files', {
    schema: { summary: 'The files of a version', params: VersionParams, response: { 200: Type.Object({ files: Type.Array(ModelFileSchema) }), ...errorResponses } },
    config: { auth: { model: 'viewer' } },
  }, async (req) => ({ files: (await mustVersion(req.params.name, req.params.version)).files }));

  r.get('/models/:name/versions/:version/files/*', {
    schema: {
      summary: 'Download one file of a version (streamed; one byte range with Range: bytes=a-b)', params: FileParams, headers: Type.Object({ range: Type.Optional(Type.String({ maxLength: 200 })) }),
      response: { 200: { description: 'the file\'s bytes', ...Bytes }, 206: { description: 'the requested range', ...Bytes }, 416: { description: 'the range lies outside the file', ...Bytes }, ...errorResponses },
    } as never,
    config: { auth: { model: 'viewer' } },
  }, async (req, reply) => {
    const params = req.params as { name: string; version: number; '*': string };
    const v = await mustVersion(params.name, Number(params.version));
    const file = v.files.find((f) => f.path === params['*']);
    if (!file) throw new TunehiveError('TH_ERR_ARTIFACT_NOT_FOUND', `version ${v.version} of ${v.name} has no file ${JSON.stringify(params['*'].slice(0, 300))}`, [{ field: 'params.*', reason: 'no such file' }]);
    const range = parseRange(req.headers.range, file.size);
    void reply.header('accept-ranges', 'bytes').header('etag', `"${file.sha256}"`).header('x-content-sha256', file.sha256)
      .header('x-content-type-options', 'nosniff').header('content-disposition', disposition(file.path)).type('application/octet-stream');
    if (range === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${file.size}`).type('application/json')
        .send({ error: { code: 'TH_ERR_REQUEST_INVALID', message: `range ${req.headers.range} lies outside the file's ${file.size} bytes`, fields: [{ field: 'headers.range', reason: `outside the ${file.size} bytes` }] } });
    }
    if (range) {
      void reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${file.size}`).header('content-length', range.end - range.start + 1);
      return reply.send(await registry.openFile(v, file.path, range));
    }
    void reply.header('content-length', file.size);
    return reply.send(file.size === 0 ? '' : await registry.openFile(v, file.path));
  });
};
