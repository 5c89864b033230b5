/** The registry's objects as the native API shows them (TypeBox: validated, serialised, published). */
import { Type, type Static } from 'typebox';
import { STAGES, VERSION_STATUSES, type ModelVersion, type RegisteredModel } from './model-registry.js';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);
const Ms = Type.Integer({ description: 'ms since the epoch' });
const Tags = Type.Record(Type.String(), Type.String());

export const ModelFileSchema = Type.Object({ path: Type.String(), size: Type.Integer(), sha256: Type.String({ description: 'hex SHA-256 of the bytes' }) });
export const LineageSchema = Type.Object({
  runId: Type.String(), experimentId: Type.String(), project: Type.String(), runName: Type.String(),
  studyId: Nullable(Type.String()), trialNumber: Nullable(Type.Integer()), runStatus: Type.String(),
  params: Tags, metrics: Type.Record(Type.String(), Type.Number(), { description: 'latest value of each metric at registration' }),
  code: Type.Union([Type.Object({
    source: Type.String(), commit: Type.Optional(Type.String()), branch: Type.Optional(Type.String()), dirty: Type.Optional(Type.Boolean()),
    version: Type.Optional(Type.String()), remote: Type.Optional(Type.String()),
  }), Type.Null()]),
  data: Type.Union([Type.Object({ source: Type.String(), version: Type.Optional(Type.String()), files: Type.Integer({ description: 'data files hashed' }) }), Type.Null()]),
}, { description: 'the run as it was when the version was registered' });

export const ModelVersionSchema = Type.Object({
  name: Type.String(), version: Type.Integer({ minimum: 1 }), createdAt: Ms, updatedAt: Ms, createdBy: Type.String(), description: Type.String(),
  source: Type.String({ description: 'runs:/<runId>/<path>' }), runId: Type.String(), artifactPath: Type.String(), runLink: Type.String(),
  status: Type.Enum([...VERSION_STATUSES]), statusMessage: Type.String(), stage: Type.Enum([...STAGES]), tags: Tags,
  aliases: Type.Array(Type.String()), lineage: LineageSchema, files: Type.Array(ModelFileSchema),
});
export const RegisteredModelSchema = Type.Object({
  name: Type.String(), project: Type.String(), description: Type.String(), createdAt: Ms, updatedAt: Ms, createdBy: Type.String(), tags: Tags,
  aliases: Type.Record(Type.String(), Type.Integer(), { description: 'alias -> version' }),
  latestVersions: Type.Array(ModelVersionSchema, { description: 'the newest version in each stage that has one' }),
});
export const HistoryEventSchema = Type.Object({
  time: Ms, by: Type.String(), kind: Type.Enum(['stage', 'alias', 'alias-deleted', 'version-created', 'version-deleted']), version: Type.Integer(),
  alias: Type.Optional(Type.String()), from: Type.Optional(Type.Union([Type.String(), Type.Integer()])), to: Type.Optional(Type.String()),
});

export type ModelVersionBody = Static<typeof ModelVersionSchema>;
export type RegisteredModelBody = Static<typeof RegisteredModelSchema>;
export const versionBody = (v: ModelVersion): ModelVersionBody => v as ModelVersionBody;
export const modelBody = (m: RegisteredModel): RegisteredModelBody => m as RegisteredModelBody;
