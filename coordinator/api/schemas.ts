/**
 * The shapes of the HTTP API: request parts and responses, as TypeBox schemas. Fastify's ajv
 * validates requests with them, fast-json-stringify serialises responses with them (a field
 * missing here is dropped from the answer), @fastify/swagger publishes them, and the handlers'
 * types come from them (`Static`).
 */
import { Type, type Static, type TSchema } from 'typebox';
import { ParamsSchema, ParamValueSchema } from '../../shared/search-space.js';
import { AlgorithmSchema, ObjectiveSchema, ProjectNameSchema } from '../../shared/study-spec.js';
import { STUDY_STATES, TRIAL_STATES } from '../../shared/trial.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ description: 'ISO 8601 time' });
const Literals = <T extends readonly string[]>(values: T, description: string) => Type.Enum([...values] as T[number][], { description });

export const FieldErrorSchema = Type.Object({ field: Type.String(), reason: Type.String() });
export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.String({ description: 'TH_ERR_<AREA>_<WHAT>, or a Fastify FST_ code' }),
    message: Type.String(),
    fields: Type.Array(FieldErrorSchema, { description: 'every bad field with why; empty only for errors no field caused (404 of an unknown route, 5xx)' }),
  }),
});
/** The error answers every route may give (401/403/429: authentication and authorization). */
export const errorResponses = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema, 429: ErrorSchema, 500: ErrorSchema };

/** Study ids are what the store mints (lowercase letters and digits). */
export const StudyIdParams = Type.Object({
  id: Type.String({ maxLength: 64, description: 'a study id' }),
});
export const TellParams = Type.Object({
  id: Type.String({ maxLength: 64, description: 'a study id' }),
  trialId: Type.String({ maxLength: 128, description: 'the trial id (<studyId>.<number>) or its number within the study' }),
});
export const PageQuery = Type.Object({
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'must be an integer >= 0 (default 0)' })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'must be an integer from 0 to 1000 (default 100; 0 reads as 1)' })),
}, { additionalProperties: false });
export const StudyListQuery = Type.Object({
  ...PageQuery.properties,
  project: Type.Optional(ProjectNameSchema),
}, { additionalProperties: false });
export const TrialsQuery = Type.Object({
  ...PageQuery.properties,
  state: Type.Optional(Literals(TRIAL_STATES, `must be one of ${TRIAL_STATES.join(', ')}`)),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'must be the `next` of a previous page (the trials after it, by number); not with offset' })),
}, { additionalProperties: false });

const Counts = Type.Object({
  queued: Type.Integer(), running: Type.Integer(), completed: Type.Integer(), failed: Type.Integer(),
  pruned: Type.Integer(), paused: Type.Integer(), cancelled: Type.Integer(),
});
export const StudyViewSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  project: Type.String({ description: 'the project the study belongs to' }),
  state: Literals(STUDY_STATES, 'the study state'),
  reason: Nullable(Type.String()),
  mode: Type.Union([Type.Literal('workers'), Type.Literal('ask-tell')]),
  objective: ObjectiveSchema,
  algorithm: AlgorithmSchema,
  parallelism: Type.Integer(),
  maxTrials: Type.Integer(),
  created: Type.Integer({ description: 'trials created so far' }),
  counts: Counts,
  best: Nullable(Type.Object({ trialId: Type.String(), number: Type.Integer(), value: Type.Number(), params: Nullable(ParamsSchema) })),
  createdAt: Time,
  finishedAt: Nullable(Time),
});

export const TrialViewSchema = Type.Object({
  id: Type.String(),
  studyId: Type.String(),
  number: Type.Integer(),
  state: Literals(TRIAL_STATES, 'the trial state'),
  params: ParamsSchema,
  value: Nullable(Type.Number()),
  lastObjective: Nullable(Type.Object({ value: Type.Number(), step: Type.Number() })),
  attempt: Type.Integer(),
  workerId: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  exitCode: Nullable(Type.Integer()),
  stderrTail: Nullable(Type.String()),
  budget: Nullable(Type.Number()),
  checkpoint: Nullable(Type.Object({ id: Type.String(), step: Type.Number() })),
  stopLatencyMs: Nullable(Type.Number()),
  /** Output lines cut at the worker's line cap, and the bytes dropped with them. */
  output: Type.Object({ truncatedLines: Type.Integer(), droppedBytes: Type.Integer() }),
  createdAt: Time,
  startedAt: Nullable(Time),
  finishedAt: Nullable(Time),
});

export const StudyPageSchema = Type.Object({ total: Type.Integer(), offset: Type.Integer(), limit: Type.Integer(), studies: Type.Array(StudyViewSchema) });
export const TrialPageSchema = Type.Object({
  total: Type.Integer({ description: 'trials in the study, or with `state`: trials in that state' }),
  offset: Type.Integer({ description: 'how many of those come before this page' }),
  limit: Type.Integer(),
  trials: Type.Array(TrialViewSchema),
  next: Nullable(Type.String({ description: '`cursor` of the next page; null on the last page' })),
});
export const AlgorithmListSchema = Type.Object({ algorithms: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })) });

export const AskReplySchema = Type.Object({ id: Type.String(), number: Type.Integer(), params: ParamsSchema });
export const TellBodySchema = Type.Object({
  value: Type.Optional(Type.Number({ description: 'must be a finite number' })),
  step: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'must be an integer >= 0' })),
  state: Type.Optional(Type.Union([Type.Literal('completed'), Type.Literal('failed'), Type.Literal('pruned')], { description: 'must be "completed", "failed" or "pruned"' })),
  reason: Type.Optional(Type.String({ maxLength: 100_000, description: 'must be a string of at most 100000 characters (the first 1000 are kept)' })),
  /** The params the client evaluated, checked against the trial's: exactly its active parameters, as asked. */
  params: Type.Optional(Type.Record(Type.String(), ParamValueSchema, { maxProperties: 100, description: 'must be an object of at most 100 parameter values: the trial\'s params as asked' })),
}, { additionalProperties: false, description: 'must be an object: {value}, {step, value}, or {state: "failed" | "pruned", reason?}, each with the trial\'s params if wanted' });
export const TellReplySchema = Type.Object({
  state: Type.String(),
  decision: Type.Optional(Type.Union([Type.Literal('continue'), Type.Literal('prune')])),
});

export const WorkerListSchema = Type.Object({
  workers: Type.Array(Type.Object({
    id: Type.String(),
    updatedAt: Type.Number(),
    info: Type.Record(Type.String(), Type.Unknown(), { description: 'what the agent registered: hardware, slots, GPUs, runtime, state' }),
  })),
});
export const HealthSchema = Type.Object({ status: Type.String() });
export const NotReadySchema = Type.Object({ status: Type.String(), reason: Type.String() });

export type StudyView = Static<typeof StudyViewSchema>;
export type TrialView = Static<typeof TrialViewSchema>;
export type TellBody = Static<typeof TellBodySchema>;
export type PageQuery = Static<typeof PageQuery>;
