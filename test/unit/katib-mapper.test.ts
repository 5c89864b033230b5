import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isKatibExperiment, studyFromKatib } from '../../coordinator/katib/index.js';
import { KATIB_DEFAULT_FILTER } from '../../shared/metric-filters.js';

type Doc = Record<string, any>;
const load = (name: string): Doc => parse(readFileSync(`test/fixtures/katib/${name}`, 'utf8')) as Doc;
const accepted = (doc: Doc) => {
  const r = studyFromKatib(doc);
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r.refusals)}`);
  return r.spec;
};
const container = (d: Doc) => d.spec.trialTemplate.trialSpec.spec.template.spec.containers[0];
const C = 'spec.trialTemplate.trialSpec.spec.template.spec.containers[0]';

describe('Katib Experiment -> study spec: mapped fields', () => {
  it('is detected by apiVersion and kind only', () => {
    expect(isKatibExperiment(load('job-basic.yaml'))).toBe(true);
    expect(isKatibExperiment({ name: 'x', objective: {} })).toBe(false);
    expect(isKatibExperiment({ apiVersion: 'batch/v1', kind: 'Job' })).toBe(false);
  });

  it('a plain Job: Katib defaults, command then args, env, image, GPUs, the default StdOut collector', () => {
    const s = accepted(load('job-basic.yaml'));
    expect(s.name).toBe('basic-job');
    expect(s.project).toBe('team-a');
    expect(s.objective).toEqual({ metric: 'loss', direction: 'minimize', goal: 0.05, strategy: 'min' });
    expect([s.parallelism, s.maxTrials, s.maxFailedTrials]).toEqual([3, 8, 2]);
    expect(s.searchSpace).toEqual({ lr: { type: 'float', min: 0.001, max: 0.1 } });
    expect(s.algorithm).toMatchObject({ name: 'random', settings: {} });
    expect(s.trial).toMatchObject({
      command: ['python3', 'train.py', '--lr', '${params.lr}'], env: { LEARNING_RATE: '${params.lr}' }, image: 'registry.example/trainer:1.2', gpus: 2,
      metricsCollector: { kind: 'stdout', format: 'text', metrics: ['loss'] },
    });
    expect(s.trial!.metricsCollector!.filters).toBeUndefined();
    // What has no meaning here is listed, not dropped without a word.
    expect(s.tags!['katib.recorded']).toContain(`${C}.resources.limits.memory`);
    expect(s.tags!['katib.resumePolicy']).toBe('Never');
  });

  it('settings, every parameter type, hyphenated metrics, strategies, a File TEXT collector with a filter, medianstop, FromVolume, trial metadata', () => {
    const s = accepted(load('job-features.yaml'));
    expect(s.project).toBe('default');
    expect(s.objective).toEqual({ metric: 'f1-score', direction: 'maximize', goal: 0.99, strategy: 'latest' });
    expect(s.algorithm).toMatchObject({ name: 'tpe', seed: 7, settings: { multivariate: false, gamma: 0.2, nEICandidates: 32 } });
    expect(s.earlyStopping).toEqual({ rule: 'median', settings: { minTrialsRequired: 2, startStep: 3 } });
    expect(s.searchSpace).toEqual({
      lr: { type: 'float', min: 0.0001, max: 0.1, log: true }, dropout: { type: 'float', min: 0.1, max: 0.5, step: 0.1 },
      'num-layers': { type: 'int', min: 1, max: 8 }, optimizer: { type: 'categorical', values: ['sgd', 'adam'] },
      batch: { type: 'categorical', values: [16, 32, 64] },
    });
    expect(s.trial!.metricsCollector).toEqual({
      kind: 'file', path: '/tmp/katib/metrics.log', format: 'text', filters: ['{metricName: ([\\w|-]+), metricValue: ((-?\\d+)(\\.\\d+)?)}'],
      metrics: ['f1-score', 'train-loss', 'accuracy'],
    });
    expect(s.trial!.command.slice(2)).toEqual(['--lr=${params.lr}', '--dropout=${params.dropout}', '--layers=${params.num-layers}', '--opt=${params.optimizer}',
      '--batch=${params.batch}', '--name=${trial.id}', '--ns=default', '--owner=ana']);
    expect(s.keepCheckpoints).toBe('all');
    expect(s.parallelism).toBe(2);
    expect(s.tags).toMatchObject({ 'katib.metricStrategy.train-loss': 'min', 'katib.metricStrategy.accuracy': 'max', 'katib.label.team': 'vision', 'katib.resumePolicy': 'FromVolume' });
  });

  it('a File collector with JSON lines; multivariate-tpe with Optuna\'s settings; a log-uniform int', () => {
    const s = accepted(load('file-json.yaml'));
    expect(s.trial!.metricsCollector).toEqual({ kind: 'file', path: '/var/log/katib/metrics.json', format: 'json', metrics: ['loss'] });
    expect(s.algorithm).toMatchObject({ name: 'tpe', settings: { multivariate: true, nStartupTrials: 5 } });
    expect(s.searchSpace.x).toEqual({ type: 'int', min: 1, max: 100, log: true });
    expect(s.parallelism).toBe(3);
  });

  it('hyperband: the resource parameter becomes the trial budget and the rule gets eta and r_l', () => {
    const s = accepted(load('hyperband.yaml'));
    expect(s.algorithm.name).toBe('random');
    expect(s.earlyStopping).toEqual({ rule: 'hyperband', settings: { reductionFactor: 3, maxResource: 9 } });
    expect(Object.keys(s.searchSpace)).toEqual(['lr']);
    expect(s.trial!.command).toEqual(['train', '--lr=${params.lr}', '--epochs=${trial.budget}']);
  });

  it('a StdOut collector with custom filters; Push leaves the native metric lines', () => {
    const d = load('job-basic.yaml');
    d.spec.metricsCollectorSpec = { collector: { kind: 'StdOut' }, source: { filter: { metricsFormat: ['(\\w+)\\s:\\s((-?\\d+)(\\.\\d+)?)'] } } };
    expect(accepted(d).trial!.metricsCollector).toEqual({ kind: 'stdout', format: 'text', filters: ['(\\w+)\\s:\\s((-?\\d+)(\\.\\d+)?)'], metrics: ['loss'] });
    d.spec.metricsCollectorSpec = { collector: { kind: 'Push' } };
    expect(accepted(d).trial!.metricsCollector).toBeUndefined();
  });

  it.each([
    ['bayesianoptimization', [['random_state', '10'], ['n_initial_points', '4'], ['base_estimator', 'GP']], { name: 'gp', seed: 10, settings: { nStartupTrials: 4 } }],
    ['cmaes', [['restart_strategy', 'ipop'], ['sigma', '0.02']], { name: 'cmaes', settings: { restart: 'ipop', sigma0: 0.02 / (0.1 - 0.001) } }],
    ['grid', [], { name: 'grid', settings: {} }],
    ['sobol', [['random_state', '3']], { name: 'sobol', seed: 3 }],
  ])('algorithm %s with its settings', (name, settings, want) => {
    const d = load('job-basic.yaml');
    d.spec.algorithm = { algorithmName: name, algorithmSettings: settings.map(([n, v]) => ({ name: n, value: v })) };
    if (name === 'grid') d.spec.parameters[0].feasibleSpace.step = '0.011';
    expect(accepted(d).algorithm).toMatchObject(want);
  });

  it('the default filter is Katib\'s', () => {
    expect(KATIB_DEFAULT_FILTER).toBe('([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)');
  });
});

describe('Katib Experiment -> study spec: refusals name the Katib field', () => {
  const refused = (edit: (d: Doc) => void, base = 'job-basic.yaml') => {
    const d = load(base);
    edit(d);
    const r = studyFromKatib(d);
    expect(r.ok).toBe(false);
    return r.ok ? [] : r.refusals;
  };
  const expectRefusal = (edit: (d: Doc) => void, field: string, reason: RegExp, base?: string) => {
    const refusals = refused(edit, base);
    expect(refusals, JSON.stringify(refusals)).toContainEqual({ field, reason: expect.stringMatching(reason) });
  };

  it.each([
    ['kubeflow.org/v1', 'PyTorchJob'], ['kubeflow.org/v1', 'TFJob'], ['kubeflow.org/v1', 'MPIJob'], ['kubeflow.org/v1', 'XGBoostJob'],
    ['trainer.kubeflow.org/v1alpha1', 'TrainJob'], ['argoproj.io/v1alpha1', 'Workflow'], ['tekton.dev/v1beta1', 'PipelineRun'],
  ])('trial kind %s %s', (apiVersion, kind) => {
    expectRefusal((d) => Object.assign(d.spec.trialTemplate.trialSpec, { apiVersion, kind }), 'spec.trialTemplate.trialSpec.kind', new RegExp(`${kind} is not supported`));
  });

  it('a configMap template', () => expectRefusal((d) => { d.spec.trialTemplate.configMap = { configMapName: 'm', templatePath: 't' }; }, 'spec.trialTemplate.configMap', /ConfigMap are not supported/));

  it.each(['pbt', 'enas', 'darts'])('algorithm %s', (name) => {
    expectRefusal((d) => { d.spec.algorithm = { algorithmName: name }; }, 'spec.algorithm.algorithmName', /not supported/);
  });

  it('nasConfig', () => expectRefusal((d) => { d.spec.nasConfig = { graphConfig: {} }; }, 'spec.nasConfig', /neural architecture search is not supported/));

  it.each(['TensorFlowEvent', 'PrometheusMetric', 'Custom'])('collector %s', (kind) => {
    expectRefusal((d) => { d.spec.metricsCollectorSpec = { collector: { kind } }; }, 'spec.metricsCollectorSpec.collector.kind', new RegExp(`${kind} is not supported`));
  });

  it.each(['normal', 'logNormal'])('distribution %s', (distribution) => {
    expectRefusal((d) => { d.spec.parameters[0].feasibleSpace.distribution = distribution; }, 'spec.parameters[0].feasibleSpace.distribution', /is not supported/);
  });

  it('an algorithm setting its Katib service does not know', () => {
    expectRefusal((d) => { d.spec.algorithm.algorithmSettings = [{ name: 'n_EI_candidates', value: '3' }]; }, 'spec.algorithm.algorithmSettings[0].name', /unknown setting "n_EI_candidates" for random/);
  });
  it('a setting value that is not a string', () => {
    expectRefusal((d) => { d.spec.algorithm.algorithmSettings = [{ name: 'random_state', value: 5 }]; }, 'spec.algorithm.algorithmSettings[0].value', /must be a string/);
  });
  it('a setting out of the sampler\'s range, named by its Katib field', () => {
    expectRefusal((d) => { d.spec.algorithm = { algorithmName: 'tpe', algorithmSettings: [{ name: 'gamma', value: '2' }] }; }, 'spec.algorithm.algorithmSettings[0].value', /algorithm.settings.gamma/);
  });
  it('cmaes restart_strategy bipop', () => {
    expectRefusal((d) => { d.spec.algorithm = { algorithmName: 'cmaes', algorithmSettings: [{ name: 'restart_strategy', value: 'bipop' }] }; }, 'spec.algorithm.algorithmSettings[0].value', /"bipop" is not supported/);
  });
  it('a medianstop setting it does not know', () => {
    expectRefusal((d) => { d.spec.earlyStopping = { algorithmName: 'medianstop', algorithmSettings: [{ name: 'min_steps', value: '1' }] }; }, 'spec.earlyStopping.algorithmSettings[0].name', /unknown medianstop setting/);
  });

  it.each([
    ['(\\w+)=\\d+', /two capture groups/],
    ['((\\w+)=(\\d+))', /must not be nested/],
    ['(\\w+)=((\\d+)+)+', /exponential/],
    ['(a|ab)*=(\\d)', /exponential/],
    ['(\\w+)=(\\d+)\\1', /back-reference/],
    ['(?<=x)(\\w+)=(\\d+)', /look-around/],
    ['(\\w+=(\\d+)', /without its \)/],
  ])('a metricsFormat filter %s', (filter, reason) => {
    expectRefusal((d) => { d.spec.metricsCollectorSpec = { source: { filter: { metricsFormat: [filter] } }, collector: { kind: 'StdOut' } }; }, 'spec.metricsCollectorSpec.source.filter.metricsFormat[0]', reason);
  });
  it('a filter with JSON lines', () => {
    expectRefusal((d) => { d.spec.metricsCollectorSpec.source.filter = { metricsFormat: ['(\\w+)=(\\d+)'] }; }, 'spec.metricsCollectorSpec.source.filter', /cannot be used with format JSON/, 'file-json.yaml');
  });
  it('a relative collector file path', () => {
    expectRefusal((d) => { d.spec.metricsCollectorSpec.source.fileSystemPath.path = 'metrics.json'; }, 'spec.metricsCollectorSpec.source.fileSystemPath.path', /absolute path/, 'file-json.yaml');
  });

  it('additionalMetricNames with the objective', () => {
    expectRefusal((d) => { d.spec.objective.additionalMetricNames = ['loss']; }, 'spec.objective.additionalMetricNames[0]', /must not repeat the objective/);
  });
  it('a metric name with a space', () => {
    expectRefusal((d) => { d.spec.objective.objectiveMetricName = 'valid auc'; }, 'spec.objective.objectiveMetricName', /no spaces/);
  });
  it('counts beyond maxTrialCount', () => {
    expectRefusal((d) => { d.spec.parallelTrialCount = 9; }, 'spec.parallelTrialCount', /must not exceed maxTrialCount \(8\)/);
    expectRefusal((d) => { delete d.spec.maxTrialCount; }, 'spec.maxTrialCount', /is required/);
  });
  it('a namespace that is not a project name', () => {
    expectRefusal((d) => { d.metadata.namespace = 'Team_A'; }, 'metadata.namespace', /project name/);
  });
  it('another apiVersion', () => {
    expectRefusal((d) => { d.apiVersion = 'kubeflow.org/v1alpha3'; }, 'apiVersion', /only kubeflow.org\/v1beta1/);
  });
  it('a placeholder trialParameters does not declare, and a declared one never used', () => {
    expectRefusal((d) => { container(d).args = ['--lr', '${trialParameters.nope}']; }, `${C}.args[1]`, /does not declare/);
    expectRefusal((d) => { container(d).args = []; container(d).env = []; }, 'spec.trialTemplate.trialParameters', /never uses/);
  });
  it('a reference to no parameter', () => {
    expectRefusal((d) => { d.spec.trialTemplate.trialParameters[0].reference = 'momentum'; }, 'spec.trialTemplate.trialParameters[0].reference', /not in spec.parameters/);
  });
  it('env from a secret; a sidecar; volumes', () => {
    expectRefusal((d) => { container(d).env = [{ name: 'K', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]; }, `${C}.env[0].valueFrom`, /not supported/);
    expectRefusal((d) => { d.spec.trialTemplate.trialSpec.spec.template.spec.containers.push({ name: 'sidecar', image: 'x' }); }, 'spec.trialTemplate.trialSpec.spec.template.spec.containers', /only one runs per trial/);
    expectRefusal((d) => { d.spec.trialTemplate.trialSpec.spec.template.spec.volumes = [{ name: 'v' }]; }, 'spec.trialTemplate.trialSpec.spec.template.spec.volumes', /not supported/);
  });
  it('a field Tunehive does not know', () => {
    expectRefusal((d) => { d.spec.suggestionSpec = {}; }, 'spec.suggestionSpec', /not a field Tunehive knows/);
  });
  it('a custom success condition', () => {
    expectRefusal((d) => { d.spec.trialTemplate.successCondition = 'status.foo'; }, 'spec.trialTemplate.successCondition', /exit code/);
  });
  it('what the study spec refuses is named by the Katib field it came from', () => {
    expectRefusal((d) => { d.spec.parameters[0].feasibleSpace = { min: '0.5', max: '0.1' }; }, 'spec.parameters[0]', /must be less than max .*searchSpace.lr.min/);
    expectRefusal((d) => { d.spec.parameters[0].feasibleSpace.min = 'abc'; }, 'spec.parameters[0].feasibleSpace.min', /must be a number/);
  });
});

describe('Katib Experiment -> study spec: Kubernetes-only fields are listed, not dropped', () => {
  it('pod metadata and the template metadata are in katib.recorded', () => {
    const d = load('job-basic.yaml');
    d.spec.trialTemplate.trialSpec.spec.template.metadata = { annotations: { 'sidecar.istio.io/inject': 'false' } };
    const s = accepted(d);
    expect(s.tags!['katib.recorded']).toContain('spec.trialTemplate.trialSpec.spec.template.metadata');
  });
  it('hyperband\'s resource_name must be a parameter', () => {
    const d = load('hyperband.yaml');
    d.spec.algorithm.algorithmSettings[0].value = 'steps';
    const r = studyFromKatib(d);
    expect(!r.ok && r.refusals).toContainEqual({ field: 'spec.algorithm.algorithmSettings', reason: expect.stringMatching(/resource_name "steps" is not in spec.parameters/) });
  });
});

describe('Katib Experiment -> study spec: errors of the mapped spec point at their Katib origin', () => {
  it('a label key Tunehive tags cannot hold is named as metadata.labels', () => {
    const d = load('job-basic.yaml');
    d.metadata.labels = { 'bad~key': 'x' };
    const r = studyFromKatib(d);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.refusals.map((f) => f.field)).toEqual(['metadata.labels']);
  });
});
