/**
 * The study spec: its types, defaults and structural validation. Pure: the coordinator adds the
 * checks that need its plug-ins (algorithm and early-stopping settings) on top of this.
 * Every problem is reported, each with the field's path and why, never only the first.
 */
import type { FieldError } from './errors.js';
import type { FloatParam, IntParam, ParamSpec, ParamValue, SearchSpace } from './search-space.js';

export type Direction = 'minimize' | 'maximize';

export interface Objective { metric: string; direction: Direction; goal?: number }
export interface AlgorithmSpec { name: string; seed: number; settings: Record<string, unknown> }
export interface EarlyStoppingSpec { rule: string; settings: Record<string, unknown> }
export interface TrialTemplate {
  command: string[];
  /** Container image, for workers that run trials with the container runtime. */
  image?: string;
  env: Record<string, string>;
  timeoutSeconds?: number;
  gpus: number;
}
/** Per-trial quotas: what one trial may store. Defaults in `DEFAULT_TRIAL_LIMITS`. */
export interface TrialLimits {
  /** Metric points stored per trial; later points are dropped and counted. */
  maxMetricPoints: number;
  /** Bytes and files of one checkpoint upload. */
  maxCheckpointBytes: number;
  maxCheckpointFiles: number;
}
/** Which trials keep their checkpoints once they reach a final state. */
export type KeepCheckpoints = 'best' | 'all' | 'none';
export interface StudySpec {
  name: string;
  limits: TrialLimits;
  keepCheckpoints: KeepCheckpoints;
  objective: Objective;
  searchSpace: SearchSpace;
  algorithm: AlgorithmSpec;
  parallelism: number;
  maxTrials: number;
  maxFailedTrials: number;
  maxRetries: number;
  earlyStopping?: EarlyStoppingSpec;
  /** Absent: an ask/tell study, whose trials are evaluated by the client itself. */
  trial?: TrialTemplate;
  /** Ask/tell only: a trial with no tell for this long is FAILED (its client is presumed gone). */
  askTimeoutSeconds?: number;
}

export const LIMITS = {
  maxTrials: 1_000_000,
  parallelism: 10_000,
  params: 100,
  categoricalValues: 10_000,
  commandArgs: 1_000,
  nameLength: 200,
} as const;

export const DEFAULT_TRIAL_LIMITS: TrialLimits = {
  maxMetricPoints: 100_000,
  maxCheckpointBytes: 10 * 1024 ** 3,
  maxCheckpointFiles: 10_000,
};
const TRIAL_LIMIT_RANGES: Record<keyof TrialLimits, [number, number]> = {
  maxMetricPoints: [1, 10_000_000],
  maxCheckpointBytes: [1, 1024 ** 4],
  maxCheckpointFiles: [1, 1_000_000],
};

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;
export const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,99}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The variables of the trial program contract, which the worker sets itself. */
export const RESERVED_ENV = ['TUNEHIVE_PARAMS', 'TUNEHIVE_TRIAL_ID', 'TUNEHIVE_STUDY_ID', 'TUNEHIVE_TRIAL_NUMBER', 'TUNEHIVE_ATTEMPT',
  'TUNEHIVE_CHECKPOINT_DIR', 'TUNEHIVE_CHECKPOINT_NOTIFY', 'TUNEHIVE_RESUME', 'TUNEHIVE_BUDGET', 'CUDA_VISIBLE_DEVICES'];

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isFiniteNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const describe = (v: unknown): string => (v === undefined ? 'missing' : `got ${JSON.stringify(v)?.slice(0, 60)}`);

export type SpecResult = { ok: true; spec: StudySpec } | { ok: false; errors: FieldError[] };

/** Validates a parsed JSON/YAML document and returns the spec with defaults filled in. */
export function parseStudySpec(raw: unknown): SpecResult {
  const errors: FieldError[] = [];
  const err = (field: string, reason: string) => errors.push({ field, reason });
  if (!isObject(raw)) return { ok: false, errors: [{ field: '(body)', reason: 'must be a JSON object' }] };

  const known = ['name', 'objective', 'searchSpace', 'algorithm', 'parallelism', 'maxTrials', 'maxFailedTrials', 'maxRetries', 'earlyStopping', 'trial', 'askTimeoutSeconds', 'limits', 'keepCheckpoints'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) err(k, `unknown field (known: ${known.join(', ')})`);

  const name = raw.name;
  if (typeof name !== 'string' || name.trim() === '') err('name', `must be a non-empty string (${describe(name)})`);
  else if (name.length > LIMITS.nameLength) err('name', `must be at most ${LIMITS.nameLength} characters`);

  const objective = parseObjective(raw.objective, err);
  const searchSpace = parseSearchSpace(raw.searchSpace, err);
  const algorithm = parseAlgorithm(raw.algorithm, err);

  const intField = (field: string, def: number | undefined, min: number, max: number): number => {
    const v = raw[field];
    if (v === undefined && def !== undefined) return def;
    if (!isInt(v) || v < min || v > max) err(field, `must be an integer from ${min} to ${max} (${describe(v)})`);
    return v as number;
  };
  const maxTrials = intField('maxTrials', undefined, 1, LIMITS.maxTrials);
  const parallelism = intField('parallelism', 1, 1, LIMITS.parallelism);
  const maxFailedTrials = intField('maxFailedTrials', isInt(maxTrials) ? maxTrials : 1, 0, LIMITS.maxTrials);
  const maxRetries = intField('maxRetries', 3, 0, 100);

  let earlyStopping: EarlyStoppingSpec | undefined;
  if (raw.earlyStopping !== undefined) {
    const es = raw.earlyStopping;
    if (!isObject(es) || typeof es.rule !== 'string' || es.rule === '') err('earlyStopping.rule', `must be a rule name (${describe(isObject(es) ? es.rule : es)})`);
    else if (es.settings !== undefined && !isObject(es.settings)) err('earlyStopping.settings', 'must be an object');
    else earlyStopping = { rule: es.rule, settings: (es.settings as Raw | undefined) ?? {} };
  }

  const trial = raw.trial === undefined ? undefined : parseTrial(raw.trial, searchSpace, err);
  const askTimeout = raw.askTimeoutSeconds;
  if (askTimeout !== undefined) {
    if (raw.trial !== undefined) err('askTimeoutSeconds', 'applies to ask/tell studies (without "trial"); worker trials use trial.timeoutSeconds');
    else if (!isFiniteNum(askTimeout) || askTimeout <= 0) err('askTimeoutSeconds', `must be a number of seconds > 0 (${describe(askTimeout)})`);
  }

  const limits = parseLimits(raw.limits, err);
  const keepCheckpoints = raw.keepCheckpoints ?? 'best';
  if (keepCheckpoints !== 'best' && keepCheckpoints !== 'all' && keepCheckpoints !== 'none') {
    err('keepCheckpoints', `must be "best", "all" or "none" (${describe(keepCheckpoints)})`);
  }

  if (errors.length > 0) return { ok: false, errors };
  const spec: StudySpec = { name: (name as string).trim(), limits, keepCheckpoints: keepCheckpoints as KeepCheckpoints, objective: objective!, searchSpace: searchSpace!, algorithm: algorithm!, parallelism, maxTrials, maxFailedTrials, maxRetries };
  if (earlyStopping) spec.earlyStopping = earlyStopping;
  if (trial) spec.trial = trial;
  if (askTimeout !== undefined) spec.askTimeoutSeconds = askTimeout as number;
  return { ok: true, spec };
}

type Err = (field: string, reason: string) => void;

function parseLimits(l: unknown, err: Err): TrialLimits {
  const out: TrialLimits = { ...DEFAULT_TRIAL_LIMITS };
  if (l === undefined) return out;
  if (!isObject(l)) {
    err('limits', `must be an object {${Object.keys(DEFAULT_TRIAL_LIMITS).join(', ')}} (${describe(l)})`);
    return out;
  }
  for (const [k, v] of Object.entries(l)) {
    const range = TRIAL_LIMIT_RANGES[k as keyof TrialLimits] as [number, number] | undefined;
    if (!Object.hasOwn(TRIAL_LIMIT_RANGES, k) || !range) err(`limits.${k}`, `unknown field (known: ${Object.keys(DEFAULT_TRIAL_LIMITS).join(', ')})`);
    else if (!isInt(v) || v < range[0] || v > range[1]) err(`limits.${k}`, `must be an integer from ${range[0]} to ${range[1]} (${describe(v)})`);
    else out[k as keyof TrialLimits] = v;
  }
  return out;
}

function parseObjective(o: unknown, err: Err): Objective | undefined {
  if (!isObject(o)) {
    err('objective', `must be an object {metric, direction, goal?} (${describe(o)})`);
    return undefined;
  }
  let ok = true;
  if (typeof o.metric !== 'string' || !METRIC_NAME.test(o.metric)) {
    err('objective.metric', `must be a metric name such as "accuracy" (letters, digits, _ . / -) (${describe(o.metric)})`);
    ok = false;
  }
  if (o.direction !== 'minimize' && o.direction !== 'maximize') {
    err('objective.direction', `must be "minimize" or "maximize" (${describe(o.direction)})`);
    ok = false;
  }
  if (o.goal !== undefined && !isFiniteNum(o.goal)) {
    err('objective.goal', `must be a finite number (${describe(o.goal)})`);
    ok = false;
  }
  for (const k of Object.keys(o)) if (!['metric', 'direction', 'goal'].includes(k)) { err(`objective.${k}`, 'unknown field'); ok = false; }
  if (!ok) return undefined;
  const out: Objective = { metric: o.metric as string, direction: o.direction as Direction };
  if (o.goal !== undefined) out.goal = o.goal as number;
  return out;
}

function parseAlgorithm(a: unknown, err: Err): AlgorithmSpec | undefined {
  if (a === undefined) return { name: 'random', seed: 0, settings: {} };
  if (!isObject(a) || typeof a.name !== 'string' || a.name === '') {
    err('algorithm.name', `must be an algorithm name (${describe(isObject(a) ? a.name : a)})`);
    return undefined;
  }
  let ok = true;
  if (a.seed !== undefined && (!isInt(a.seed) || a.seed < 0 || a.seed > 0xffffffff)) {
    err('algorithm.seed', `must be an integer from 0 to 4294967295 (${describe(a.seed)})`);
    ok = false;
  }
  if (a.settings !== undefined && !isObject(a.settings)) {
    err('algorithm.settings', `must be an object (${describe(a.settings)})`);
    ok = false;
  }
  for (const k of Object.keys(a)) if (!['name', 'seed', 'settings'].includes(k)) { err(`algorithm.${k}`, 'unknown field'); ok = false; }
  if (!ok) return undefined;
  // An unseeded study still gets a stored seed, so it can be replayed.
  const seed = (a.seed as number | undefined) ?? Math.floor(Math.random() * 0xffffffff);
  return { name: a.name, seed, settings: (a.settings as Raw | undefined) ?? {} };
}

function parseSearchSpace(s: unknown, err: Err): SearchSpace | undefined {
  if (!isObject(s) || Object.keys(s).length === 0) {
    err('searchSpace', `must be an object with at least one parameter (${describe(s)})`);
    return undefined;
  }
  const names = Object.keys(s);
  if (names.length > LIMITS.params) err('searchSpace', `must have at most ${LIMITS.params} parameters (got ${names.length})`);
  const space: SearchSpace = {};
  let ok = true;
  for (const name of names) {
    const p = parseParam(`searchSpace.${name}`, s[name], err);
    if (!PARAM_NAME.test(name)) { err(`searchSpace.${name}`, 'parameter names start with a letter or _ and hold only letters, digits, _ . -'); ok = false; }
    if (p) space[name] = p; else ok = false;
  }
  return ok ? space : undefined;
}

function parseParam(at: string, p: unknown, err: Err): ParamSpec | undefined {
  if (!isObject(p)) {
    err(at, `must be an object with a type (${describe(p)})`);
    return undefined;
  }
  const before = { n: 0 };
  const e: Err = (f, r) => { before.n++; err(f, r); };
  if (p.type === 'categorical') {
    for (const k of Object.keys(p)) if (!['type', 'values'].includes(k)) e(`${at}.${k}`, 'unknown field for a categorical parameter');
    const values = p.values;
    if (!Array.isArray(values) || values.length === 0) e(`${at}.values`, `must be a non-empty array (${describe(values)})`);
    else if (values.length > LIMITS.categoricalValues) e(`${at}.values`, `must have at most ${LIMITS.categoricalValues} values`);
    else {
      values.forEach((v, i) => {
        if (!(typeof v === 'string' || typeof v === 'boolean' || isFiniteNum(v))) e(`${at}.values[${i}]`, `must be a string, number or boolean (${describe(v)})`);
      });
      if (new Set(values).size !== values.length) e(`${at}.values`, 'must not repeat a value');
    }
    return before.n ? undefined : { type: 'categorical', values: values as ParamValue[] };
  }
  if (p.type !== 'float' && p.type !== 'int') {
    e(`${at}.type`, `must be "float", "int" or "categorical" (${describe(p.type)})`);
    return undefined;
  }
  for (const k of Object.keys(p)) if (!['type', 'min', 'max', 'log', 'step'].includes(k)) e(`${at}.${k}`, `unknown field for a ${p.type} parameter`);
  const check = p.type === 'int' ? isInt : isFiniteNum;
  const kind = p.type === 'int' ? 'an integer' : 'a finite number';
  if (!check(p.min)) e(`${at}.min`, `must be ${kind} (${describe(p.min)})`);
  if (!check(p.max)) e(`${at}.max`, `must be ${kind} (${describe(p.max)})`);
  if (check(p.min) && check(p.max) && p.min >= p.max) e(`${at}.min`, `must be less than max (got min ${p.min} >= max ${p.max})`);
  if (p.log !== undefined && typeof p.log !== 'boolean') e(`${at}.log`, `must be true or false (${describe(p.log)})`);
  if (p.log === true && isFiniteNum(p.min) && p.min <= 0) e(`${at}.min`, `must be > 0 on a log scale (got ${p.min})`);
  if (p.step !== undefined) {
    if (!check(p.step) || (p.step as number) <= 0) e(`${at}.step`, `must be ${kind} > 0 (${describe(p.step)})`);
    else if (p.log === true) e(`${at}.step`, 'cannot be combined with log: true');
    else if (isFiniteNum(p.min) && isFiniteNum(p.max) && (p.step as number) > p.max - p.min) e(`${at}.step`, `must not exceed max - min (${p.max - p.min})`);
  }
  if (before.n) return undefined;
  const out: FloatParam | IntParam = { type: p.type, min: p.min as number, max: p.max as number };
  if (p.log === true) out.log = true;
  if (p.step !== undefined) out.step = p.step as number;
  return out;
}

function parseTrial(t: unknown, space: SearchSpace | undefined, err: Err): TrialTemplate | undefined {
  if (!isObject(t)) {
    err('trial', `must be an object {command, env?, timeoutSeconds?, gpus?} (${describe(t)})`);
    return undefined;
  }
  let ok = true;
  const e: Err = (f, r) => { ok = false; err(f, r); };
  for (const k of Object.keys(t)) if (!['command', 'env', 'timeoutSeconds', 'gpus', 'image'].includes(k)) e(`trial.${k}`, 'unknown field (known: command, env, timeoutSeconds, gpus, image)');
  if (t.image !== undefined && (typeof t.image !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._\/:@-]{0,254}$/.test(t.image))) e('trial.image', `must be a container image reference such as "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime" (${describe(t.image)})`);
  const command = t.command;
  if (!Array.isArray(command) || command.length === 0 || command.length > LIMITS.commandArgs) {
    e('trial.command', `must be a non-empty argv array such as ["python3", "train.py", "--lr=\${params.lr}"]; it is never run by a shell (${describe(command)})`);
  } else {
    command.forEach((a, i) => { if (typeof a !== 'string') e(`trial.command[${i}]`, `must be a string (${describe(a)})`); });
    if (typeof command[0] === 'string' && command[0].trim() === '') e('trial.command[0]', 'must name a program');
    command.forEach((a, i) => {
      if (typeof a !== 'string') return;
      for (const ref of placeholders(a)) if (space && !(ref in space)) e(`trial.command[${i}]`, `refers to \${params.${ref}}, which is not in searchSpace`);
    });
  }
  const env: Record<string, string> = {};
  if (t.env !== undefined) {
    if (!isObject(t.env)) e('trial.env', `must be an object of strings (${describe(t.env)})`);
    else for (const [k, v] of Object.entries(t.env)) {
      if (!ENV_NAME.test(k)) e(`trial.env.${k}`, 'is not a valid environment variable name');
      else if (RESERVED_ENV.includes(k)) e(`trial.env.${k}`, `is set by the worker (reserved: ${RESERVED_ENV.join(', ')})`);
      else if (typeof v !== 'string') e(`trial.env.${k}`, `must be a string (${describe(v)})`);
      else env[k] = v;
    }
  }
  if (t.timeoutSeconds !== undefined && (!isFiniteNum(t.timeoutSeconds) || t.timeoutSeconds <= 0 || t.timeoutSeconds > 30 * 86400)) {
    e('trial.timeoutSeconds', `must be a number of seconds > 0 and at most 30 days (${describe(t.timeoutSeconds)})`);
  }
  if (t.gpus !== undefined && (!isInt(t.gpus) || t.gpus < 0 || t.gpus > 64)) e('trial.gpus', `must be an integer from 0 to 64 (${describe(t.gpus)})`);
  if (!ok) return undefined;
  const out: TrialTemplate = { command: command as string[], env, gpus: (t.gpus as number | undefined) ?? 0 };
  if (t.timeoutSeconds !== undefined) out.timeoutSeconds = t.timeoutSeconds as number;
  if (t.image !== undefined) out.image = t.image as string;
  return out;
}

/** `${params.NAME}` and Katib's `${trialParameters.NAME}` references in one argument. */
export function placeholders(arg: string): string[] {
  return [...arg.matchAll(/\$\{(?:params|trialParameters)\.([A-Za-z0-9_.-]+)\}/g)].map((m) => m[1]!);
}
