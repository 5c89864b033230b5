/**
 * `spec.trialTemplate` -> `trial`: a batch/v1 Job's primary container gives the image, the
 * command (its `command` then its `args`: no shell, as Kubernetes runs them), `env` and
 * `resources.limits["nvidia.com/gpu"]` (the trial's GPUs). `${trialParameters.X}` becomes
 * `${params.<reference>}`, or the trial's metadata for `${trialSpec.*}` references: Name is the
 * trial id (`${trial.id}`), Namespace the project, Kind and APIVersion the template's, Labels[k]
 * and Annotations[k] the template's metadata. With the process runtime the command runs on the
 * worker and the image is only recorded.
 *
 * Refused: other trial kinds (Kubeflow training jobs, TrainJob, Argo, Tekton), configMap
 * templates, more than one container, init containers, volumes, env from secrets or fields,
 * GJSON success/failure conditions other than a Job's defaults.
 */
import type { MetricsCollector } from '../../shared/study-spec.js';
import { describe, isObject, MapContext, show, type Raw } from './context.js';

const JOB_SUCCESS = 'status.conditions.#(type=="Complete")#|#(status=="True")#';
const JOB_FAILURE = 'status.conditions.#(type=="Failed")#|#(status=="True")#';

const OTHER_KINDS: Record<string, string> = {
  PyTorchJob: 'a Kubeflow PyTorchJob (several pods)', TFJob: 'a Kubeflow TFJob (several pods)', MPIJob: 'a Kubeflow MPIJob (several pods)',
  XGBoostJob: 'a Kubeflow XGBoostJob (several pods)', TrainJob: 'a Kubeflow Trainer TrainJob', Workflow: 'an Argo Workflow', PipelineRun: 'a Tekton PipelineRun',
};

export interface MappedTrial { command: string[]; env: Record<string, string>; image?: string; gpus: number; metricsCollector?: MetricsCollector }

/** Placeholders of one string: `${trialParameters.NAME}`. */
const PLACEHOLDER = /\$\{trialParameters\.([^}]*)\}/g;

export function mapTrialTemplate(ctx: MapContext, raw: unknown, o: { params: ReadonlySet<string>; project: string; resourceParam?: string }): MappedTrial | undefined {
  const at = 'spec.trialTemplate';
  if (!isObject(raw)) {
    ctx.refuse(at, `must be an object {primaryContainerName, trialParameters, trialSpec} (${describe(raw)})`);
    return undefined;
  }
  ctx.unknownKeys(raw, at, ['primaryContainerName', 'trialParameters', 'trialSpec', 'configMap', 'retain', 'primaryPodLabels', 'successCondition', 'failureCondition']);
  if (raw.configMap !== undefined) {
    ctx.refuse(`${at}.configMap`, 'trial templates from a ConfigMap are not supported: put the trialSpec in the Experiment');
    return undefined;
  }
  const spec = raw.trialSpec;
  if (!isObject(spec)) {
    ctx.refuse(`${at}.trialSpec`, `must be a batch/v1 Job (${describe(spec)})`);
    return undefined;
  }
  const kind = spec.kind;
  if (typeof kind === 'string' && Object.hasOwn(OTHER_KINDS, kind)) {
    ctx.refuse(`${at}.trialSpec.kind`, `${kind} is not supported: ${OTHER_KINDS[kind]} needs a Kubernetes executor; Tunehive runs each trial as one process or container (use a batch/v1 Job)`);
    return undefined;
  }
  if (kind !== 'Job' || spec.apiVersion !== 'batch/v1') {
    ctx.refuse(`${at}.trialSpec.kind`, `must be a batch/v1 Job (got ${show(spec.apiVersion)} ${show(kind)})`);
    return undefined;
  }
  ctx.map(`${at}.trialSpec.kind`, 'trial', 'batch/v1 Job');
  for (const [k, def] of [['successCondition', JOB_SUCCESS], ['failureCondition', JOB_FAILURE]] as const) {
    if (raw[k] !== undefined && raw[k] !== def) ctx.refuse(`${at}.${k}`, `a custom condition is not supported: Tunehive judges a trial by its program's exit code (a Job's default condition is ${def})`);
  }
  if (raw.retain !== undefined) ctx.record(`${at}.retain`, 'Tunehive keeps every trial\'s record and metrics anyway');
  if (raw.primaryPodLabels !== undefined) ctx.record(`${at}.primaryPodLabels`, 'a Job has one pod: nothing to choose');

  const meta = isObject(spec.metadata) ? spec.metadata : {};
  const refs = trialParameterRefs(ctx, raw.trialParameters, { ...o, kind, apiVersion: 'batch/v1', meta });
  const container = primaryContainer(ctx, spec, raw.primaryContainerName);
  if (!container || !refs) return undefined;
  const cat = `${at}.trialSpec.spec.template.spec.containers[${container.index}]`;
  const c = container.c;
  ctx.unknownKeys(c, cat, ['name', 'image', 'command', 'args', 'env', 'resources', 'imagePullPolicy', 'workingDir', 'ports', 'securityContext']);
  const used = new Set<string>();
  const render = (text: string, field: string): string | undefined => {
    let bad = false;
    const out = text.replace(PLACEHOLDER, (whole, name: string) => {
      const to = refs.get(name);
      if (to === undefined) {
        bad = true;
        ctx.refuse(field, `refers to \${trialParameters.${name}}, which trialParameters does not declare`);
        return whole;
      }
      used.add(name);
      return to;
    });
    return bad ? undefined : out;
  };
  const strings = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' && typeof s !== 'number')) {
      ctx.refuse(field, `must be a list of strings (${describe(v)})`);
      return undefined;
    }
    const out = v.map((s, i) => render(String(s), `${field}[${i}]`));
    return out.every((s) => s !== undefined) ? (out as string[]) : undefined;
  };
  const command = strings(c.command, `${cat}.command`);
  const args = strings(c.args, `${cat}.args`);
  if (!command || !args) return undefined;
  const argv = [...command, ...args];
  if (argv.length === 0) {
    ctx.refuse(`${cat}.command`, 'is required: Tunehive does not read an image\'s entrypoint (write the program and its arguments in command/args)');
    return undefined;
  }
  ctx.map(`${cat}.command`, 'trial.command', argv, c.args !== undefined ? 'command, then args' : undefined);
  const out: MappedTrial = { command: argv, env: {}, gpus: 0 };
  if (c.image !== undefined) {
    if (typeof c.image !== 'string' || c.image.includes('${')) ctx.refuse(`${cat}.image`, `must be an image reference without placeholders (${describe(c.image)})`);
    else {
      out.image = c.image;
      ctx.map(`${cat}.image`, 'trial.image', c.image, 'run by the container runtime; recorded with the process runtime');
    }
  }
  if (c.workingDir !== undefined) ctx.refuse(`${cat}.workingDir`, 'is not supported: trials run in the worker\'s working directory (or the image\'s)');
  if (c.ports !== undefined) ctx.record(`${cat}.ports`, 'nothing connects to a trial');
  if (c.imagePullPolicy !== undefined) ctx.record(`${cat}.imagePullPolicy`, 'the container runtime pulls an image it lacks');
  if (c.securityContext !== undefined) ctx.refuse(`${cat}.securityContext`, 'is not supported: the worker\'s run-as and command policy decide what a trial may do');
  mapEnv(ctx, c.env, `${cat}.env`, render, out);
  mapResources(ctx, c.resources, `${cat}.resources`, out);
  // Katib's rule: every declared trial parameter is used in the template.
  for (const name of refs.keys()) if (!used.has(name)) ctx.refuse(`${at}.trialParameters`, `declares "${name}", which the primary container never uses (\${trialParameters.${name}})`);
  return out;
}

function trialParameterRefs(ctx: MapContext, raw: unknown, o: { params: ReadonlySet<string>; project: string; resourceParam?: string; kind: string; apiVersion: string; meta: Raw }): Map<string, string> | undefined {
  const at = 'spec.trialTemplate.trialParameters';
  const refs = new Map<string, string>();
  if (raw === undefined) return refs;
  if (!Array.isArray(raw)) {
    ctx.refuse(at, `must be a list of {name, reference, description?} (${describe(raw)})`);
    return undefined;
  }
  let ok = true;
  raw.forEach((p, i) => {
    const pat = `${at}[${i}]`;
    if (!isObject(p) || typeof p.name !== 'string' || p.name === '') { ok = false; return ctx.refuse(pat, `must be an object {name, reference, description?} (${describe(p)})`); }
    ctx.unknownKeys(p, pat, ['name', 'reference', 'description']);
    if (refs.has(p.name)) { ok = false; return ctx.refuse(`${pat}.name`, `repeats "${p.name}"`); }
    const ref = p.reference;
    if (typeof ref !== 'string' || ref === '') { ok = false; return ctx.refuse(`${pat}.reference`, `must name a parameter or \${trialSpec.*} (${describe(ref)})`); }
    const to = resolveReference(ref, o);
    if (typeof to === 'object') { ok = false; return ctx.refuse(`${pat}.reference`, to.error); }
    refs.set(p.name, to);
    ctx.map(`${pat}`, `\${trialParameters.${p.name}}`, to);
  });
  return ok ? refs : undefined;
}

function resolveReference(ref: string, o: { params: ReadonlySet<string>; project: string; resourceParam?: string; kind: string; apiVersion: string; meta: Raw }): string | { error: string } {
  const m = /^\$\{trialSpec\.(Name|Namespace|Kind|APIVersion|Labels\[(.+)\]|Annotations\[(.+)\])\}$/.exec(ref);
  if (m) {
    if (m[1] === 'Name') return '${trial.id}';
    if (m[1] === 'Namespace') return o.project;
    if (m[1] === 'Kind') return o.kind;
    if (m[1] === 'APIVersion') return o.apiVersion;
    const [bag, key] = m[2] !== undefined ? ['labels', m[2]] : ['annotations', m[3]!];
    const values = o.meta[bag];
    const v = isObject(values) ? values[key] : undefined;
    if (typeof v !== 'string') return { error: `${ref}: trialSpec.metadata.${bag} has no "${key}"` };
    return v;
  }
  if (ref.startsWith('${')) return { error: `${show(ref)} is not a trial metadata reference (known: \${trialSpec.Name}, Namespace, Kind, APIVersion, Labels[key], Annotations[key])` };
  if (ref === o.resourceParam) return '${trial.budget}';
  if (!o.params.has(ref)) return { error: `refers to "${ref}", which is not in spec.parameters` };
  return `\${params.${ref}}`;
}

function primaryContainer(ctx: MapContext, spec: Raw, name: unknown): { c: Raw; index: number } | undefined {
  const at = 'spec.trialTemplate.trialSpec';
  ctx.unknownKeys(spec, at, ['apiVersion', 'kind', 'metadata', 'spec']);
  const job = spec.spec;
  if (!isObject(job) || !isObject(job.template) || !isObject(job.template.spec)) {
    ctx.refuse(`${at}.spec.template.spec`, 'must hold the Job\'s pod spec');
    return undefined;
  }
  ctx.unknownKeys(job, `${at}.spec`, ['template', 'backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']);
  if (job.backoffLimit !== undefined) ctx.record(`${at}.spec.backoffLimit`, 'Tunehive retries attempts lost with their worker (maxRetries); a program that fails is not re-run');
  if (job.ttlSecondsAfterFinished !== undefined) ctx.record(`${at}.spec.ttlSecondsAfterFinished`, 'nothing of a trial stays on the worker after it ends');
  if (job.activeDeadlineSeconds !== undefined) ctx.refuse(`${at}.spec.activeDeadlineSeconds`, 'is not read: set trial.timeoutSeconds in a Tunehive spec instead');
  if (job.template.metadata !== undefined) ctx.record(`${at}.spec.template.metadata`, 'pod labels and annotations have no meaning without Kubernetes');
  if (spec.metadata !== undefined) ctx.record(`${at}.metadata`, 'read only for ${trialSpec.Labels[k]} / ${trialSpec.Annotations[k]}');
  const pod = job.template.spec;
  const pat = `${at}.spec.template.spec`;
  ctx.unknownKeys(job.template, `${at}.spec.template`, ['spec', 'metadata']);
  ctx.unknownKeys(pod, pat, ['containers', 'restartPolicy', 'initContainers', 'volumes', 'nodeSelector', 'tolerations', 'affinity', 'serviceAccountName']);
  for (const k of ['initContainers', 'volumes']) if (pod[k] !== undefined) ctx.refuse(`${pat}.${k}`, 'is not supported: a trial is one program with the worker\'s file system');
  for (const k of ['nodeSelector', 'tolerations', 'affinity', 'serviceAccountName']) if (pod[k] !== undefined) ctx.refuse(`${pat}.${k}`, 'is a Kubernetes scheduling field: Tunehive places trials by their GPUs and project');
  if (pod.restartPolicy !== undefined && pod.restartPolicy !== 'Never' && pod.restartPolicy !== 'OnFailure') ctx.refuse(`${pat}.restartPolicy`, `must be Never or OnFailure (${describe(pod.restartPolicy)})`);
  else if (pod.restartPolicy !== undefined) ctx.record(`${pat}.restartPolicy`, 'a failed program fails its trial; attempts lost with a worker are retried');
  const containers = pod.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    ctx.refuse(`${pat}.containers`, 'must list the trial\'s container');
    return undefined;
  }
  if (typeof name !== 'string') {
    ctx.refuse('spec.trialTemplate.primaryContainerName', `must name the container that runs the training (${describe(name)})`);
    return undefined;
  }
  const index = containers.findIndex((c) => isObject(c) && c.name === name);
  if (index < 0) {
    ctx.refuse('spec.trialTemplate.primaryContainerName', `"${name}" is not among the containers (${containers.map((c) => (isObject(c) ? show(c.name) : '?')).join(', ')})`);
    return undefined;
  }
  if (containers.length > 1) ctx.refuse(`${pat}.containers`, `has ${containers.length} containers: only one runs per trial (sidecars are not supported)`);
  return { c: containers[index] as Raw, index };
}

function mapEnv(ctx: MapContext, raw: unknown, at: string, render: (t: string, f: string) => string | undefined, out: MappedTrial): void {
  if (raw === undefined) return;
  if (!Array.isArray(raw)) return ctx.refuse(at, `must be a list of {name, value} (${describe(raw)})`);
  raw.forEach((e, i) => {
    const eat = `${at}[${i}]`;
    if (!isObject(e) || typeof e.name !== 'string') return ctx.refuse(eat, `must be an object {name, value} (${describe(e)})`);
    if (e.valueFrom !== undefined) return ctx.refuse(`${eat}.valueFrom`, 'is not supported: values from secrets, config maps or pod fields need Kubernetes (give a value)');
    ctx.unknownKeys(e, eat, ['name', 'value']);
    const v = render(String(e.value ?? ''), `${eat}.value`);
    if (v !== undefined) out.env[e.name] = v;
  });
  if (Object.keys(out.env).length > 0) ctx.map(at, 'trial.env', out.env);
}

function mapResources(ctx: MapContext, raw: unknown, at: string, out: MappedTrial): void {
  if (raw === undefined) return;
  if (!isObject(raw)) return ctx.refuse(at, `must be an object {limits?, requests?} (${describe(raw)})`);
  ctx.unknownKeys(raw, at, ['limits', 'requests']);
  for (const part of ['limits', 'requests'] as const) {
    const r = raw[part];
    if (r === undefined) continue;
    if (!isObject(r)) { ctx.refuse(`${at}.${part}`, `must be an object (${describe(r)})`); continue; }
    for (const [k, v] of Object.entries(r)) {
      if (k === 'nvidia.com/gpu' && part === 'limits') {
        const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(n) || n < 0 || n > 64) ctx.refuse(`${at}.limits["nvidia.com/gpu"]`, `must be a whole number of GPUs from 0 to 64 (${describe(v)})`);
        else { out.gpus = n; ctx.map(`${at}.limits["nvidia.com/gpu"]`, 'trial.gpus', n); }
      } else if (k === 'nvidia.com/gpu') {
        if (r === raw.requests && isObject(raw.limits) && raw.limits[k] === undefined) ctx.refuse(`${at}.requests["nvidia.com/gpu"]`, 'GPUs are given as limits in Kubernetes: set resources.limits["nvidia.com/gpu"]');
      } else if (k === 'cpu' || k === 'memory' || k === 'ephemeral-storage') {
        ctx.record(`${at}.${part}.${k}`, `${show(v)} is not enforced: Tunehive places trials by GPUs only`);
      } else {
        ctx.refuse(`${at}.${part}["${k}"]`, 'is a resource Tunehive does not schedule (it knows nvidia.com/gpu)');
      }
    }
  }
}
