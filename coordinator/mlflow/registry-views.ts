/**
 * The registry's objects in MLflow's shapes (`model_registry.proto`: RegisteredModel,
 * ModelVersion; https://mlflow.org/docs/latest/rest-api.html): versions are strings, times
 * int64 ms as JSON numbers, tags `[{key, value}]`, aliases `[{alias, version}]` on a model and
 * plain names on a version.
 */
import { Type } from 'typebox';
import type { ModelVersion, RegisteredModel } from '../registry/model-registry.js';

const Tag = Type.Object({ key: Type.String(), value: Type.String() });

export const MlflowModelVersion = Type.Object({
  name: Type.String(), version: Type.String(), creation_timestamp: Type.Integer(), last_updated_timestamp: Type.Integer(), user_id: Type.String(),
  current_stage: Type.String(), description: Type.String(), source: Type.String(), run_id: Type.String(), status: Type.String(), status_message: Type.String(),
  tags: Type.Array(Tag), run_link: Type.String(), aliases: Type.Array(Type.String()),
});
export const MlflowRegisteredModel = Type.Object({
  name: Type.String(), creation_timestamp: Type.Integer(), last_updated_timestamp: Type.Integer(), user_id: Type.String(), description: Type.String(),
  latest_versions: Type.Array(MlflowModelVersion), tags: Type.Array(Tag), aliases: Type.Array(Type.Object({ alias: Type.String(), version: Type.String() })),
});

const tagList = (t: Record<string, string>) => Object.entries(t).map(([key, value]) => ({ key, value }));

export function mlflowVersion(v: ModelVersion) {
  return {
    name: v.name, version: String(v.version), creation_timestamp: v.createdAt, last_updated_timestamp: v.updatedAt, user_id: v.createdBy,
    current_stage: v.stage, description: v.description, source: v.source, run_id: v.runId, status: v.status, status_message: v.statusMessage,
    tags: tagList(v.tags), run_link: v.runLink, aliases: v.aliases,
  };
}

export function mlflowModel(m: RegisteredModel) {
  return {
    name: m.name, creation_timestamp: m.createdAt, last_updated_timestamp: m.updatedAt, user_id: m.createdBy, description: m.description,
    latest_versions: m.latestVersions.map(mlflowVersion), tags: tagList(m.tags),
    aliases: Object.entries(m.aliases).map(([alias, version]) => ({ alias, version: String(version) })),
  };
}
