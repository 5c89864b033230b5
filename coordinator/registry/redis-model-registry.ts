/**
 * ModelRegistry over Redis (keys in shared/redis-keys.ts under one `{registry}` hash tag, every
 * multi-key change a registry*.lua script) and the artifact store: a version's files live under
 * `registry/<modelId>/<version>/`, copied (size and SHA-256 checked on the way) from the run's
 * artifacts, so the registry owns them whatever happens to the run.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { RedisClient } from '../../shared/redis.js';
import { TunehiveError } from '../../shared/errors.js';
import { keys, registryModelKeys } from '../../shared/redis-keys.js';
import { likeRegExp } from '../../shared/run-filter/evaluate.js';
import type { ArtifactService } from '../artifacts/artifact-service.js';
import type { ByteRange } from '../artifacts/artifact-store.js';
import type { RunStore } from '../runs/run-store-contract.js';
import type { RedisStudyStore } from '../store/study-store.js';
import {
  checkAlias, checkDescription, checkModelName, checkTags, modelNotFound, parseModelUri, REGISTRY_LIMITS, STAGES, versionNotFound,
  type CreateVersionInput, type HistoryEvent, type ModelFile, type ModelLineage, type ModelRegistry, type ModelVersion, type RegisteredModel,
  type Stage, type TagPatch,
} from './model-registry.js';

/**
 * What a version's hash field holds (the rest of ModelVersion is derived). The lineage travels
 * as a JSON string inside it: Lua's cjson rewrites the document on every change and keeps only
 * 14 significant digits of a number, which would round the metrics (0.98342541436464 for
 * 0.9834254143646409); a string it leaves alone.
 */
type VersionDoc = Omit<ModelVersion, 'name' | 'aliases' | 'modelId' | 'lineage'> & { lineageJson: string };

interface ModelRecord { id: string; name: string; project: string; description: string; createdAt: number; updatedAt: number; createdBy: string; tags: Record<string, string> }

/** Where a version's files are stored (a prefix the registry alone writes and deletes). */
export const registryFileKey = (modelId: string, version: number, path?: string) => `registry/${modelId}/${version}${path === undefined ? '' : `/${path}`}`;

const limit = (what: string, max: number, field: string) => new TunehiveError('TH_ERR_MODEL_LIMIT', `${what} (at most ${max})`, [{ field, reason: `at most ${max}` }]);

export interface RegistryDeps { studies: RedisStudyStore; runs: RunStore; artifacts: ArtifactService }

export class RedisModelRegistry implements ModelRegistry {
  private readonly redis: RedisClient;
  private readonly p: string;

  constructor(private readonly deps: RegistryDeps) {
    this.redis = deps.studies.redis;
    this.p = deps.studies.prefix;
  }

  private script(name: Parameters<RedisStudyStore['script']>[0], keyList: string[], args: (string | number)[]): Promise<unknown> {
    return this.deps.studies.script(name, keyList, args);
  }

  private async idOf(name: string): Promise<string | undefined> {
    return (await this.redis.hget(keys.registryNames(this.p), name)) ?? undefined;
  }

  private async record(name: string): Promise<ModelRecord | undefined> {
    const id = await this.idOf(name);
    if (!id) return undefined;
    const h = await this.redis.hgetall(keys.registryModel(this.p, id));
    return h.id ? toRecord(h) : undefined;
  }

  private async mustRecord(name: string): Promise<ModelRecord> {
    const r = await this.record(name);
    if (!r) throw modelNotFound(name);
    return r;
  }

  async modelProject(name: string): Promise<string | undefined> {
    const id = await this.idOf(name);
    return id ? ((await this.redis.hget(keys.registryModel(this.p, id), 'project')) ?? undefined) : undefined;
  }

  async createModel(input: { name: string; project: string; description?: string; tags?: Record<string, string>; createdBy: string }, now = Date.now()): Promise<RegisteredModel> {
    checkModelName(input.name);
    checkDescription(input.description);
    checkTags(input.tags);
    const tags = Object.entries(input.tags ?? {});
    if (tags.length > REGISTRY_LIMITS.tagsPerModel) throw limit('too many tags', REGISTRY_LIMITS.tagsPerModel, 'tags');
    if ((await this.redis.hlen(keys.registryNames(this.p))) >= REGISTRY_LIMITS.models) throw limit('the registry is full', REGISTRY_LIMITS.models, 'name');
    const id = randomBytes(8).toString('hex');
    const ok = await this.script('registryCreateModel-2', [keys.registryNames(this.p), keys.registryModel(this.p, id)],
      [id, input.name, input.project, input.description ?? '', now, input.createdBy, ...tags.flat()]);
    if (ok !== 1) {
      throw new TunehiveError('TH_ERR_MODEL_EXISTS', `a registered model named ${JSON.stringify(input.name)} exists`, [{ field: 'name', reason: 'already registered' }]);
    }
    return (await this.getModel(input.name))!;
  }

  async getModel(name: string): Promise<RegisteredModel | undefined> {
    const r = await this.record(name);
    return r && this.view(r);
  }

  private async view(r: ModelRecord): Promise<RegisteredModel> {
    const [versions, aliases] = await Promise.all([this.versionsOf(r), this.aliasesOf(r.id)]);
    const latest: ModelVersion[] = [];
    for (const stage of STAGES) {
      const v = versions.find((x) => x.stage === stage);
      if (v) latest.push(v);
    }
    return {
      name: r.name, project: r.project, description: r.description, createdAt: r.createdAt, updatedAt: r.updatedAt, createdBy: r.createdBy, tags: r.tags,
      aliases: Object.fromEntries([...aliases].map(([a, v]) => [a, v])), latestVersions: latest.sort((a, b) => a.version - b.version),
    };
  }

  private async aliasesOf(id: string): Promise<Map<string, number>> {
    const h = await this.redis.hgetall(keys.registryAliases(this.p, id));
    return new Map(Object.entries(h).map(([a, v]) => [a, Number(v)]).sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)) as Array<[string, number]>);
  }

  private async versionsOf(r: ModelRecord): Promise<ModelVersion[]> {
    const [h, aliases] = await Promise.all([this.redis.hgetall(keys.registryVersions(this.p, r.id)), this.aliasesOf(r.id)]);
    return Object.values(h).map((raw) => this.versionView(r, raw, aliases)).sort((a, b) => b.version - a.version);
  }

  private versionView(r: ModelRecord, raw: string, aliases: Map<string, number>): ModelVersion {
    const { lineageJson, ...d } = JSON.parse(raw) as VersionDoc;
    return {
      ...d,
      lineage: JSON.parse(lineageJson) as ModelLineage,
      name: r.name, modelId: r.id,
      // An empty Lua table encodes as {}: lists and maps come back normalised.
      files: Array.isArray(d.files) ? d.files : [],
      tags: d.tags && !Array.isArray(d.tags) ? d.tags : {},
      stage: d.stage ?? 'None',
      aliases: [...aliases].filter(([, v]) => v === d.version).map(([a]) => a),
    } as ModelVersion;
  }

  async listModels(q: { projects: readonly string[] | undefined; nameLike?: string; caseInsensitive?: boolean; tags?: Record<string, string>; offset: number; limit: number }): Promise<{ total: number; models: RegisteredModel[] }> {
    const names = await this.redis.hgetall(keys.registryNames(this.p));
    const like = q.nameLike === undefined ? undefined : likeRegExp(q.nameLike, q.caseInsensitive ?? false);
    const candidates = Object.entries(names).filter(([n]) => !like || like.test(n)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const pipe = this.redis.pipeline();
    for (const [, id] of candidates) pipe.hgetall(keys.registryModel(this.p, id));
    const rows = ((await pipe.exec()) ?? []).map(([, h]) => h as Record<string, string>);
    const allowed = q.projects && new Set(q.projects);
    const records = rows.filter((h) => h.id).map(toRecord)
      .filter((r) => !allowed || allowed.has(r.project))
      .filter((r) => Object.entries(q.tags ?? {}).every(([k, v]) => r.tags[k] === v));
    const page = records.slice(q.offset, q.offset + q.limit);
    return { total: records.length, models: await Promise.all(page.map((r) => this.view(r))) };
  }

  async updateModel(name: string, patch: { description?: string; tags?: TagPatch }, now = Date.now()): Promise<RegisteredModel> {
    checkDescription(patch.description);
    checkTags(patch.tags);
    const r = await this.mustRecord(name);
    const entries = Object.entries(patch.tags ?? {});
    const body = { ...(patch.description !== undefined ? { description: patch.description } : {}), set: Object.fromEntries(entries.filter(([, v]) => v !== null)), del: entries.filter(([, v]) => v === null).map(([k]) => k) };
    const res = await this.script('registryPatchModel-1', [keys.registryModel(this.p, r.id)], [now, luaJson(body), REGISTRY_LIMITS.tagsPerModel]);
    if (res === 0) throw modelNotFound(name);
    if (res === -1) throw limit(`model ${name} would have too many tags`, REGISTRY_LIMITS.tagsPerModel, 'tags');
    return (await this.getModel(name))!;
  }

  async renameModel(name: string, newName: string, now = Date.now()): Promise<RegisteredModel> {
    checkModelName(newName, 'new_name');
    const r = await this.mustRecord(name);
    const res = await this.script('registryRename-2', [keys.registryNames(this.p), keys.registryModel(this.p, r.id)], [r.id, name, newName, now]);
    if (res === -1) throw modelNotFound(name);
    if (res === 0) throw new TunehiveError('TH_ERR_MODEL_EXISTS', `a registered model named ${JSON.stringify(newName)} exists`, [{ field: 'new_name', reason: 'already registered' }]);
    return (await this.getModel(newName))!;
  }

  async deleteModel(name: string): Promise<void> {
    const r = await this.mustRecord(name);
    const [k0, k1, k2, k3] = registryModelKeys(this.p, r.id);
    const res = await this.script('registryDeleteModel-5', [keys.registryNames(this.p), k0!, k1!, k2!, k3!], [r.id, name]);
    if (res !== 1) throw modelNotFound(name);
    // Keys first: a crash between the two leaves unreachable bytes, never a model without its files.
    await this.deps.artifacts.store.deletePrefix(`registry/${r.id}`);
  }

  async createVersion(input: CreateVersionInput, now = Date.now()): Promise<ModelVersion> {
    checkDescription(input.description);
    checkTags(input.tags);
    if (Object.keys(input.tags ?? {}).length > REGISTRY_LIMITS.tagsPerVersion) throw limit('too many tags', REGISTRY_LIMITS.tagsPerVersion, 'tags');
    if (input.path !== '' && (input.path.startsWith('/') || input.path.split('/').some((s) => s === '' || s === '.' || s === '..'))) {
      throw new TunehiveError('TH_ERR_ARTIFACT_PATH', `artifact path ${JSON.stringify(input.path.slice(0, 200))} must be a plain relative path`, [{ field: 'path', reason: 'must be a plain relative path such as "model"' }]);
    }
    const r = await this.mustRecord(input.name);
    const run = await this.deps.runs.getRun(input.runId);
    if (!run) throw new TunehiveError('TH_ERR_RUN_NOT_FOUND', `no run with id ${JSON.stringify(input.runId.slice(0, 100))}`, [{ field: 'run_id', reason: 'no such run' }]);
    const space = await this.deps.artifacts.run(input.runId);
    const entries = (await this.deps.artifacts.list(space, input.path)).filter((e) => input.path === '' || e.path === input.path || e.path.startsWith(`${input.path}/`));
    if (entries.length === 0) {
      throw new TunehiveError('TH_ERR_ARTIFACT_NOT_FOUND', `run ${input.runId} has no artifacts at or below ${JSON.stringify(input.path)}`, [{ field: 'path', reason: 'no artifacts there' }]);
    }
    if (entries.length > REGISTRY_LIMITS.filesPerVersion) throw limit(`a version holds too many files (${entries.length})`, REGISTRY_LIMITS.filesPerVersion, 'path');
    const prov = run.provenance;
    const lineage: ModelLineage = {
      runId: run.id, experimentId: run.experimentId, project: run.project, runName: run.name, studyId: run.studyId, trialNumber: run.trialNumber, runStatus: run.status,
      params: run.params, metrics: Object.fromEntries(Object.entries(run.metrics).map(([k, m]) => [k, m.value])),
      code: prov ? { source: prov.code.source, ...pick(prov.code, ['commit', 'branch', 'dirty', 'version', 'remote']) } : null,
      data: prov ? { source: prov.data.source, ...(prov.data.version !== undefined ? { version: prov.data.version } : {}), files: prov.data.files.length } : null,
    };
    const doc: Omit<VersionDoc, 'version'> = {
      createdAt: now, updatedAt: now, createdBy: input.createdBy, description: input.description ?? '',
      source: `runs:/${input.runId}${input.path ? `/${input.path}` : ''}`, runId: input.runId, artifactPath: input.path, runLink: input.runLink ?? '',
      status: 'PENDING_REGISTRATION', statusMessage: '', stage: 'None', tags: input.tags ?? {}, lineageJson: JSON.stringify(lineage), files: [],
    };
    const [mk, vk, , hk] = registryModelKeys(this.p, r.id);
    const v = Number(await this.script('registryCreateVersion-3', [mk!, vk!, hk!], [luaJson(doc), now, REGISTRY_LIMITS.versionsPerModel, REGISTRY_LIMITS.historyPerModel, input.createdBy]));
    if (v === -1) throw modelNotFound(input.name);
    if (v === -2) throw limit(`model ${input.name} has too many versions`, REGISTRY_LIMITS.versionsPerModel, 'name');
    const files: ModelFile[] = [];
    try {
      for (const e of entries) {
        const rel = input.path === '' ? e.path : e.path === input.path ? e.path.slice(e.path.lastIndexOf('/') + 1) : e.path.slice(input.path.length + 1);
        const body = await this.deps.artifacts.open(space, e.path);
        const stored = await this.deps.artifacts.store.put(registryFileKey(r.id, v, rel), body, { size: e.size, sha256: e.sha256 });
        files.push({ path: rel, size: stored.size, sha256: stored.sha256 });
      }
    } catch (err) {
      await this.deps.artifacts.store.deletePrefix(registryFileKey(r.id, v)).catch(() => 0);
      const message = err instanceof Error ? err.message.slice(0, 500) : 'copy failed';
      await this.patchVersion(r, v, { status: 'FAILED_REGISTRATION', statusMessage: `copying the run's files failed: ${message}` }, Date.now());
      throw err;
    }
    try {
      return await this.patchVersion(r, v, { status: 'READY', files }, Date.now());
    } catch (err) {
      // The version (or its model) was deleted while its files were copied: that deletion's
      // deletePrefix may have run before the last put, so these bytes would have no owner.
      await this.deps.artifacts.store.deletePrefix(registryFileKey(r.id, v)).catch(() => 0);
      throw err;
    }
  }

  private async patchVersion(r: ModelRecord, version: number, patch: Record<string, unknown>, now: number): Promise<ModelVersion> {
    const res = await this.script('registryPatchVersion-2', [keys.registryModel(this.p, r.id), keys.registryVersions(this.p, r.id)], [version, luaJson(patch), now, REGISTRY_LIMITS.tagsPerVersion]);
    if (res === null) throw versionNotFound(r.name, version);
    if (res === -1) throw limit(`version ${version} would have too many tags`, REGISTRY_LIMITS.tagsPerVersion, 'tags');
    return this.versionView(r, res as string, await this.aliasesOf(r.id));
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    const r = await this.record(name);
    if (!r) return undefined;
    const raw = await this.redis.hget(keys.registryVersions(this.p, r.id), String(version));
    return raw ? this.versionView(r, raw, await this.aliasesOf(r.id)) : undefined;
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.versionsOf(await this.mustRecord(name));
  }

  async updateVersion(name: string, version: number, patch: { description?: string; tags?: TagPatch }, now = Date.now()): Promise<ModelVersion> {
    checkDescription(patch.description);
    checkTags(patch.tags);
    const entries = Object.entries(patch.tags ?? {});
    return this.patchVersion(await this.mustRecord(name), version, {
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      set: Object.fromEntries(entries.filter(([, v]) => v !== null)), del: entries.filter(([, v]) => v === null).map(([k]) => k),
    }, now);
  }

  async deleteVersion(name: string, version: number, by: string, now = Date.now()): Promise<void> {
    const r = await this.mustRecord(name);
    const res = await this.script('registryDeleteVersion-4', registryModelKeys(this.p, r.id), [version, by, now, REGISTRY_LIMITS.historyPerModel]);
    if (res !== 1) throw versionNotFound(name, version);
    await this.deps.artifacts.store.deletePrefix(registryFileKey(r.id, version));
  }

  async setStage(name: string, version: number, stage: Stage, archiveExisting: boolean, by: string, now = Date.now()): Promise<{ version: ModelVersion; archived: number[] }> {
    const r = await this.mustRecord(name);
    const res = await this.script('registryTransition-3', [keys.registryModel(this.p, r.id), keys.registryVersions(this.p, r.id), keys.registryHistory(this.p, r.id)],
      [version, stage, archiveExisting ? '1' : '0', by, now, REGISTRY_LIMITS.historyPerModel]);
    if (res === null) throw versionNotFound(name, version);
    if (res === -1) throw notReady(version, stage);
    const changes = JSON.parse(res as string) as Array<{ version: number }> | Record<string, never>;
    const archived = (Array.isArray(changes) ? changes : []).map((c) => c.version).filter((v) => v !== version);
    return { version: (await this.getVersion(name, version))!, archived };
  }

  async setAlias(name: string, alias: string, version: number, by: string, now = Date.now()): Promise<{ previous: number | undefined }> {
    checkAlias(alias);
    const r = await this.mustRecord(name);
    const [mk, vk, ak, hk] = registryModelKeys(this.p, r.id);
    const res = await this.script('registrySetAlias-4', [mk!, vk!, ak!, hk!], [alias, version, by, now, REGISTRY_LIMITS.historyPerModel, REGISTRY_LIMITS.aliasesPerModel]);
    if (res === -1) throw versionNotFound(name, version);
    if (res === -2) throw limit(`model ${name} has too many aliases`, REGISTRY_LIMITS.aliasesPerModel, 'alias');
    if (res === -3) throw notReady(version, `alias ${alias}`);
    return { previous: res === '' ? undefined : Number(res) };
  }

  async deleteAlias(name: string, alias: string, by: string, now = Date.now()): Promise<void> {
    const r = await this.mustRecord(name);
    const res = await this.script('registryDeleteAlias-3', [keys.registryModel(this.p, r.id), keys.registryAliases(this.p, r.id), keys.registryHistory(this.p, r.id)],
      [alias, by, now, REGISTRY_LIMITS.historyPerModel]);
    if (res === -1) throw aliasNotFound(name, alias);
  }

  async history(name: string, max: number = REGISTRY_LIMITS.historyPerModel): Promise<HistoryEvent[]> {
    const r = await this.mustRecord(name);
    const rows = await this.redis.lrange(keys.registryHistory(this.p, r.id), 0, Math.max(0, Math.min(max, REGISTRY_LIMITS.historyPerModel)) - 1);
    return rows.map((x) => JSON.parse(x) as HistoryEvent);
  }

  async resolve(uri: string): Promise<ModelVersion> {
    const ref = parseModelUri(uri);
    const r = await this.record(ref.name);
    if (!r) throw modelNotFound(ref.name, 'uri');
    if (ref.kind === 'version') {
      const v = await this.getVersion(ref.name, ref.version);
      if (!v) throw versionNotFound(ref.name, ref.version, 'uri');
      return v;
    }
    if (ref.kind === 'alias') {
      const v = await this.redis.hget(keys.registryAliases(this.p, r.id), ref.alias);
      const found = v === null ? undefined : await this.getVersion(ref.name, Number(v));
      if (!found) throw aliasNotFound(ref.name, ref.alias, 'uri');
      return found;
    }
    const versions = await this.versionsOf(r);
    const found = ref.kind === 'latest' ? versions.find((v) => v.status === 'READY') : versions.find((v) => v.stage === ref.stage && v.status === 'READY');
    if (!found) throw versionNotFound(ref.name, ref.kind === 'latest' ? 'latest' : `in stage ${ref.stage}`, 'uri');
    return found;
  }

  openFile(v: ModelVersion, path: string, range?: ByteRange): Promise<Readable> {
    return this.deps.artifacts.store.get(registryFileKey(v.modelId, v.version, path), range);
  }
}

const notReady = (version: number, target: string) => {
  const reason = `version ${version} is not READY (still registering, or its registration failed): only a READY version gets ${target}`;
  return new TunehiveError('TH_ERR_MODEL_VERSION_NOT_READY', reason, [{ field: 'version', reason }]);
};

export const aliasNotFound = (name: string, alias: string, field = 'alias') =>
  new TunehiveError('TH_ERR_MODEL_ALIAS_NOT_FOUND', `registered model ${JSON.stringify(name.slice(0, 140))} has no alias ${JSON.stringify(alias.slice(0, 260))}`, [{ field, reason: 'no such alias' }]);

function toRecord(h: Record<string, string>): ModelRecord {
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('t:')) tags[k.slice(2)] = v;
  return {
    id: h.id!, name: h.name!, project: h.project!, description: h.description ?? '', createdAt: Number(h.createdAt), updatedAt: Number(h.updatedAt), createdBy: h.createdBy ?? '',
    tags: Object.fromEntries(Object.entries(tags).sort((a, b) => (a[0] < b[0] ? -1 : 1))),
  };
}

function pick<T extends object, K extends keyof T>(o: T, ks: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of ks) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * JSON for Lua's cjson: it reads every number as a double and writes doubles back with 14
 * significant digits, so ms timestamps (13 digits) and version numbers survive; an empty
 * object and an empty array both decode to an empty table (normalised when read).
 */
function luaJson(v: unknown): string {
  return JSON.stringify(v);
}
