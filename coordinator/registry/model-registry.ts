/**
 * The model registry (issue 12): registered models, their versions (created from a run's
 * artifacts, whose files the registry copies into its own space so that deleting the run's
 * study leaves a registered model whole), aliases, legacy stages and a history of every stage
 * and alias change. The native API (/api/v1/models), the MLflow registry endpoints and the CLI
 * all go through this interface.
 *
 * Atomic: createModel (name claimed with the record), rename, deleteModel (keys), createVersion
 * (number allocated with the document), setAlias (moving an alias is one step), setStage with
 * archiveExisting (every archived version in the same step), deleteVersion (with its aliases).
 * Files are copied before a version is READY and removed after its keys are gone.
 */
import type { Readable } from 'node:stream';
import { TunehiveError } from '../../shared/errors.js';
import type { ByteRange } from '../artifacts/artifact-store.js';

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
export const VERSION_STATUSES = ['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY'] as const;
export type VersionStatus = (typeof VERSION_STATUSES)[number];

export const REGISTRY_LIMITS = {
  nameLength: 128,
  descriptionLength: 5000,
  tagKeyLength: 250,
  tagValueLength: 5000,
  tagsPerModel: 100,
  tagsPerVersion: 100,
  /** MLflow's backends must support alias names up to 256 bytes. */
  aliasLength: 256,
  aliasesPerModel: 100,
  versionsPerModel: 10_000,
  filesPerVersion: 10_000,
  models: 100_000,
  /** Stage and alias changes kept per model (newest first). */
  historyPerModel: 1000,
} as const;

/** Names go into `models:/<name>/...` URIs and URL paths: letters, digits, `.`, `_`, `-` and inner spaces. */
export const MODEL_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,126}[A-Za-z0-9._-])?$/;
/** Aliases must not read as a version number or a stage (`models:/x@3` would be ambiguous otherwise). */
export const ALIAS_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,255}$/;

export interface ModelFile { path: string; size: number; sha256: string }

/** What the version's run was at registration (a snapshot: the run may change or go later). */
export interface ModelLineage {
  runId: string;
  experimentId: string;
  project: string;
  runName: string;
  studyId: string | null;
  trialNumber: number | null;
  runStatus: string;
  params: Record<string, string>;
  /** Latest value of each metric. */
  metrics: Record<string, number>;
  code: { source: string; commit?: string; branch?: string; dirty?: boolean; version?: string; remote?: string } | null;
  data: { source: string; version?: string; files: number } | null;
}

export interface ModelVersion {
  name: string;
  /** The model's internal id: where its files are stored (never shown; a rename keeps it). */
  modelId: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  description: string;
  /** What it was registered from: `runs:/<runId>/<path>`. */
  source: string;
  runId: string;
  /** The artifact path in the run (a folder or one file). */
  artifactPath: string;
  runLink: string;
  status: VersionStatus;
  statusMessage: string;
  stage: Stage;
  tags: Record<string, string>;
  aliases: string[];
  lineage: ModelLineage;
  files: ModelFile[];
}

export interface RegisteredModel {
  name: string;
  project: string;
  description: string;
  createdAt: number;
  updatedAt: number;
  createdBy: string;
  tags: Record<string, string>;
  /** alias -> version */
  aliases: Record<string, number>;
  /** The newest version in each stage that has one (MLflow's `latest_versions`). */
  latestVersions: ModelVersion[];
}

export interface HistoryEvent {
  time: number;
  by: string;
  kind: 'stage' | 'alias' | 'alias-deleted' | 'version-created' | 'version-deleted';
  version: number;
  alias?: string;
  /** stage: the stage before; alias: the version the alias named before. */
  from?: string | number;
  to?: string;
}

export type TagPatch = Record<string, string | null>;

export interface CreateVersionInput {
  name: string;
  runId: string;
  /** Artifact path in the run ('' : all of its artifacts). */
  path: string;
  description?: string;
  tags?: Record<string, string>;
  runLink?: string;
  createdBy: string;
}

export interface ModelRegistry {
  /** The project of a model (auth); undefined for an unknown one. */
  modelProject(name: string): Promise<string | undefined>;
  createModel(input: { name: string; project: string; description?: string; tags?: Record<string, string>; createdBy: string }, now?: number): Promise<RegisteredModel>;
  getModel(name: string): Promise<RegisteredModel | undefined>;
  /** Sorted by name; `projects` undefined: all. `nameLike` is a SQL LIKE pattern (MLflow's `name LIKE`), `tags` must all match. */
  listModels(q: { projects: readonly string[] | undefined; nameLike?: string; caseInsensitive?: boolean; tags?: Record<string, string>; offset: number; limit: number }): Promise<{ total: number; models: RegisteredModel[] }>;
  updateModel(name: string, patch: { description?: string; tags?: TagPatch }, now?: number): Promise<RegisteredModel>;
  renameModel(name: string, newName: string, now?: number): Promise<RegisteredModel>;
  /** Removes the model, its versions' keys and files. */
  deleteModel(name: string): Promise<void>;

  /** Snapshots the run's lineage and copies its files; READY when it resolves. */
  createVersion(input: CreateVersionInput, now?: number): Promise<ModelVersion>;
  getVersion(name: string, version: number): Promise<ModelVersion | undefined>;
  /** Newest first. */
  listVersions(name: string): Promise<ModelVersion[]>;
  updateVersion(name: string, version: number, patch: { description?: string; tags?: TagPatch }, now?: number): Promise<ModelVersion>;
  deleteVersion(name: string, version: number, by: string, now?: number): Promise<void>;
  setStage(name: string, version: number, stage: Stage, archiveExisting: boolean, by: string, now?: number): Promise<{ version: ModelVersion; archived: number[] }>;
  setAlias(name: string, alias: string, version: number, by: string, now?: number): Promise<{ previous: number | undefined }>;
  deleteAlias(name: string, alias: string, by: string, now?: number): Promise<void>;
  history(name: string, limit?: number): Promise<HistoryEvent[]>;
  /** `models:/name@alias`, `models:/name/<version>`, `models:/name/<stage>`, `models:/name/latest`. */
  resolve(uri: string): Promise<ModelVersion>;
  openFile(v: ModelVersion, path: string, range?: ByteRange): Promise<Readable>;
}

// ---- checks shared by the store and the routes ----

const invalid = (field: string, reason: string) => new TunehiveError('TH_ERR_REQUEST_INVALID', `${field}: ${reason}`, [{ field, reason }]);

export function checkModelName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name)) {
    throw invalid(field, `must be 1 to ${REGISTRY_LIMITS.nameLength} letters, digits, ".", "_", "-" or inner spaces, starting with a letter or digit (${JSON.stringify(String(name).slice(0, 140))})`);
  }
  return name;
}

export function checkAlias(alias: unknown, field = 'alias'): string {
  if (typeof alias !== 'string' || !ALIAS_NAME.test(alias)) {
    throw invalid(field, `must be a letter or "_" then up to 255 letters, digits, "_" or "-" (so it never reads as a version or a stage) (${JSON.stringify(String(alias).slice(0, 60))})`);
  }
  if (alias.toLowerCase() === 'latest') throw invalid(field, '"latest" is reserved (models:/name/latest)');
  return alias;
}

export function checkTags(tags: TagPatch | Record<string, string> | undefined, field = 'tags'): void {
  for (const [k, v] of Object.entries(tags ?? {})) {
    if (k === '' || k.length > REGISTRY_LIMITS.tagKeyLength) throw invalid(`${field}.${k.slice(0, 60)}`, `tag keys must be 1 to ${REGISTRY_LIMITS.tagKeyLength} characters`);
    if (v !== null && (typeof v !== 'string' || v.length > REGISTRY_LIMITS.tagValueLength)) throw invalid(`${field}.${k.slice(0, 60)}`, `tag values must be strings of at most ${REGISTRY_LIMITS.tagValueLength} characters`);
  }
}

export function checkDescription(d: unknown, field = 'description'): void {
  if (d !== undefined && (typeof d !== 'string' || d.length > REGISTRY_LIMITS.descriptionLength)) throw invalid(field, `must be a string of at most ${REGISTRY_LIMITS.descriptionLength} characters`);
}

export function parseStage(s: unknown, field = 'stage'): Stage {
  const found = STAGES.find((x) => typeof s === 'string' && x.toLowerCase() === s.toLowerCase());
  if (!found) throw invalid(field, `must be one of ${STAGES.join(', ')} (${JSON.stringify(String(s).slice(0, 40))})`);
  return found;
}

export type ModelRef =
  | { name: string; kind: 'version'; version: number }
  | { name: string; kind: 'stage'; stage: Stage }
  | { name: string; kind: 'latest' }
  | { name: string; kind: 'alias'; alias: string };

/** MLflow's `models:/` URIs (`_parse_model_uri`): one of a version, a stage, `latest` or `@alias`. */
export function parseModelUri(uri: string, field = 'uri'): ModelRef {
  const bad = (reason: string) => new TunehiveError('TH_ERR_MODEL_URI_INVALID', `${field}: ${reason}`, [{ field, reason }]);
  if (typeof uri !== 'string' || !uri.startsWith('models:/')) throw bad('must look like models:/<name>/<version|stage|latest> or models:/<name>@<alias>');
  const rest = uri.slice('models:/'.length).replace(/^\/+/, '');
  const at = rest.lastIndexOf('@');
  if (at > 0) {
    const name = rest.slice(0, at);
    if (name.includes('/')) throw bad('give either /<version|stage> or @<alias>, not both');
    return { name: checkModelName(name, field), kind: 'alias', alias: checkAlias(rest.slice(at + 1), field) };
  }
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) throw bad('names no version, stage or alias (models:/<name>/<version>, models:/<name>/Production, models:/<name>@champion)');
  const name = checkModelName(rest.slice(0, slash), field);
  const suffix = rest.slice(slash + 1);
  if (/^[1-9]\d{0,8}$/.test(suffix)) return { name, kind: 'version', version: Number(suffix) };
  if (suffix.toLowerCase() === 'latest') return { name, kind: 'latest' };
  const stage = STAGES.find((s) => s.toLowerCase() === suffix.toLowerCase());
  if (!stage) throw bad(`${JSON.stringify(suffix.slice(0, 40))} is no version number, stage (${STAGES.join(', ')}) or "latest"`);
  return { name, kind: 'stage', stage };
}

/** A version source: `runs:/<runId>/<path>`, or MLflow's artifact URI `mlflow-artifacts:/<exp>/<runId>/artifacts/<path>`. */
export function parseRunSource(source: string, field = 'source'): { runId: string; path: string } {
  const m = /^runs:\/+([^/]+)(?:\/(.*))?$/.exec(source) ?? /^mlflow-artifacts:\/+[^/]+\/([^/]+)\/artifacts(?:\/(.*))?$/.exec(source);
  if (!m) {
    throw new TunehiveError('TH_ERR_MODEL_URI_INVALID', `${field}: must be runs:/<runId>/<path> (or mlflow-artifacts:/<experiment>/<runId>/artifacts/<path>)`,
      [{ field, reason: `must be runs:/<runId>/<path> (${JSON.stringify(source.slice(0, 100))})` }]);
  }
  return { runId: m[1]!, path: (m[2] ?? '').replace(/\/+$/, '') };
}

export const modelNotFound = (name: string, field = 'name') =>
  new TunehiveError('TH_ERR_MODEL_NOT_FOUND', `no registered model ${JSON.stringify(name.slice(0, 140))}`, [{ field, reason: 'no such registered model' }]);
export const versionNotFound = (name: string, version: number | string, field = 'version') =>
  new TunehiveError('TH_ERR_MODEL_VERSION_NOT_FOUND', `registered model ${JSON.stringify(name.slice(0, 140))} has no version ${String(version).slice(0, 20)}`, [{ field, reason: 'no such version' }]);
