/**
 * Runs and experiments (issue 11): ids, statuses, provenance and the API's view of a run. A
 * project holds experiments; an experiment holds runs. A study is an experiment with a search
 * attached (its experiment id is its study id) and each of its trials is a run (run id = trial
 * id). Runs created directly by a client live in a plain experiment, or in a study's.
 *
 * Run ids always start with their experiment's id, so the experiment (and so the project and
 * the Redis hash slot) is known from the id alone, without a lookup:
 *   trial run   `<experimentId>.<number>`       e.g. `k3x9q2.17`
 *   direct run  `<experimentId>.r<12 base36>`   e.g. `k3x9q2.r0a9z8y7x6w5v`
 */
import { Type, type Static } from 'typebox';
import { STUDY_ID } from './redis-keys.js';
import type { TrialState } from './trial.js';

/** Experiment ids share the study id charset: a study's experiment id is its study id. */
export const EXPERIMENT_ID = STUDY_ID;
const DIRECT_SUFFIX = /^r[a-z0-9]{12}$/;

export type RunRef =
  | { runId: string; experimentId: string; kind: 'trial'; trialNumber: number }
  | { runId: string; experimentId: string; kind: 'direct' };

export function parseRunId(id: string): RunRef | undefined {
  if (typeof id !== 'string' || id.length > 60) return undefined;
  const dot = id.indexOf('.');
  if (dot < 0) return undefined;
  const experimentId = id.slice(0, dot);
  const rest = id.slice(dot + 1);
  if (!EXPERIMENT_ID.test(experimentId)) return undefined;
  if (/^\d{1,9}$/.test(rest)) return { runId: id, experimentId, kind: 'trial', trialNumber: Number(rest) };
  if (DIRECT_SUFFIX.test(rest)) return { runId: id, experimentId, kind: 'direct' };
  return undefined;
}

/** A fresh direct run id in an experiment (12 base36 characters: about 62 random bits). */
export function newDirectRunId(experimentId: string, random: (n: number) => Buffer): string {
  const bytes = random(12);
  let s = '';
  for (const b of bytes) s += (b % 36).toString(36);
  return `${experimentId}.r${s}`;
}

/** MLflow's run statuses (`RunStatus` in MLflow's service.proto). */
export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/**
 * How trial states show as run statuses. `attributes.state` keeps Tunehive's own state.
 * PAUSED is RUNNING: the trial waits for a promotion and may still report (ASHA); PRUNED and
 * CANCELLED are KILLED: ended by Tunehive, not by the program.
 */
export const RUN_STATUS_OF_TRIAL: Record<TrialState, RunStatus> = {
  QUEUED: 'SCHEDULED',
  RUNNING: 'RUNNING',
  PAUSED: 'RUNNING',
  COMPLETED: 'FINISHED',
  FAILED: 'FAILED',
  PRUNED: 'KILLED',
  CANCELLED: 'KILLED',
};

/** Bounds of what a client or a program may store on a run (checked where it is written). */
export const RUN_LIMITS = {
  tagKeyLength: 250,
  tagValueLength: 5000,
  tagsPerRun: 200,
  paramKeyLength: 250,
  paramValueLength: 6000,
  paramsPerRun: 1000,
  noteBytes: 64 * 1024,
  nameLength: 250,
} as const;

const Str = (max: number) => Type.String({ maxLength: max });

/** What produced a run: captured by the worker for every attempt, without the user writing code. */
export const ProvenanceSchema = Type.Object({
  /** The attempt this was captured for (trial runs); 0 for a direct run's client. */
  attempt: Type.Integer({ minimum: 0 }),
  capturedAt: Type.Integer({ minimum: 0, description: 'ms since the epoch' }),
  code: Type.Object({
    /** `git` when read from the trial's working directory, `spec` from `trial.codeVersion`, `none` otherwise. */
    source: Type.Union([Type.Literal('git'), Type.Literal('spec'), Type.Literal('none')]),
    commit: Type.Optional(Str(64)),
    branch: Type.Optional(Str(250)),
    dirty: Type.Optional(Type.Boolean()),
    /** The `origin` remote, with any credentials in the URL removed. */
    remote: Type.Optional(Str(1000)),
    /** `trial.codeVersion` from the spec, verbatim. */
    version: Type.Optional(Str(250)),
    /** The working directory the program ran in. */
    workdir: Type.Optional(Str(4096)),
  }, { additionalProperties: false }),
  data: Type.Object({
    /** One version for the whole data: a `tunehive.data_version=` line, or a SHA-256 over the file hashes below. */
    version: Type.Optional(Str(250)),
    source: Type.Union([Type.Literal('files'), Type.Literal('dvc'), Type.Literal('program'), Type.Literal('none')]),
    /** `sha256` is '' and `error` says why for a file that could not be hashed (`missing`, ...). */
    files: Type.Array(Type.Object({ path: Str(4096), size: Type.Integer({ minimum: 0 }), sha256: Str(64), error: Type.Optional(Str(200)) }, { additionalProperties: false }), { maxItems: 1000 }),
    /** Hashes found in DVC `.dvc` / `dvc.lock` files: path -> md5 (or the hash DVC recorded). */
    dvc: Type.Array(Type.Object({ path: Str(4096), hash: Str(128), file: Str(4096) }, { additionalProperties: false }), { maxItems: 1000 }),
  }, { additionalProperties: false }),
  /** The container image as named in the spec and the digest the engine ran (container runtime). */
  image: Type.Optional(Type.Object({
    reference: Str(255), digest: Type.Optional(Str(200)),
    /** The reference that runs exactly this image again (`repo@sha256:...`, or the local image id): what a rerun runs. */
    pinned: Type.Optional(Str(255)),
  }, { additionalProperties: false })),
  command: Type.Array(Str(8192), { maxItems: 1000 }),
  /** The program's environment minus secrets (names that look like secrets are dropped, not masked). */
  env: Type.Record(Type.String({ maxLength: 200 }), Str(8192), { maxProperties: 1000 }),
  /** `TUNEHIVE_SEED` as given to the program. */
  seed: Type.Integer({ minimum: 0, maximum: 0xffffffff }),
  runtime: Type.Optional(Type.Union([Type.Literal('process'), Type.Literal('container'), Type.Literal('simulated')])),
  /** The worker that ran the attempt (its start is about `capturedAt` of the first report). */
  workerId: Type.Optional(Str(200)),
  /** When the attempt's program was started (ms since the epoch). */
  startedAt: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });
export type Provenance = Static<typeof ProvenanceSchema>;

/** A metric's latest value, as MLflow keeps it (the point with the latest timestamp). */
export const LatestMetricSchema = Type.Object({ value: Type.Number(), step: Type.Integer(), timestamp: Type.Integer() }, { additionalProperties: false });

/** A run as the API returns it (`GET /api/v1/runs/:id`, search results). */
export const RunViewSchema = Type.Object({
  id: Type.String(),
  experimentId: Type.String(),
  project: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('trial'), Type.Literal('direct')]),
  status: Type.Enum([...RUN_STATUSES]),
  /** Tunehive's own state: a trial's state, or the status for a direct run. */
  state: Type.String(),
  startTime: Type.Union([Type.Integer(), Type.Null()], { description: 'ms since the epoch' }),
  endTime: Type.Union([Type.Integer(), Type.Null()]),
  parentRunId: Type.Union([Type.String(), Type.Null()]),
  params: Type.Record(Type.String(), Type.String()),
  metrics: Type.Record(Type.String(), LatestMetricSchema),
  tags: Type.Record(Type.String(), Type.String()),
  note: Type.String(),
  /** The latest attempt's provenance (all attempts: GET /api/v1/runs/:id/provenance). */
  provenance: Type.Union([ProvenanceSchema, Type.Null()]),
  /** A trial run's study and number. */
  studyId: Type.Union([Type.String(), Type.Null()]),
  trialNumber: Type.Union([Type.Integer(), Type.Null()]),
  /** The run this one re-ran (issue 14's `tunehive rerun`). */
  rerunOf: Type.Union([Type.String(), Type.Null()]),
}, { additionalProperties: false });
export type RunView = Static<typeof RunViewSchema>;
