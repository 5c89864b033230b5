/**
 * A Katib `Experiment` (kubeflow.org/v1beta1) -> the Tunehive study spec input, which the
 * normal validation (parseStudySpec and the plug-ins' settings) then checks. Pure. Every field
 * Tunehive cannot honour is a refusal naming its Katib path and why, never dropped; fields kept
 * as a record only (Kubernetes details without meaning here) are listed in the study's
 * `katib.recorded` tag and in the mapping rows that `tunehive katib check` prints.
 *
 * Katib's own defaults and validation are applied (experiment_defaults.go, validator.go):
 * parallelTrialCount 3, resumePolicy Never, the objective's strategy by its type, counts > 0
 * and at most maxTrialCount, additionalMetricNames without the objective, the name's form.
 */
import type { FieldError } from '../../shared/errors.js';
import { METRIC_NAME, PROJECT_NAME, type StudySpecInput } from '../../shared/study-spec.js';
import type { SearchSpace } from '../../shared/search-space.js';
import { mapAlgorithm } from './algorithm.js';
import { describe, isObject, katibNumber, MapContext, show, type MappingRow, type Raw } from './context.js';
import { mapEarlyStopping } from './early-stopping.js';
import { mapMetricsCollector } from './metrics-collector.js';
import { mapParameters } from './parameters.js';
import { mapTrialTemplate } from './trial-template.js';

export const KATIB_API_VERSION = 'kubeflow.org/v1beta1';
const NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const STRATEGIES = ['min', 'max', 'latest'] as const;
const SPEC_KEYS = ['objective', 'algorithm', 'earlyStopping', 'parallelTrialCount', 'maxTrialCount', 'maxFailedTrialCount', 'parameters', 'nasConfig',
  'trialTemplate', 'metricsCollectorSpec', 'resumePolicy'];

export type KatibMapping =
  | { ok: true; spec: StudySpecInput; rows: MappingRow[]; origins: Map<string, string> }
  | { ok: false; refusals: FieldError[]; rows: MappingRow[] };

/** A document that says it is a Katib Experiment (whatever its version: others are refused by the mapper). */
export function isKatibExperiment(raw: unknown): raw is Raw {
  return isObject(raw) && raw.kind === 'Experiment' && typeof raw.apiVersion === 'string' && raw.apiVersion.startsWith('kubeflow.org/');
}

export function mapKatibExperiment(doc: Raw): KatibMapping {
  const ctx = new MapContext();
  if (doc.apiVersion !== KATIB_API_VERSION) ctx.refuse('apiVersion', `${show(doc.apiVersion)} is not supported: only ${KATIB_API_VERSION} Experiments are`);
  ctx.unknownKeys(doc, '(document)', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  if (doc.status !== undefined) ctx.record('status', 'the status of a Katib run is not imported');
  const meta = isObject(doc.metadata) ? doc.metadata : undefined;
  if (!meta) ctx.refuse('metadata', `must be an object {name, namespace?} (${describe(doc.metadata)})`);
  const spec = isObject(doc.spec) ? doc.spec : undefined;
  if (!spec) ctx.refuse('spec', `must be an object (${describe(doc.spec)})`);
  if (!meta || !spec) return { ok: false, refusals: ctx.refusals, rows: ctx.rows };

  const out: Partial<StudySpecInput> & { tags: Record<string, string> } = { tags: { 'katib.apiVersion': KATIB_API_VERSION } };
  const project = mapMetadata(ctx, meta, out);
  ctx.unknownKeys(spec, 'spec', SPEC_KEYS);
  if (spec.nasConfig !== undefined) ctx.refuse('spec.nasConfig', 'neural architecture search is not supported');
  const metrics = mapObjective(ctx, spec.objective, out);
  mapCounts(ctx, spec, out);
  mapResumePolicy(ctx, spec.resumePolicy, out);

  const resourceParam = hyperbandResource(spec.algorithm);
  let space: SearchSpace = {};
  if (spec.nasConfig === undefined) space = mapParameters(ctx, spec.parameters, resourceParam ? new Set([resourceParam]) : undefined);
  if (Object.keys(space).length > 0) out.searchSpace = space;
  const algo = mapAlgorithm(ctx, spec.algorithm, () => space);
  if (algo) {
    out.algorithm = { name: algo.algorithm.name, settings: algo.algorithm.settings, ...(algo.algorithm.seed !== undefined ? { seed: algo.algorithm.seed } : {}) };
    if (algo.hyperband) out.earlyStopping = { rule: 'hyperband', settings: algo.hyperband.settings };
  }
  if (spec.earlyStopping !== undefined) {
    if (algo?.hyperband) ctx.refuse('spec.earlyStopping', 'cannot be combined with algorithm hyperband, which is itself Tunehive\'s early-stopping rule');
    else {
      const es = mapEarlyStopping(ctx, spec.earlyStopping);
      if (es) out.earlyStopping = es;
    }
  }
  if (resourceParam !== undefined && !(Array.isArray(spec.parameters) && spec.parameters.some((p) => isObject(p) && p.name === resourceParam))) {
    ctx.refuse('spec.algorithm.algorithmSettings', `resource_name "${resourceParam}" is not in spec.parameters (Katib's rule)`);
  }
  const params = new Set(Object.keys(spec.parameters && Array.isArray(spec.parameters) ? Object.fromEntries(spec.parameters.flatMap((p) => (isObject(p) && typeof p.name === 'string' ? [[p.name, 1]] : []))) : {}));
  // A NAS template refers to nasConfig's settings: its refusal is the one that matters.
  const trial = spec.nasConfig !== undefined ? undefined : mapTrialTemplate(ctx, spec.trialTemplate, { params, project: project ?? 'default', ...(resourceParam ? { resourceParam } : {}) });
  const collector = metrics ? mapMetricsCollector(ctx, spec.metricsCollectorSpec, metrics) : undefined;
  if (trial) {
    out.trial = { command: trial.command, env: trial.env, gpus: trial.gpus, ...(trial.image ? { image: trial.image } : {}), ...(collector ? { metricsCollector: collector } : {}) };
  }
  if (ctx.recorded.length > 0) out.tags['katib.recorded'] = ctx.recorded.join(', ').slice(0, 5000);
  if (ctx.refusals.length > 0) return { ok: false, refusals: ctx.refusals, rows: ctx.rows };
  return { ok: true, spec: out as StudySpecInput, rows: ctx.rows, origins: ctx.origins };
}

function mapMetadata(ctx: MapContext, meta: Raw, out: Partial<StudySpecInput> & { tags: Record<string, string> }): string | undefined {
  ctx.unknownKeys(meta, 'metadata', ['name', 'namespace', 'labels', 'annotations', 'generateName']);
  if (meta.generateName !== undefined) ctx.refuse('metadata.generateName', 'is not supported: give the experiment a name');
  const name = meta.name;
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 40) {
    ctx.refuse('metadata.name', `must be a Katib experiment name: lowercase letters, digits and dashes, starting with a letter, at most 40 characters (${describe(name)})`);
  } else {
    out.name = name;
    ctx.map('metadata.name', 'name', name);
  }
  let project: string | undefined;
  if (meta.namespace !== undefined) {
    if (typeof meta.namespace !== 'string' || !PROJECT_NAME.test(meta.namespace)) ctx.refuse('metadata.namespace', `must be a Tunehive project name: 1 to 63 lowercase letters, digits and dashes (${describe(meta.namespace)})`);
    else {
      project = meta.namespace;
      out.project = project;
      ctx.map('metadata.namespace', 'project', project);
    }
  } else ctx.defaulted('metadata.namespace', 'project', 'default', 'no namespace: the default project');
  for (const bag of ['labels', 'annotations'] as const) {
    const v = meta[bag];
    if (v === undefined) continue;
    if (!isObject(v)) { ctx.refuse(`metadata.${bag}`, `must be an object of strings (${describe(v)})`); continue; }
    for (const [k, val] of Object.entries(v)) out.tags[`katib.${bag === 'labels' ? 'label' : 'annotation'}.${k}`] = String(val);
    ctx.map(`metadata.${bag}`, `tags.katib.${bag === 'labels' ? 'label' : 'annotation'}.*`);
  }
  return project;
}

/** The kept metric names (objective first), or undefined when the objective is refused. */
function mapObjective(ctx: MapContext, raw: unknown, out: Partial<StudySpecInput> & { tags: Record<string, string> }): string[] | undefined {
  const at = 'spec.objective';
  if (!isObject(raw)) {
    ctx.refuse(at, `must be an object {type, objectiveMetricName, goal?, additionalMetricNames?, metricStrategies?} (${describe(raw)})`);
    return undefined;
  }
  ctx.unknownKeys(raw, at, ['type', 'goal', 'objectiveMetricName', 'additionalMetricNames', 'metricStrategies']);
  const type = raw.type;
  if (type !== 'minimize' && type !== 'maximize') ctx.refuse(`${at}.type`, `must be minimize or maximize (${describe(type)})`);
  const metric = raw.objectiveMetricName;
  const metricOk = (name: unknown, field: string): name is string => {
    if (typeof name !== 'string' || name === '') { ctx.refuse(field, `must be a metric name (${describe(name)})`); return false; }
    if (!METRIC_NAME.test(name)) { ctx.refuse(field, `"${name}" is not a Tunehive metric name: letters, digits and _ . / - only (no spaces), starting with a letter or _`); return false; }
    return true;
  };
  const okMetric = metricOk(metric, `${at}.objectiveMetricName`);
  let goal: number | undefined;
  if (raw.goal !== undefined) {
    goal = katibNumber(raw.goal);
    if (goal === undefined) ctx.refuse(`${at}.goal`, `must be a number (${describe(raw.goal)})`);
  }
  const extra: string[] = [];
  if (raw.additionalMetricNames !== undefined) {
    if (!Array.isArray(raw.additionalMetricNames)) ctx.refuse(`${at}.additionalMetricNames`, `must be a list of metric names (${describe(raw.additionalMetricNames)})`);
    else raw.additionalMetricNames.forEach((m, i) => {
      const f = `${at}.additionalMetricNames[${i}]`;
      if (!metricOk(m, f)) return;
      if (m === metric) return ctx.refuse(f, `must not repeat the objective metric "${m}" (Katib's rule)`);
      if (extra.includes(m)) return ctx.refuse(f, `repeats "${m}"`);
      extra.push(m);
    });
  }
  if (type !== 'minimize' && type !== 'maximize') return undefined;
  if (!okMetric) return undefined;
  const strategies = new Map<string, string>();
  if (raw.metricStrategies !== undefined) {
    if (!Array.isArray(raw.metricStrategies)) ctx.refuse(`${at}.metricStrategies`, `must be a list of {name, value} (${describe(raw.metricStrategies)})`);
    else raw.metricStrategies.forEach((s, i) => {
      const f = `${at}.metricStrategies[${i}]`;
      if (!isObject(s) || typeof s.name !== 'string') return ctx.refuse(f, `must be an object {name, value} (${describe(s)})`);
      ctx.unknownKeys(s, f, ['name', 'value']);
      if (s.name !== metric && !extra.includes(s.name)) return ctx.refuse(`${f}.name`, `"${s.name}" is neither the objective nor an additional metric`);
      if (!STRATEGIES.includes(s.value as (typeof STRATEGIES)[number])) return ctx.refuse(`${f}.value`, `must be min, max or latest (${describe(s.value)})`);
      strategies.set(s.name, s.value as string);
    });
  }
  const byType = type === 'minimize' ? 'min' : 'max';
  const strategy = (strategies.get(metric) ?? byType) as 'min' | 'max' | 'latest';
  out.objective = { metric, direction: type, strategy, ...(goal !== undefined ? { goal } : {}) };
  ctx.map(`${at}.type`, 'objective.direction', type);
  ctx.map(`${at}.objectiveMetricName`, 'objective.metric', metric);
  if (goal !== undefined) ctx.map(`${at}.goal`, 'objective.goal', goal, 'the study ends once its best trial reaches it');
  if (strategies.has(metric)) ctx.map(`${at}.metricStrategies(${metric})`, 'objective.strategy', strategy);
  else ctx.defaulted(`${at}.metricStrategies(${metric})`, 'objective.strategy', strategy, 'Katib\'s default: by the objective\'s type');
  if (extra.length > 0) ctx.map(`${at}.additionalMetricNames`, 'trial.metricsCollector.metrics', [metric, ...extra], 'collected and stored beside the objective');
  for (const m of extra) {
    const s = strategies.get(m) ?? byType;
    out.tags[`katib.metricStrategy.${m}`] = s;
  }
  if (extra.length > 0) ctx.map(`${at}.metricStrategies`, 'tags.katib.metricStrategy.*', undefined, 'Tunehive stores every report of an additional metric; the strategy is kept as a tag');
  return [metric, ...extra];
}

function mapCounts(ctx: MapContext, spec: Raw, out: Partial<StudySpecInput>): void {
  const count = (key: string, min: number): number | undefined => {
    const v = spec[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      ctx.refuse(`spec.${key}`, `must be an integer ${min === 0 ? '>= 0' : '> 0'} (${describe(v)})`);
      return undefined;
    }
    return v;
  };
  const maxTrials = count('maxTrialCount', 1);
  const parallel = count('parallelTrialCount', 1);
  const failed = count('maxFailedTrialCount', 0);
  if (spec.maxTrialCount === undefined) ctx.refuse('spec.maxTrialCount', 'is required: Tunehive studies have a trial budget');
  if (maxTrials !== undefined) { out.maxTrials = maxTrials; ctx.map('spec.maxTrialCount', 'maxTrials', maxTrials); }
  if (maxTrials !== undefined && parallel !== undefined && parallel > maxTrials) ctx.refuse('spec.parallelTrialCount', `must not exceed maxTrialCount (${maxTrials}) (Katib's rule)`);
  if (maxTrials !== undefined && failed !== undefined && failed > maxTrials) ctx.refuse('spec.maxFailedTrialCount', `must not exceed maxTrialCount (${maxTrials}) (Katib's rule)`);
  if (parallel !== undefined) { out.parallelism = parallel; ctx.map('spec.parallelTrialCount', 'parallelism', parallel); }
  else if (spec.parallelTrialCount === undefined) { out.parallelism = Math.min(3, maxTrials ?? 3); ctx.defaulted('spec.parallelTrialCount', 'parallelism', out.parallelism, 'Katib\'s default 3, at most maxTrialCount'); }
  if (failed !== undefined) { out.maxFailedTrials = failed; ctx.map('spec.maxFailedTrialCount', 'maxFailedTrials', failed); }
}

function mapResumePolicy(ctx: MapContext, raw: unknown, out: Partial<StudySpecInput> & { tags: Record<string, string> }): void {
  const policy = raw ?? 'Never';
  if (policy !== 'Never' && policy !== 'LongRunning' && policy !== 'FromVolume') {
    ctx.refuse('spec.resumePolicy', `must be Never, LongRunning or FromVolume (${describe(raw)})`);
    return;
  }
  out.tags['katib.resumePolicy'] = policy;
  if (policy === 'FromVolume') {
    out.keepCheckpoints = 'all';
    ctx.map('spec.resumePolicy', 'keepCheckpoints', 'all', 'every trial keeps its checkpoint folder (TUNEHIVE_CHECKPOINT_DIR), as a volume would');
  } else if (raw === undefined) ctx.defaulted('spec.resumePolicy', 'tags.katib.resumePolicy', 'Never', 'Katib\'s default; trials resume from checkpoints after a lost worker either way');
  else ctx.map('spec.resumePolicy', 'tags.katib.resumePolicy', policy, 'trials resume from their checkpoints after a lost worker whatever the policy');
}

/** The parameter a hyperband experiment names as its resource (read before the parameters are mapped). */
function hyperbandResource(algorithm: unknown): string | undefined {
  if (!isObject(algorithm) || algorithm.algorithmName !== 'hyperband' || !Array.isArray(algorithm.algorithmSettings)) return undefined;
  const s = algorithm.algorithmSettings.find((x) => isObject(x) && x.name === 'resource_name');
  return isObject(s) && typeof s.value === 'string' ? s.value : undefined;
}
