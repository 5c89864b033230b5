/**
 * The study spec: its schema (TypeBox: the types below, the API's OpenAPI document and the
 * structural check all come from it), its defaults, and the semantic rules a schema cannot say
 * (min < max, placeholders that name parameters, ...). `parseStudySpec` runs both passes and
 * reports every problem, each with the field's path and why. Pure: the coordinator adds the
 * checks of its plug-ins (algorithm and early-stopping settings) on top.
 */
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import type { FieldError } from './errors.js';
import { describeValue as describe, schemaErrors, tooDeep } from './schema-errors.js';
import {
  CategoricalParamSchema, FloatParamSchema, IntParamSchema, reservedName, SAFE_INT, SearchSpaceSchema,
  type ParamSpec, type SearchSpace,
} from './search-space.js';

export const LIMITS = {
  maxTrials: 1_000_000,
  parallelism: 10_000,
  params: 100,
  categoricalValues: 10_000,
  commandArgs: 1_000,
  nameLength: 200,
  /** Nesting of a spec document (settings are free-form objects). */
  depth: 32,
} as const;

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;
export const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,99}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The variables of the trial program contract, which the worker sets itself. */
export const RESERVED_ENV = ['TUNEHIVE_PARAMS', 'TUNEHIVE_TRIAL_ID', 'TUNEHIVE_STUDY_ID', 'TUNEHIVE_TRIAL_NUMBER', 'TUNEHIVE_ATTEMPT',
  'TUNEHIVE_CHECKPOINT_DIR', 'TUNEHIVE_CHECKPOINT_NOTIFY', 'TUNEHIVE_ARTIFACT_DIR', 'TUNEHIVE_RESUME', 'TUNEHIVE_BUDGET', 'CUDA_VISIBLE_DEVICES'];

const intFrom = (min: number, max: number, extra = '') => Type.Integer({ minimum: min, maximum: max, description: `must be an integer from ${min} to ${max}${extra}` });

export const DirectionSchema = Type.Union([Type.Literal('minimize'), Type.Literal('maximize')], { description: 'must be "minimize" or "maximize"' });
export const ObjectiveSchema = Type.Object({
  metric: Type.String({ pattern: METRIC_NAME.source, description: 'must be a metric name such as "accuracy" (letters, digits, _ . / -)' }),
  direction: DirectionSchema,
  goal: Type.Optional(Type.Number({ description: 'must be a finite number' })),
}, { additionalProperties: false, description: 'must be an object {metric, direction, goal?}' });

const SettingsSchema = Type.Record(Type.String(), Type.Unknown(), { description: 'must be an object' });
const SeedSchema = intFrom(0, 0xffffffff);
const AlgorithmName = Type.String({ minLength: 1, description: 'must be an algorithm name' });
export const AlgorithmSchema = Type.Object({ name: AlgorithmName, seed: SeedSchema, settings: SettingsSchema }, { additionalProperties: false });
const AlgorithmInputSchema = Type.Object({ name: AlgorithmName, seed: Type.Optional(SeedSchema), settings: Type.Optional(SettingsSchema) }, {
  additionalProperties: false, description: 'must be an object {name, seed?, settings?}; without a seed one is chosen at random and stored',
});

const RuleName = Type.String({ minLength: 1, description: 'must be a rule name' });
export const EarlyStoppingSchema = Type.Object({ rule: RuleName, settings: SettingsSchema }, { additionalProperties: false });
const EarlyStoppingInputSchema = Type.Object({ rule: RuleName, settings: Type.Optional(SettingsSchema) }, { additionalProperties: false, description: 'must be an object {rule, settings?}' });

const Command = Type.Array(Type.String({ description: 'must be a string' }), {
  minItems: 1, maxItems: LIMITS.commandArgs,
  description: 'must be a non-empty argv array such as ["python3", "train.py", "--lr=${params.lr}"]; it is never run by a shell',
});
const Image = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$', description: 'must be a container image reference such as "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime"' });
const Env = Type.Record(Type.String(), Type.String({ description: 'must be a string' }), { description: 'must be an object of strings' });
const Timeout = Type.Number({ exclusiveMinimum: 0, maximum: 30 * 86400, description: 'must be a number of seconds > 0 and at most 30 days' });
const Gpus = intFrom(0, 64);
const TAG_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/ ]{0,249}$/;
/** Run and experiment tags (shared/run-model.ts RUN_LIMITS bound them). */
export const TagsSchema = Type.Record(Type.String({ pattern: TAG_KEY.source }), Type.String({ maxLength: 5000, description: 'must be a string of at most 5000 characters' }), {
  maxProperties: 200, additionalProperties: false, description: 'must be an object of at most 200 tags, key -> string value (keys: letters, digits, _ . - / and spaces, up to 250 characters)',
});
const Tags = TagsSchema;
const CodeVersion = Type.String({ minLength: 1, maxLength: 250, description: 'must be a string of 1 to 250 characters, such as a git commit or a release tag' });
const DataFiles = Type.Array(Type.String({ minLength: 1, maxLength: 4096, description: 'must be a file path' }), { maxItems: 1000, description: 'must be an array of at most 1000 file paths' });
export const TrialTemplateSchema = Type.Object({
  command: Command,
  /** Container image, for workers that run trials with the container runtime. */
  image: Type.Optional(Image),
  env: Env,
  timeoutSeconds: Type.Optional(Timeout),
  gpus: Gpus,
  /** Tags every trial run starts with (the program, the API and the CLI add more). */
  tags: Type.Optional(Tags),
  /** The code version to record when the working directory is not a git checkout. */
  codeVersion: Type.Optional(CodeVersion),
  /** Files (relative to the working directory, or absolute) whose SHA-256 is the data version. */
  dataFiles: Type.Optional(DataFiles),
}, { additionalProperties: false });
const TrialTemplateInputSchema = Type.Object({
  command: Command, image: Type.Optional(Image), env: Type.Optional(Env), timeoutSeconds: Type.Optional(Timeout), gpus: Type.Optional(Gpus),
  tags: Type.Optional(Tags), codeVersion: Type.Optional(CodeVersion), dataFiles: Type.Optional(DataFiles),
}, { additionalProperties: false, description: 'must be an object {command, env?, timeoutSeconds?, gpus?, image?, tags?, codeVersion?, dataFiles?}' });

/** Per-trial quotas: what one trial may store. */
export const TrialLimitsSchema = Type.Object({
  /** Metric points stored per trial; later points are dropped and counted. */
  maxMetricPoints: intFrom(1, 10_000_000),
  /** Bytes and files of one checkpoint upload. */
  maxCheckpointBytes: intFrom(1, 1024 ** 4),
  maxCheckpointFiles: intFrom(1, 1_000_000),
  /** Bytes and files of artifacts one run may store (all uploads together). */
  maxArtifactBytes: intFrom(1, 1024 ** 4),
  maxArtifactFiles: intFrom(1, 1_000_000),
}, { additionalProperties: false });
const TrialLimitsInputSchema = Type.Partial(TrialLimitsSchema, {
  additionalProperties: false, description: 'must be an object {maxMetricPoints?, maxCheckpointBytes?, maxCheckpointFiles?, maxArtifactBytes?, maxArtifactFiles?}',
});
/** Which trials keep their checkpoints once they reach a final state. */
export const KeepCheckpointsSchema = Type.Union([Type.Literal('best'), Type.Literal('all'), Type.Literal('none')], { description: 'must be "best", "all" or "none"' });

const Name = Type.String({ minLength: 1, maxLength: LIMITS.nameLength, pattern: '\\S', description: `must be a non-empty string of at most ${LIMITS.nameLength} characters` });
/** Project names become parts of Redis key names and URLs: lowercase letters, digits and dashes only. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const DEFAULT_PROJECT = 'default';
export const ProjectNameSchema = Type.String({ pattern: PROJECT_NAME.source, description: 'must be a project name: 1 to 63 lowercase letters, digits and dashes, starting with a letter or digit' });
const Parallelism = intFrom(1, LIMITS.parallelism);
const MaxTrials = intFrom(1, LIMITS.maxTrials);
const MaxFailed = intFrom(0, LIMITS.maxTrials);
const MaxRetries = intFrom(0, 100);
const AskTimeout = Type.Number({ exclusiveMinimum: 0, description: 'must be a number of seconds > 0' });

/** A spec as stored, with every default filled in. */
export const StudySpecSchema = Type.Object({
  name: Name,
  /** The project (tenant) the study belongs to: who may see and change it. */
  project: ProjectNameSchema,
  limits: TrialLimitsSchema,
  keepCheckpoints: KeepCheckpointsSchema,
  objective: ObjectiveSchema,
  searchSpace: SearchSpaceSchema,
  algorithm: AlgorithmSchema,
  parallelism: Parallelism,
  maxTrials: MaxTrials,
  maxFailedTrials: MaxFailed,
  maxRetries: MaxRetries,
  earlyStopping: Type.Optional(EarlyStoppingSchema),
  /** Absent: an ask/tell study, whose trials are evaluated by the client itself. */
  trial: Type.Optional(TrialTemplateSchema),
  /** Ask/tell only: a trial with no tell for this long is FAILED (its client is presumed gone). */
  askTimeoutSeconds: Type.Optional(AskTimeout),
  /** The study's experiment tags. */
  tags: Type.Optional(Tags),
}, { additionalProperties: false });

/** A spec as submitted (JSON or YAML): what `POST /api/v1/studies` takes. */
export const StudySpecInputSchema = Type.Object({
  name: Name,
  project: Type.Optional(ProjectNameSchema),
  limits: Type.Optional(TrialLimitsInputSchema),
  keepCheckpoints: Type.Optional(KeepCheckpointsSchema),
  objective: ObjectiveSchema,
  searchSpace: SearchSpaceSchema,
  algorithm: Type.Optional(AlgorithmInputSchema),
  parallelism: Type.Optional(Parallelism),
  maxTrials: MaxTrials,
  maxFailedTrials: Type.Optional(MaxFailed),
  maxRetries: Type.Optional(MaxRetries),
  earlyStopping: Type.Optional(EarlyStoppingInputSchema),
  trial: Type.Optional(TrialTemplateInputSchema),
  askTimeoutSeconds: Type.Optional(AskTimeout),
  tags: Type.Optional(Tags),
}, { additionalProperties: false, description: 'must be a JSON object' });

export type Direction = Static<typeof DirectionSchema>;
export type Objective = Static<typeof ObjectiveSchema>;
export type AlgorithmSpec = Static<typeof AlgorithmSchema>;
export type EarlyStoppingSpec = Static<typeof EarlyStoppingSchema>;
export type TrialTemplate = Static<typeof TrialTemplateSchema>;
export type TrialLimits = Static<typeof TrialLimitsSchema>;
export type KeepCheckpoints = Static<typeof KeepCheckpointsSchema>;
export type StudySpec = Static<typeof StudySpecSchema>;
export type StudySpecInput = Static<typeof StudySpecInputSchema>;

export const DEFAULT_TRIAL_LIMITS: TrialLimits = {
  maxMetricPoints: 100_000,
  maxCheckpointBytes: 10 * 1024 ** 3,
  maxCheckpointFiles: 10_000,
  maxArtifactBytes: 10 * 1024 ** 3,
  maxArtifactFiles: 10_000,
};

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

export type SpecResult = { ok: true; spec: StudySpec } | { ok: false; errors: FieldError[] };

/**
 * The input schema with each parameter left open: parameters are checked one by one against the
 * variant their type names (a union's error would only say "matches none of float, int,
 * categorical", and TypeBox stops collecting after a few errors per check).
 */
const ReportingSchema = Type.Object({
  ...StudySpecInputSchema.properties,
  searchSpace: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1, maxProperties: LIMITS.params, description: 'must be an object with 1 to 100 parameters' }),
}, { additionalProperties: false, description: 'must be a JSON object' });

const PARAM_VARIANTS = { float: FloatParamSchema, int: IntParamSchema, categorical: CategoricalParamSchema } as const;

/** Validates a parsed JSON/YAML document and returns the spec with defaults filled in. */
export function parseStudySpec(raw: unknown): SpecResult {
  if (!isObject(raw)) return { ok: false, errors: [{ field: '(body)', reason: 'must be a JSON object' }] };
  const deep = tooDeep(raw, LIMITS.depth);
  if (deep) return { ok: false, errors: [{ field: deep, reason: `nests deeper than ${LIMITS.depth} levels` }] };

  // Pass 1, structure: the schema.
  const errors = schemaErrors(ReportingSchema, raw);
  const space = withinLimits(raw).space;
  for (const [name, p] of Object.entries(space)) {
    const at = `searchSpace.${name}`;
    const variant = isObject(p) ? PARAM_VARIANTS[p.type as keyof typeof PARAM_VARIANTS] : undefined;
    if (!isObject(p)) errors.push({ field: at, reason: `must be an object with a type (${describe(p)})` });
    else if (!variant || !Object.hasOwn(PARAM_VARIANTS, p.type as string)) errors.push({ field: `${at}.type`, reason: `must be "float", "int" or "categorical" (${describe(p.type)})` });
    else errors.push(...schemaErrors(variant, p, at));
  }

  // Pass 2, meaning: rules across fields, on every part that passed pass 1.
  const err = (field: string, reason: string) => errors.push({ field, reason });
  semanticChecks(raw, err);

  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, spec: withDefaults(raw as StudySpecInput) };
}

type Err = (field: string, reason: string) => void;

/**
 * The parts of a spec that are checked element by element, or nothing where the schema has
 * already refused their size: each element's check is slow (interpreted), and a body of 10,000
 * parameters held the event loop for seconds and answered with 10,000 errors.
 */
function withinLimits(raw: Raw): { space: Raw; command: unknown[] } {
  const space = isObject(raw.searchSpace) && Object.keys(raw.searchSpace).length <= LIMITS.params ? raw.searchSpace : {};
  const command = isObject(raw.trial) && Array.isArray(raw.trial.command) && raw.trial.command.length <= LIMITS.commandArgs ? raw.trial.command : [];
  return { space, command };
}

function semanticChecks(raw: Raw, err: Err): void {
  const within = withinLimits(raw);
  if (isObject(raw.searchSpace)) {
    for (const [name, p] of Object.entries(within.space)) {
      if (reservedName(name)) err(`searchSpace.${name}`, `"${name}" is a built-in name of JavaScript objects and cannot name a parameter; choose another`);
      else if (!PARAM_NAME.test(name)) err(`searchSpace.${name}`, 'parameter names start with a letter or _ and hold only letters, digits, _ . -');
      if (isObject(p) && Object.hasOwn(PARAM_VARIANTS, p.type as string) && Value.Check(PARAM_VARIANTS[p.type as keyof typeof PARAM_VARIANTS], p)) {
        paramChecks(`searchSpace.${name}`, p as ParamSpec, err);
      }
    }
  }
  const trial = raw.trial;
  if (isObject(trial)) {
    if (raw.askTimeoutSeconds !== undefined) err('askTimeoutSeconds', 'applies to ask/tell studies (without "trial"); worker trials use trial.timeoutSeconds');
    const command = within.command;
    if (command.length > 0) {
      if (typeof command[0] === 'string' && command[0].trim() === '') err('trial.command[0]', 'must name a program');
      const space = isObject(raw.searchSpace) ? raw.searchSpace : undefined;
      command.forEach((a, i) => {
        if (typeof a !== 'string' || !space) return;
        for (const ref of placeholders(a)) if (!Object.hasOwn(space, ref)) err(`trial.command[${i}]`, `refers to \${params.${ref}}, which is not in searchSpace`);
      });
    }
    if (isObject(trial.env)) {
      for (const k of Object.keys(trial.env)) {
        if (reservedName(k)) err(`trial.env.${k}`, `"${k}" is a built-in name of JavaScript objects and cannot name a variable; choose another`);
        else if (!ENV_NAME.test(k)) err(`trial.env.${k}`, 'is not a valid environment variable name');
        else if (RESERVED_ENV.includes(k)) err(`trial.env.${k}`, `is set by the worker (reserved: ${RESERVED_ENV.join(', ')})`);
      }
    }
  }
}

function paramChecks(at: string, p: ParamSpec, err: Err): void {
  if (p.type === 'categorical') {
    if (new Set(p.values).size !== p.values.length) err(`${at}.values`, 'must not repeat a value');
    return;
  }
  if (p.min >= p.max) {
    err(`${at}.min`, `must be less than max (got min ${p.min} >= max ${p.max})`);
    return;
  }
  const width = p.max - p.min;
  // Samplers interpolate over the range: one wider than the largest double has no midpoint.
  if (!Number.isFinite(width)) err(`${at}.max`, `max - min must be a finite number (got a range from ${p.min} to ${p.max}, wider than ${Number.MAX_VALUE})`);
  if (p.log === true && p.min <= 0) err(`${at}.min`, `must be > 0 on a log scale (got ${p.min})`);
  if (p.step !== undefined) {
    if (p.log === true) err(`${at}.step`, 'cannot be combined with log: true');
    else if (p.step > width) err(`${at}.step`, `must not exceed max - min (${width})`);
    // Below this a value min + k * step can no longer be told from its neighbours.
    else if (!(width / p.step <= SAFE_INT)) err(`${at}.step`, `is too small for the range: (max - min) / step must be at most ${SAFE_INT} (got ${width / p.step})`);
  }
}

function withDefaults(raw: StudySpecInput): StudySpec {
  const a = raw.algorithm;
  const spec: StudySpec = {
    name: raw.name.trim(),
    project: raw.project ?? DEFAULT_PROJECT,
    limits: { ...DEFAULT_TRIAL_LIMITS, ...raw.limits },
    keepCheckpoints: raw.keepCheckpoints ?? 'best',
    objective: { metric: raw.objective.metric, direction: raw.objective.direction, ...(raw.objective.goal !== undefined ? { goal: raw.objective.goal } : {}) },
    searchSpace: copySpace(raw.searchSpace),
    // An unseeded study still gets a stored seed, so it can be replayed.
    algorithm: { name: a?.name ?? 'random', seed: a?.seed ?? Math.floor(Math.random() * 0x100000000), settings: a?.settings ?? {} },
    parallelism: raw.parallelism ?? 1,
    maxTrials: raw.maxTrials,
    maxFailedTrials: raw.maxFailedTrials ?? raw.maxTrials,
    maxRetries: raw.maxRetries ?? 3,
  };
  if (raw.earlyStopping) spec.earlyStopping = { rule: raw.earlyStopping.rule, settings: raw.earlyStopping.settings ?? {} };
  const t = raw.trial;
  if (t) {
    spec.trial = { command: [...t.command], env: { ...t.env }, gpus: t.gpus ?? 0 };
    if (t.timeoutSeconds !== undefined) spec.trial.timeoutSeconds = t.timeoutSeconds;
    if (t.image !== undefined) spec.trial.image = t.image;
    if (t.tags !== undefined) spec.trial.tags = { ...t.tags };
    if (t.codeVersion !== undefined) spec.trial.codeVersion = t.codeVersion;
    if (t.dataFiles !== undefined) spec.trial.dataFiles = [...t.dataFiles];
  }
  if (raw.tags !== undefined) spec.tags = { ...raw.tags };
  if (raw.askTimeoutSeconds !== undefined) spec.askTimeoutSeconds = raw.askTimeoutSeconds;
  return spec;
}

function copySpace(s: SearchSpace): SearchSpace {
  const out: SearchSpace = {};
  for (const [name, p] of Object.entries(s)) {
    if (p.type === 'categorical') out[name] = { type: 'categorical', values: [...p.values] };
    else {
      const q: ParamSpec = { type: p.type, min: p.min, max: p.max } as ParamSpec & { min: number; max: number };
      if (p.log === true) (q as { log?: boolean }).log = true;
      if (p.step !== undefined) (q as { step?: number }).step = p.step;
      out[name] = q;
    }
  }
  return out;
}

/** `${params.NAME}` and Katib's `${trialParameters.NAME}` references in one argument. */
export function placeholders(arg: string): string[] {
  return [...arg.matchAll(/\$\{(?:params|trialParameters)\.([A-Za-z0-9_.-]+)\}/g)].map((m) => m[1]!);
}
