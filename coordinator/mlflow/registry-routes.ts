/**
 * MLflow's model registry endpoints (`model_registry.proto`; shapes and error codes as in
 * https://mlflow.org/docs/latest/rest-api.html), over the ModelRegistry. Paths are relative to
 * `/api/2.0/mlflow` (and `/ajax-api/2.0/mlflow`): register them inside the one
 * `registerMlflowRoutes(app, 'mlflow', ...)` scope (a prefix has one MLflow scope).
 *
 * Names are in the body or the query, not the path, so the rule is "any token" and each handler
 * checks the role in the model's project: viewer to read, editor to write; a model the caller
 * cannot read is RESOURCE_DOES_NOT_EXIST like an unknown one. A model created here goes to the
 * project named by its `tunehive.project` tag, else the token's project, else "default".
 *
 * `get-download-uri`: MLflow's client downloads what the URI names through the artifact proxy
 * (`mlflow-artifacts:`, which lists and serves runs' artifacts). While the source run still holds
 * every file of the version with the registered SHA-256, the answer is that run's artifact URI
 * (the same bytes); once it does not (the run or its study deleted, a file replaced), it is
 * `mlflow-artifacts:/registry/<name>/<version>`, the registry's own copy, which the native API
 * serves (GET /api/v1/models/:name/versions/:version/files/*) and the proxy does not yet.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { TunehiveError, type ErrorCode } from '../../shared/errors.js';
import { parseRunId } from '../../shared/run-model.js';
import { PROJECT_NAME } from '../../shared/study-spec.js';
import { DEFAULT_PROJECT } from '../../shared/trial-job.js';
import type { Access } from '../auth/access.js';
import { principal } from '../auth/http-auth.js';
import type { Role } from '../store/credential-store.js';
import type { ArtifactService } from '../artifacts/artifact-service.js';
import type { RunStore } from '../runs/run-store-contract.js';
import { parseRunSource, parseStage, STAGES, type ModelRegistry, type ModelVersion, type RegisteredModel } from '../registry/model-registry.js';
import { mlflowModel, mlflowVersion, MlflowModelVersion, MlflowRegisteredModel } from './registry-views.js';
import { compareBy, matchesClauses, parseRegistryFilter, parseRegistryOrderBy } from './registry-search.js';
import { body, decodePageToken, doesNotExist, Empty, encodePageToken, ERROR_RESPONSES, invalidParam, missingParam, MlflowError } from './wire.js';

export interface MlflowRegistryDeps { registry: ModelRegistry; access: Access; runs: RunStore; artifacts: ArtifactService }

export const PROJECT_TAG = 'tunehive.project';
const Str = Type.String({ maxLength: 6000 });
const Tag = Type.Object({ key: Type.String({ maxLength: 250 }), value: Type.Optional(Type.String({ maxLength: 5000 })) });
const Version = Type.Union([Type.String({ maxLength: 20 }), Type.Integer()], { description: 'a version number' });
const Bool = Type.Union([Type.Boolean(), Type.String({ pattern: '^(true|false|True|False)$' })]);
const StrList = Type.Union([Type.Array(Type.String({ maxLength: 300 }), { maxItems: 20 }), Type.String({ maxLength: 300 })]);

const RM_FILTER_KEYS = new Set(['name', 'tags']);
const RM_ORDER_KEYS = new Set(['name', 'timestamp', 'creation_timestamp', 'last_updated_timestamp']);
const MV_FILTER_KEYS = new Set(['name', 'run_id', 'source_path', 'version_number', 'tags', 'current_stage']);
const MV_ORDER_KEYS = new Set(['name', 'version_number', 'creation_timestamp', 'last_updated_timestamp', 'timestamp']);

type Who = ReturnType<typeof principal>;
/** What an unreadable thing is answered with: exactly what an unknown one gets. */
const hidden = (code: ErrorCode, field: string, message: string) => new TunehiveError(code, message, [{ field, reason: message }]);
const list = (v: string | string[] | undefined) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);
const truthy = (v: boolean | string | undefined) => v === true || v === 'true' || v === 'True';

/**
 * What both registry searches (models, versions) do with MLflow's request before they filter:
 * the page size and its ceiling, the parsed filter and order, and the page of the sorted hits a
 * page token (tied to this filter and order) names.
 */
function searchQuery(q: { filter?: string; max_results?: number; order_by?: string | string[]; page_token?: string },
  o: { defaultMax: number; maxMax: number; filterKeys: ReadonlySet<string>; orderKeys: ReadonlySet<string> }) {
  const max = q.max_results ?? o.defaultMax;
  if (max > o.maxMax) throw invalidParam('max_results', `Invalid value for request parameter max_results. It must be at most ${o.maxMax}, but got value ${max}`);
  const clauses = parseRegistryFilter(q.filter, o.filterKeys);
  const order = parseRegistryOrderBy(list(q.order_by), o.orderKeys);
  const sig = JSON.stringify([q.filter ?? '', order]);
  const start = decodePageToken(q.page_token, (v): v is { o: number; s: string } => typeof v.o === 'number' && Number.isSafeInteger(v.o) && v.o >= 0 && v.s === sig)?.o ?? 0;
  const page = <T>(hits: T[]) => ({
    items: hits.slice(start, start + max),
    next: start + max < hits.length ? { next_page_token: encodePageToken({ o: start + max, s: sig }) } : {},
  });
  return { clauses, order, page };
}

export async function mlflowRegistryRoutes(scope: FastifyInstance, { registry, access, runs, artifacts }: MlflowRegistryDeps): Promise<void> {
  const r = scope.withTypeProvider<TypeBoxTypeProvider>();
  const auth = { auth: { token: true as const, note: 'role `viewer` (reads) or `editor` (writes) in the registered model\'s project' } };

  const modelMissing = (name: string) => doesNotExist(`Registered Model with name=${name} not found`);
  const versionMissing = (name: string, version: string | number) => doesNotExist(`Model Version (name=${name}, version=${version}) not found`);

  /** The model's project after the role check; unknown or unreadable: RESOURCE_DOES_NOT_EXIST. */
  const withModel = async (who: Who, name: string | undefined, role: Role, req: FastifyRequest): Promise<string> => {
    if (name === undefined || name === '') throw missingParam('name');
    const project = await registry.modelProject(name);
    if (!project) throw modelMissing(name);
    await access.require(who, project, role, () => hidden('TH_ERR_MODEL_NOT_FOUND', 'name', modelMissing(name).message));
    req.authProject = project;
    return name;
  };
  const versionOf = (v: string | number | undefined): number => {
    if (v === undefined || v === '') throw missingParam('version');
    const n = typeof v === 'number' ? v : /^\d{1,9}$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw invalidParam('version', `${JSON.stringify(String(v).slice(0, 20))} is not a version number`);
    return n;
  };
  const mustVersion = async (name: string, version: number): Promise<ModelVersion> => {
    const v = await registry.getVersion(name, version);
    if (!v) throw versionMissing(name, version);
    return v;
  };
  /** DELETE requests carry their fields in the body (MLflow's client) or the query (curl, other clients). */
  const fields = <T>(req: FastifyRequest): T => ({ ...(req.query as object), ...((req.body as object | undefined) ?? {}) }) as T;

  // ---- registered models ----

  const CreateModel = body({ name: Type.String({ maxLength: 300 }), tags: Type.Array(Tag, { maxItems: 200 }), description: Str }, ['name']);
  r.post('/registered-models/create', { schema: { summary: 'MLflow: create a registered model', body: CreateModel, response: { 200: Type.Object({ registered_model: MlflowRegisteredModel }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const who = principal(req);
    const tags = Object.fromEntries((req.body.tags ?? []).map((t) => [t.key, t.value ?? '']));
    const project = tags[PROJECT_TAG] ?? (who.project !== '*' ? who.project : DEFAULT_PROJECT);
    delete tags[PROJECT_TAG];
    if (!PROJECT_NAME.test(project)) throw invalidParam(`tags.${PROJECT_TAG}`, `${JSON.stringify(project.slice(0, 80))} is not a project name`);
    await access.require(who, project, 'editor', () => hidden('TH_ERR_PROJECT_NOT_FOUND', `tags.${PROJECT_TAG}`, `Project ${project} not found (or no access to it)`));
    req.authProject = project;
    const m = await registry.createModel({ name: req.body.name, project, description: req.body.description ?? '', tags, createdBy: who.owner });
    return { registered_model: mlflowModel(m) };
  });

  const NameQuery = body({ name: Type.String({ maxLength: 300 }) }, ['name']);
  r.get('/registered-models/get', { schema: { summary: 'MLflow: get a registered model', querystring: NameQuery, response: { 200: Type.Object({ registered_model: MlflowRegisteredModel }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.query.name, 'viewer', req);
    const m = await registry.getModel(name);
    if (!m) throw modelMissing(name);
    return { registered_model: mlflowModel(m) };
  });

  const SearchModels = body({ filter: Type.String({ maxLength: 4000 }), max_results: Type.Integer({ minimum: 1 }), order_by: StrList, page_token: Type.String({ maxLength: 4096 }) });
  const searchModels = async (req: FastifyRequest, q: Static<typeof SearchModels>) => {
    const { clauses, order, page } = searchQuery(q, { defaultMax: 100, maxMax: 1000, filterKeys: RM_FILTER_KEYS, orderKeys: RM_ORDER_KEYS });
    const all = (await registry.listModels({ projects: await access.readable(principal(req)), offset: 0, limit: Number.MAX_SAFE_INTEGER })).models;
    const get = (m: RegisteredModel, key: string): string | number | undefined =>
      key.startsWith('tags.') ? m.tags[key.slice(5)] : key === 'name' ? m.name : key === 'creation_timestamp' ? m.createdAt : m.updatedAt;
    const hits = all.filter((m) => matchesClauses((k) => get(m, k), clauses))
      .sort(compareBy((m: RegisteredModel, k) => get(m, k) ?? '', [...order, { key: 'name', desc: false }]));
    const p = page(hits);
    return { registered_models: p.items.map(mlflowModel), ...p.next };
  };
  const SearchModelsReply = Type.Object({ registered_models: Type.Array(MlflowRegisteredModel), next_page_token: Type.Optional(Type.String()) });
  r.get('/registered-models/search', { schema: { summary: 'MLflow: search registered models', querystring: SearchModels, response: { 200: SearchModelsReply, ...ERROR_RESPONSES } }, config: auth }, (req) => searchModels(req, req.query));
  r.post('/registered-models/search', { schema: { summary: 'MLflow: search registered models (POST)', body: SearchModels, response: { 200: SearchModelsReply, ...ERROR_RESPONSES } }, config: auth }, (req) => searchModels(req, req.body));

  const Rename = body({ name: Type.String({ maxLength: 300 }), new_name: Type.String({ maxLength: 300 }) }, ['name', 'new_name']);
  r.post('/registered-models/rename', { schema: { summary: 'MLflow: rename a registered model', body: Rename, response: { 200: Type.Object({ registered_model: MlflowRegisteredModel }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.body.name, 'editor', req);
    return { registered_model: mlflowModel(await registry.renameModel(name, req.body.new_name)) };
  });

  const UpdateModel = body({ name: Type.String({ maxLength: 300 }), description: Str }, ['name']);
  r.patch('/registered-models/update', { schema: { summary: 'MLflow: update a registered model\'s description', body: UpdateModel, response: { 200: Type.Object({ registered_model: MlflowRegisteredModel }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.body.name, 'editor', req);
    return { registered_model: mlflowModel(await registry.updateModel(name, { ...(req.body.description !== undefined ? { description: req.body.description } : {}) })) };
  });

  r.delete('/registered-models/delete', { schema: { summary: 'MLflow: delete a registered model (its versions and files)', response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), fields<{ name?: string }>(req).name, 'editor', req);
    await registry.deleteModel(name);
    return {};
  });

  const LatestVersions = body({ name: Type.String({ maxLength: 300 }), stages: StrList }, ['name']);
  const latestVersions = async (req: FastifyRequest, q: Static<typeof LatestVersions>) => {
    const name = await withModel(principal(req), q.name, 'viewer', req);
    const stages = (list(q.stages) ?? []).map((s, i) => parseStage(s, `stages[${i}]`));
    const versions = await registry.listVersions(name);
    const out = (stages.length ? stages : [...STAGES]).map((s) => versions.find((v) => v.stage === s)).filter((v): v is ModelVersion => v !== undefined);
    return { model_versions: out.sort((a, b) => a.version - b.version).map(mlflowVersion) };
  };
  const LatestReply = Type.Object({ model_versions: Type.Array(MlflowModelVersion) });
  r.post('/registered-models/get-latest-versions', { schema: { summary: 'MLflow: the latest version in each stage (legacy)', body: LatestVersions, response: { 200: LatestReply, ...ERROR_RESPONSES } }, config: auth }, (req) => latestVersions(req, req.body));
  r.get('/registered-models/get-latest-versions', { schema: { summary: 'MLflow: the latest version in each stage (legacy, GET)', querystring: LatestVersions, response: { 200: LatestReply, ...ERROR_RESPONSES } }, config: auth }, (req) => latestVersions(req, req.query));

  const ModelTag = body({ name: Type.String({ maxLength: 300 }), key: Type.String({ maxLength: 300 }), value: Type.String({ maxLength: 6000 }) }, ['name', 'key']);
  r.post('/registered-models/set-tag', { schema: { summary: 'MLflow: set a tag of a registered model', body: ModelTag, response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.body.name, 'editor', req);
    await registry.updateModel(name, { tags: { [req.body.key]: req.body.value ?? '' } });
    return {};
  });
  r.delete('/registered-models/delete-tag', { schema: { summary: 'MLflow: delete a tag of a registered model', response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const f = fields<{ name?: string; key?: string }>(req);
    const name = await withModel(principal(req), f.name, 'editor', req);
    if (!f.key) throw missingParam('key');
    const m = await registry.getModel(name);
    if (m && !(f.key in m.tags)) throw doesNotExist(`No tag with name: ${f.key} in registered model ${name}`);
    await registry.updateModel(name, { tags: { [f.key]: null } });
    return {};
  });

  const SetAlias = body({ name: Type.String({ maxLength: 300 }), alias: Type.String({ maxLength: 300 }), version: Version }, ['name', 'alias', 'version']);
  r.post('/registered-models/alias', { schema: { summary: 'MLflow: point an alias at a version', body: SetAlias, response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.body.name, 'editor', req);
    const version = versionOf(req.body.version);
    await mustVersion(name, version);
    await registry.setAlias(name, req.body.alias, version, principal(req).owner);
    return {};
  });
  const AliasQuery = body({ name: Type.String({ maxLength: 300 }), alias: Type.String({ maxLength: 300 }) }, ['name', 'alias']);
  r.get('/registered-models/alias', { schema: { summary: 'MLflow: the version an alias names', querystring: AliasQuery, response: { 200: Type.Object({ model_version: MlflowModelVersion }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.query.name, 'viewer', req);
    const v = await registry.resolve(`models:/${name}@${req.query.alias}`).catch((err: unknown) => {
      if (err instanceof Error && 'code' in err && err.code === 'TH_ERR_MODEL_ALIAS_NOT_FOUND') throw doesNotExist(`Registered model alias ${req.query.alias} not found.`);
      throw err;
    });
    return { model_version: mlflowVersion(v) };
  });
  r.delete('/registered-models/alias', { schema: { summary: 'MLflow: delete an alias', response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const f = fields<{ name?: string; alias?: string }>(req);
    const name = await withModel(principal(req), f.name, 'editor', req);
    if (!f.alias) throw missingParam('alias');
    await registry.deleteAlias(name, f.alias, principal(req).owner);
    return {};
  });

  // ---- model versions ----

  const CreateVersion = body({ name: Type.String({ maxLength: 300 }), source: Type.String({ maxLength: 1200 }), run_id: Type.String({ maxLength: 64 }), tags: Type.Array(Tag, { maxItems: 200 }), run_link: Type.String({ maxLength: 2000 }), description: Str }, ['name', 'source']);
  r.post('/model-versions/create', { schema: { summary: 'MLflow: register a version from a run\'s artifacts', body: CreateVersion, response: { 200: Type.Object({ model_version: MlflowModelVersion }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const who = principal(req);
    const name = await withModel(who, req.body.name, 'editor', req);
    const { runId, path } = sourceOf(req.body.source, req.body.run_id);
    const ref = parseRunId(runId);
    const project = ref && (await runs.experimentProject(ref.experimentId));
    if (!project) throw doesNotExist(`Run with id=${runId} not found`);
    await access.require(who, project, 'viewer', () => hidden('TH_ERR_RUN_NOT_FOUND', 'run_id', `Run with id=${runId} not found`));
    const v = await registry.createVersion({
      name, runId, path, createdBy: who.owner, description: req.body.description ?? '', runLink: req.body.run_link ?? '',
      tags: Object.fromEntries((req.body.tags ?? []).map((t) => [t.key, t.value ?? ''])),
    });
    return { model_version: mlflowVersion(v) };
  });

  const VersionQuery = body({ name: Type.String({ maxLength: 300 }), version: Version }, ['name', 'version']);
  r.get('/model-versions/get', { schema: { summary: 'MLflow: get a model version', querystring: VersionQuery, response: { 200: Type.Object({ model_version: MlflowModelVersion }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.query.name, 'viewer', req);
    return { model_version: mlflowVersion(await mustVersion(name, versionOf(req.query.version))) };
  });

  const SearchVersions = body({ filter: Type.String({ maxLength: 4000 }), max_results: Type.Integer({ minimum: 1 }), order_by: StrList, page_token: Type.String({ maxLength: 4096 }) });
  const searchVersions = async (req: FastifyRequest, q: Static<typeof SearchVersions>) => {
    const { clauses, order, page } = searchQuery(q, { defaultMax: 10_000, maxMax: 200_000, filterKeys: MV_FILTER_KEYS, orderKeys: MV_ORDER_KEYS });
    // A `name = '...'` clause reads one model; otherwise every readable model's versions.
    const named = clauses.find((c) => c.key === 'name' && c.op === '=');
    let models: RegisteredModel[];
    if (named) {
      const project = await registry.modelProject(String(named.value));
      const role = project && (await access.roleIn(principal(req), project));
      const m = role ? await registry.getModel(String(named.value)) : undefined;
      models = m ? [m] : [];
    } else {
      models = (await registry.listModels({ projects: await access.readable(principal(req)), offset: 0, limit: Number.MAX_SAFE_INTEGER })).models;
    }
    const versions = (await Promise.all(models.map((m) => registry.listVersions(m.name)))).flat();
    const get = (v: ModelVersion, key: string): string | number | undefined =>
      key.startsWith('tags.') ? v.tags[key.slice(5)] : key === 'name' ? v.name : key === 'run_id' ? v.runId : key === 'source_path' ? v.source
        : key === 'version_number' ? v.version : key === 'current_stage' ? v.stage : key === 'creation_timestamp' ? v.createdAt : v.updatedAt;
    const hits = versions.filter((v) => matchesClauses((k) => get(v, k), clauses))
      .sort(compareBy((v: ModelVersion, k) => get(v, k) ?? '', [...order, { key: 'name', desc: false }, { key: 'version_number', desc: true }]));
    const p = page(hits);
    return { model_versions: p.items.map(mlflowVersion), ...p.next };
  };
  const SearchVersionsReply = Type.Object({ model_versions: Type.Array(MlflowModelVersion), next_page_token: Type.Optional(Type.String()) });
  r.get('/model-versions/search', { schema: { summary: 'MLflow: search model versions', querystring: SearchVersions, response: { 200: SearchVersionsReply, ...ERROR_RESPONSES } }, config: auth }, (req) => searchVersions(req, req.query));
  r.post('/model-versions/search', { schema: { summary: 'MLflow: search model versions (POST)', body: SearchVersions, response: { 200: SearchVersionsReply, ...ERROR_RESPONSES } }, config: auth }, (req) => searchVersions(req, req.body));

  const UpdateVersion = body({ name: Type.String({ maxLength: 300 }), version: Version, description: Str }, ['name', 'version']);
  r.patch('/model-versions/update', { schema: { summary: 'MLflow: update a model version\'s description', body: UpdateVersion, response: { 200: Type.Object({ model_version: MlflowModelVersion }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.body.name, 'editor', req);
    const version = versionOf(req.body.version);
    await mustVersion(name, version);
    return { model_version: mlflowVersion(await registry.updateVersion(name, version, { ...(req.body.description !== undefined ? { description: req.body.description } : {}) })) };
  });

  r.delete('/model-versions/delete', { schema: { summary: 'MLflow: delete a model version (its files and aliases)', response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const f = fields<{ name?: string; version?: string | number }>(req);
    const name = await withModel(principal(req), f.name, 'editor', req);
    const version = versionOf(f.version);
    await mustVersion(name, version);
    await registry.deleteVersion(name, version, principal(req).owner);
    return {};
  });

  const Transition = body({ name: Type.String({ maxLength: 300 }), version: Version, stage: Type.String({ maxLength: 40 }), archive_existing_versions: Bool }, ['name', 'version', 'stage']);
  r.post('/model-versions/transition-stage', { schema: { summary: 'MLflow: move a version to a stage (deprecated by MLflow in favour of aliases)', body: Transition, response: { 200: Type.Object({ model_version: MlflowModelVersion }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.body.name, 'editor', req);
    const version = versionOf(req.body.version);
    await mustVersion(name, version);
    const out = await registry.setStage(name, version, parseStage(req.body.stage), truthy(req.body.archive_existing_versions), principal(req).owner);
    return { model_version: mlflowVersion(out.version) };
  });

  r.get('/model-versions/get-download-uri', { schema: { summary: 'MLflow: where a version\'s files are', querystring: VersionQuery, response: { 200: Type.Object({ artifact_uri: Type.String() }), ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.query.name, 'viewer', req);
    const v = await mustVersion(name, versionOf(req.query.version));
    return { artifact_uri: (await intactRunUri(artifacts, v)) ?? registryArtifactUri(v) };
  });

  const VersionTag = body({ name: Type.String({ maxLength: 300 }), version: Version, key: Type.String({ maxLength: 300 }), value: Type.String({ maxLength: 6000 }) }, ['name', 'version', 'key']);
  r.post('/model-versions/set-tag', { schema: { summary: 'MLflow: set a tag of a model version', body: VersionTag, response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const name = await withModel(principal(req), req.body.name, 'editor', req);
    const version = versionOf(req.body.version);
    await mustVersion(name, version);
    await registry.updateVersion(name, version, { tags: { [req.body.key]: req.body.value ?? '' } });
    return {};
  });
  r.delete('/model-versions/delete-tag', { schema: { summary: 'MLflow: delete a tag of a model version', response: { 200: Empty, ...ERROR_RESPONSES } }, config: auth }, async (req) => {
    const f = fields<{ name?: string; version?: string | number; key?: string }>(req);
    const name = await withModel(principal(req), f.name, 'editor', req);
    const version = versionOf(f.version);
    const v = await mustVersion(name, version);
    if (!f.key) throw missingParam('key');
    if (!(f.key in v.tags)) throw doesNotExist(`No tag with name: ${f.key} for model version ${name} version ${version}`);
    await registry.updateVersion(name, version, { tags: { [f.key]: null } });
    return {};
  });
}

/** The run and artifact path a version source names (`runs:/<id>/<path>`, or the run's artifact URI). */
export function sourceOf(source: string, runId: string | undefined): { runId: string; path: string } {
  if (runId && !source.startsWith('runs:/')) {
    // The client resolved runs:/ to the run's artifact URI: `<anything>/<runId>/artifacts[/<path>]`.
    const at = source.indexOf(`/${runId}/artifacts`);
    if (at >= 0) return { runId, path: source.slice(at + runId.length + '/artifacts'.length + 1).replace(/^\/+|\/+$/g, '') };
  }
  try {
    const s = parseRunSource(source, 'source');
    if (runId && s.runId !== runId) throw invalidParam('source', `names run ${s.runId} but run_id is ${runId}`);
    return s;
  } catch (err) {
    if (err instanceof MlflowError) throw err;
    throw invalidParam('source', `${JSON.stringify(source.slice(0, 200))} is not an artifact location of a Tunehive run (runs:/<run_id>/<path>)`);
  }
}

/** The source run's artifact URI of the version's files, if the run still holds each with its registered checksum. */
export async function intactRunUri(artifacts: ArtifactService, v: ModelVersion): Promise<string | undefined> {
  let space;
  try {
    space = await artifacts.run(v.runId);
  } catch {
    return undefined;
  }
  const single = v.files.length === 1 && v.files[0]!.path === v.artifactPath.slice(v.artifactPath.lastIndexOf('/') + 1);
  const entries = new Map((await artifacts.list(space, v.artifactPath)).map((e) => [e.path, e.sha256]));
  const runPath = (f: string) => (v.artifactPath === '' ? f : single && entries.has(v.artifactPath) ? v.artifactPath : `${v.artifactPath}/${f}`);
  if (!v.files.every((f) => entries.get(runPath(f.path)) === f.sha256)) return undefined;
  return `mlflow-artifacts:/${space.experimentId}/${v.runId}/artifacts${v.artifactPath ? `/${v.artifactPath}` : ''}`;
}

export const registryArtifactUri = (v: ModelVersion) => `mlflow-artifacts:/registry/${encodeURIComponent(v.name)}/${v.version}`;
