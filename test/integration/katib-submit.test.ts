/**
 * A Katib Experiment submitted as it is (YAML over HTTP, and `tunehive submit`), run to
 * completion on a real worker with a small program that logs like Katib's examples: the
 * hyphenated objective `f1-score` is collected from stderr by Katib's default filter, the
 * trial's value follows Katib's default strategy (the best report, not the last), medianstop
 * prunes the bad trial on the hyphenated metric, and refusals come back as the usual 400.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { authHeaders, TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { runCli } from '../helpers/processes.js';
import { trialSeries } from '../helpers/series.js';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';

const OUT = mkdtempSync(path.join(os.tmpdir(), 'tunehive-katib-out-'));
const experiment = (name: string) => ({
  apiVersion: 'kubeflow.org/v1beta1', kind: 'Experiment',
  metadata: { name, namespace: 'katib-team' },
  spec: {
    objective: { type: 'maximize', goal: 0.99, objectiveMetricName: 'f1-score', additionalMetricNames: ['train-loss'] },
    algorithm: { algorithmName: 'grid' },
    earlyStopping: { algorithmName: 'medianstop', algorithmSettings: [{ name: 'min_trials_required', value: '1' }, { name: 'start_step', value: '2' }] },
    parallelTrialCount: 1, maxTrialCount: 2, maxFailedTrialCount: 0,
    parameters: [{ name: 'quality', parameterType: 'categorical', feasibleSpace: { list: ['good', 'bad'] } }],
    trialTemplate: {
      primaryContainerName: 'training-container',
      trialParameters: [{ name: 'quality', reference: 'quality' }, { name: 'trialName', reference: '${trialSpec.Name}' }, { name: 'ns', reference: '${trialSpec.Namespace}' }],
      trialSpec: {
        apiVersion: 'batch/v1', kind: 'Job',
        spec: { template: { spec: { restartPolicy: 'Never', containers: [{
          name: 'training-container', image: 'ghcr.io/example/trainer:1',
          command: [process.execPath, fixture('katib-trainer.mjs')], args: ['--quality=${trialParameters.quality}', '--name=${trialParameters.trialName}', '--lr=0.1', `--out=${OUT}`],
          env: [{ name: 'TRIAL_NAMESPACE', value: '${trialParameters.ns}' }],
        }] } } },
      },
    },
  },
});

describe('Katib Experiment submitted to Tunehive', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack('katib', { workers: 1, slots: 1 });
    expect((await stack.api('POST', '/api/v1/projects', { name: 'katib-team' })).status).toBe(201);
  });
  afterAll(async () => stack?.close());
  const postYaml = async (doc: unknown) => {
    const res = await fetch(`${stack.coordinator.httpUrl}/api/v1/studies`, { method: 'POST', headers: authHeaders({ 'content-type': 'application/yaml' }), body: stringify(doc) });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('runs to completion on a worker: f1-score from stderr, the best report as the value, medianstop on the hyphenated metric', async () => {
    const created = await postYaml(experiment('katib-e2e'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'katib-e2e', project: 'katib-team' });
    const done = await stack.waitForStudy(created.body.id, 60_000);
    expect(done.state).toBe('COMPLETED');
    const trials = (await stack.api('GET', `/api/v1/studies/${created.body.id}/trials`)).body.trials as any[];
    const good = trials.find((t) => t.params.quality === 'good');
    const bad = trials.find((t) => t.params.quality === 'bad');
    // Katib's default strategy for a maximised objective: the trial's best report (0.9), not its last (0.7).
    expect(good).toMatchObject({ state: 'COMPLETED', value: 0.9 });
    expect(done.best).toMatchObject({ value: 0.9, params: { quality: 'good' } });
    expect(bad.state).toBe('PRUNED');
    const series = await trialSeries(stack.api, good.id);
    expect(series['f1-score']!.map((p) => [p.step, p.value])).toEqual([[1, 0.5], [2, 0.9], [3, 0.7]]);
    expect(series['train-loss']!.map((p) => p.value)).toEqual([1, 0.5, 1 / 3]);
    // Only the declared metrics are kept: `lr=0.1` in the first log line is not a metric.
    expect(Object.keys(series).sort()).toEqual(['f1-score', 'train-loss']);
    // ${trialSpec.Name} is the trial's id and ${trialSpec.Namespace} its project, in args and env.
    expect(readFileSync(path.join(OUT, 'good.txt'), 'utf8')).toBe(`${good.id} katib-team`);
  });

  it('refuses what it cannot run with the usual 400 naming the Katib field', async () => {
    const doc = experiment('katib-refused') as any;
    doc.spec.trialTemplate.trialSpec.apiVersion = 'kubeflow.org/v1';
    doc.spec.trialTemplate.trialSpec.kind = 'PyTorchJob';
    doc.spec.parameters.push({ name: 'lr', parameterType: 'double', feasibleSpace: { min: '0.1', max: '1', distribution: 'normal' } });
    const r = await postYaml(doc);
    expect(r.status).toBe(400);
    expect(r.body.error.fields).toEqual(expect.arrayContaining([
      { field: 'spec.trialTemplate.trialSpec.kind', reason: expect.stringMatching(/PyTorchJob is not supported/) },
      { field: 'spec.parameters[1].feasibleSpace.distribution', reason: expect.stringMatching(/"normal" is not supported/) },
    ]));
    // JSON bodies are detected the same way.
    const json = await stack.api('POST', '/api/v1/studies', doc);
    expect(json.status).toBe(400);
    expect(json.body.error.fields.map((f: any) => f.field)).toContain('spec.trialTemplate.trialSpec.kind');
  });

  it('tunehive submit takes the file as it is; tunehive katib check prints the mapping and exits 2 on refusals', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-katib-cli-'));
    const ok = path.join(dir, 'ok.yaml');
    const bad = path.join(dir, 'bad.yaml');
    const okDoc = experiment('katib-cli') as any;
    okDoc.spec.maxTrialCount = 1;
    writeFileSync(ok, stringify(okDoc));
    const badDoc = experiment('katib-cli-bad') as any;
    badDoc.spec.metricsCollectorSpec = { collector: { kind: 'TensorFlowEvent' } };
    writeFileSync(bad, stringify(badDoc));
    const env = { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };

    const checked = await runCli(['katib', 'check', ok], { env });
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(/ok\.yaml: accepted/);
    expect(checked.stdout).toMatch(/spec\.objective\.objectiveMetricName\s+objective\.metric = "f1-score"/);
    const refused = await runCli(['katib', 'check', bad], { env });
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(/spec\.metricsCollectorSpec\.collector\.kind: TensorFlowEvent is not supported/);

    const submitted = await runCli(['submit', ok], { env });
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect((await stack.waitForStudy(id, 60_000)).state).toBe('COMPLETED');
    const rejected = await runCli(['submit', bad], { env });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toMatch(/spec\.metricsCollectorSpec\.collector\.kind/);
  });
});
