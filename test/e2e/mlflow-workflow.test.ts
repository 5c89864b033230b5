/**
 * The workflow that motivated the project, end to end on real parts: an HPO study of a real
 * classifier (logistic regression on the breast-cancer set, examples/breast-cancer) runs on two
 * worker agents; the runs are searched with MLflow's filter and order (`metrics.f1 > 0.9`,
 * `metrics.f1 DESC`, 5 results; MLflow's runs/search and the native GET /api/v1/runs) and checked against the trials' own values; the best run's model
 * is registered with the CLI, goes to Staging, then Production, gets the alias champion, and
 * `models:/<name>/Production` and `models:/<name>@champion` download (CLI, SHA-256 checked)
 * exactly the bytes the trial program wrote.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { runCli } from '../helpers/processes.js';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MODEL = 'breast-cancer-clf';

describe('MLflow workflow: HPO study -> search -> register -> Staging -> Production -> download', () => {
  let stack: TestStack;
  const keep = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bc-'));
  const cli = (args: string[]) => runCli(['models', ...args], { env: { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN } });

  beforeAll(async () => { stack = await startTestStack('mlflow-workflow', { workers: 2, slots: 2 }); });
  afterAll(async () => stack?.close());

  it('searches the trials\' runs, registers the best model and serves the trial\'s bytes through stage and alias', async () => {
    const started = Date.now();
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'breast-cancer-logreg',
      objective: { metric: 'f1', direction: 'maximize' },
      searchSpace: {
        lr: { type: 'float', min: 0.00001, max: 1, log: true },
        l2: { type: 'float', min: 0.00001, max: 0.1, log: true },
        epochs: { type: 'int', min: 5, max: 120 },
      },
      algorithm: { name: 'random', seed: 12 },
      parallelism: 4,
      maxTrials: 8,
      trial: {
        command: [process.execPath, '--import', 'tsx', path.resolve('examples/breast-cancer/train.ts'), '--lr', '${params.lr}', '--l2', '${params.l2}', '--epochs', '${params.epochs}', '--report-every', '10'],
        env: { BREAST_CANCER_KEEP_DIR: keep },
        timeoutSeconds: 120,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const studyId = created.body.id as string;
    const done = await stack.waitForStudy(studyId, 120_000);
    expect(done.state).toBe('COMPLETED');
    expect(done.counts.completed).toBe(8);
    const studySeconds = (Date.now() - started) / 1000;

    // The trials' own values: the objective (final F1) and the run's latest AUC.
    const trials = (await stack.api('GET', `/api/v1/studies/${studyId}/trials`)).body.trials as Array<{ id: string; value: number }>;
    expect(trials).toHaveLength(8);
    const own = new Map<string, { f1: number; auc: number }>();
    for (const t of trials) {
      const run = (await stack.api('GET', `/api/v1/runs/${t.id}`)).body;
      expect(run.metrics.f1.value, t.id).toBe(t.value);
      own.set(t.id, { f1: t.value, auc: run.metrics.auc.value });
    }
    const matching = [...own].filter(([, v]) => v.f1 > 0.9).sort((a, b) => b[1].f1 - a[1].f1);
    expect(matching.length, 'some trials reach F1 > 0.9').toBeGreaterThan(0);
    expect(matching.length, 'and some do not (the filter has something to drop)').toBeLessThan(8);
    const expected = matching.slice(0, 5);

    const checkPage = (ids: string[], f1s: number[]) => {
      expect(f1s, 'the runs\' F1 as the trials reported it').toEqual(ids.map((id) => own.get(id)!.f1));
      expect(f1s).toEqual(expected.map(([, v]) => v.f1));
      // Runs strictly above the last value shown must all be there (ties at the cut may be either).
      const cut = f1s.at(-1)!;
      expect(new Set(ids.filter((id) => own.get(id)!.f1 > cut))).toEqual(new Set(expected.filter(([, v]) => v.f1 > cut).map(([id]) => id)));
    };
    const q = new URLSearchParams({ filter: 'metrics.f1 > 0.9', orderBy: 'metrics.f1 DESC', pageSize: '5', experiment: studyId });
    const native = await stack.api('GET', `/api/v1/runs?${q}`);
    expect(native.status, JSON.stringify(native.body)).toBe(200);
    checkPage(native.body.runs.map((r: { id: string }) => r.id), native.body.runs.map((r: { metrics: { f1: { value: number } } }) => r.metrics.f1.value));
    // MLflow's own endpoint, with MLflow's request and response shapes.
    const ml = await fetch(`${stack.coordinator.httpUrl}/api/2.0/mlflow/runs/search`, {
      method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_ids: [studyId], filter: 'metrics.f1 > 0.9', order_by: ['metrics.f1 DESC'], max_results: 5 }),
    });
    const mlBody = (await ml.json()) as { runs: Array<{ info: { run_id: string }; data: { metrics: Array<{ key: string; value: number }> } }> };
    expect(ml.status, JSON.stringify(mlBody)).toBe(200);
    checkPage(mlBody.runs.map((r) => r.info.run_id), mlBody.runs.map((r) => r.data.metrics.find((m) => m.key === 'f1')!.value));
    const best = native.body.runs[0].id as string;

    // The trial's own bytes, as the worker uploaded them to the run.
    const written = readFileSync(path.join(keep, `${best}.json`));
    const uploaded = (await stack.api('GET', `/api/v1/runs/${best}/artifacts`)).body.files as Array<{ path: string; sha256: string }>;
    expect(uploaded.find((f) => f.path === 'model/model.json')?.sha256).toBe(sha(written));

    const reg = await cli(['register', best, '--path', 'model', '--name', MODEL]);
    expect(reg.code, reg.stderr).toBe(0);
    expect(reg.stdout).toContain(`registered ${MODEL} version 1 from runs:/${best}/model (2 files`);
    const staging = await cli(['stage', MODEL, '1', 'Staging']);
    expect(staging.stdout, staging.stderr).toContain('version 1 is now Staging');
    const production = await cli(['stage', MODEL, '1', 'Production', '--archive-existing']);
    expect(production.stdout, production.stderr).toContain('version 1 is now Production');
    const alias = await cli(['alias', MODEL, 'champion', '1']);
    expect(alias.stdout, alias.stderr).toContain(`${MODEL}@champion -> version 1`);

    const shown = await cli(['show', MODEL, '--output', 'json']);
    const m = JSON.parse(shown.stdout);
    expect(m.versions[0]).toMatchObject({ version: 1, stage: 'Production', aliases: ['champion'], runId: best });
    expect(m.versions[0].lineage).toMatchObject({ runId: best, studyId, metrics: { f1: own.get(best)!.f1, auc: own.get(best)!.auc } });
    expect(m.history.filter((e: { kind: string }) => e.kind === 'stage').map((e: { from: string; to: string }) => `${e.from}->${e.to}`)).toEqual(['Staging->Production', 'None->Staging']);

    for (const [uri, dir] of [[`models:/${MODEL}/Production`, 'prod'], [`models:/${MODEL}@champion`, 'champion']] as const) {
      const out = path.join(keep, dir);
      const d = await cli(['download', uri, out]);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toContain('SHA-256 checked');
      expect(sha(readFileSync(path.join(out, 'model.json'))), uri).toBe(sha(written));
      expect(readFileSync(path.join(out, 'MLmodel'), 'utf8')).toContain('tunehive_logreg');
    }
    const [bestF1, bestAuc] = [own.get(best)!.f1, own.get(best)!.auc];
    // The figures of this run, for the report (not asserted: timing is never a test).
    process.stdout.write(`mlflow-workflow: 8 trials in ${studySeconds.toFixed(1)} s, ${matching.length} with F1 > 0.9; best ${best}: F1 ${bestF1.toFixed(4)}, AUC ${bestAuc.toFixed(4)}; whole test ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });
});
