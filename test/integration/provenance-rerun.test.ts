/**
 * Provenance, program tags and reruns with real workers (real Redis, real gRPC, real child
 * processes, the real git binary): the trials run in a git checkout made here, with a data
 * file; the run records the commit, dirty flag, data hash, command, environment without
 * secrets and the seed; tags printed by the program reach the run; a rerun reproduces the
 * objective to the last digit, is refused when the commit or the data changed (saying what
 * differs), and runs with force.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import { trialSeed } from '../../shared/seed.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { runCli } from '../helpers/processes.js';
import { renderRun } from '../../cli/show-commands.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/seeded-trainer.mjs', import.meta.url));
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' } }).trim();

describe('provenance and reruns with real workers', () => {
  let stack: TestStack;
  let repo: string;
  let studyId: string;
  let study: any;
  let head: string;

  const trialOf = async (sid: string, n = 0) => (await stack.api('GET', `/api/v1/studies/${sid}/trials?offset=${n}&limit=1`)).body.trials[0];
  const rerun = async (runId: string, force?: boolean) => {
    const r = await stack.api('POST', `/api/v1/runs/${runId}/rerun`, force === undefined ? {} : { force });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    await stack.waitForStudy(r.body.studyId, 60_000);
    return { ...r.body, trial: await trialOf(r.body.studyId) };
  };

  beforeAll(async () => {
    repo = mkdtempSync(path.join(os.tmpdir(), 'th-prov-repo-'));
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'config', 'user.email', 't@example.com');
    git(repo, 'config', 'user.name', 'T');
    git(repo, 'config', 'commit.gpgsign', 'false');
    copyFileSync(FIXTURE, path.join(repo, 'train.mjs'));
    writeFileSync(path.join(repo, 'data.csv'), 'a,b\n1,2\n');
    writeFileSync(path.join(repo, 'README'), 'v1\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'trainer');
    git(repo, 'remote', 'add', 'origin', 'https://bot:ghp_supersecret@github.com/acme/trainer.git');
    head = git(repo, 'rev-parse', 'HEAD');
    stack = await startTestStack('provenance', { workers: 1, agent: { runtime: new ProcessRuntime(repo) } });
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'prov', objective: { metric: 'score', direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 3 } },
      algorithm: { name: 'random', seed: 11 }, maxTrials: 2, parallelism: 2,
      trial: {
        command: [process.execPath, 'train.mjs', '--x', '${params.x}'], env: { LR_SCHEDULE: 'cosine', WANDB_API_KEY: 'k-secret' },
        tags: { team: 'fraud' }, dataFiles: ['data.csv'],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    studyId = created.body.id;
    study = await stack.waitForStudy(studyId, 60_000);
  }, 90_000);
  afterAll(async () => {
    await stack?.close();
    rmSync(repo, { recursive: true, force: true });
  });

  it('records each attempt\'s code, data, command, environment without secrets, and the seed', async () => {
    expect(study.state).toBe('COMPLETED');
    for (const n of [0, 1]) {
      const runId = `${studyId}.${n}`;
      const r = await stack.api('GET', `/api/v1/runs/${runId}/provenance`);
      expect(r.status).toBe(200);
      expect(r.body.provenance).toHaveLength(1);
      const p = r.body.provenance[0];
      const trial = await trialOf(studyId, n);
      expect(p.attempt).toBe(1);
      expect(p.code).toEqual({ source: 'git', commit: head, branch: 'main', dirty: false, remote: 'https://github.com/acme/trainer.git', workdir: repo });
      expect(p.data).toEqual({
        source: 'files', version: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), dvc: [],
        files: [{ path: 'data.csv', size: 8, sha256: createHash('sha256').update('a,b\n1,2\n').digest('hex') }],
      });
      expect(p.command).toEqual([process.execPath, 'train.mjs', '--x', String(trial.params.x)]);
      expect(p.seed).toBe(trialSeed(11, n));
      expect(p.env.TUNEHIVE_SEED).toBe(String(trialSeed(11, n)));
      expect(p.env.LR_SCHEDULE).toBe('cosine');
      expect(p.env.WANDB_API_KEY).toBeUndefined();
      expect(JSON.stringify(p)).not.toContain('k-secret');
      expect(JSON.stringify(p)).not.toContain('ghp_supersecret');
      expect(p.runtime).toBe('process');
      // The run view carries the latest attempt's provenance, and the program's tags beside the spec's.
      const run = await stack.coordinator.runs.getRun(runId);
      expect(run!.provenance).toEqual(p);
      expect(run!.tags).toMatchObject({ team: 'fraud', model: 'mlp small', seed_seen: String(trialSeed(11, n)) });
    }
  });

  it('a rerun reproduces the objective to the last digit, linked both ways', async () => {
    const original = await trialOf(studyId, 0);
    const r = await rerun(original.id);
    expect(r.trial.state).toBe('COMPLETED');
    expect(r.trial.params).toEqual(original.params);
    expect(r.trial.value).toBe(original.value);
    expect(r.seed).toBe(trialSeed(11, 0));
    const run = await stack.coordinator.runs.getRun(r.runId);
    expect(run!.rerunOf).toBe(original.id);
    expect(run!.provenance!.seed).toBe(trialSeed(11, 0));
    expect((await stack.coordinator.runs.getRun(original.id))!.tags['tunehive.reruns']).toContain(r.runId);
  }, 90_000);

  it('refuses a rerun whose working directory moved to another commit, says what differs, and runs with force', async () => {
    const original = await trialOf(studyId, 1);
    writeFileSync(path.join(repo, 'README'), 'v2\n');
    git(repo, 'commit', '-qam', 'docs');
    const moved = git(repo, 'rev-parse', 'HEAD');
    try {
      const refused = await rerun(original.id);
      expect(refused.trial.state).toBe('FAILED');
      expect(refused.trial.reason).toContain(`code: recorded commit ${head.slice(0, 12)}, working directory at ${moved.slice(0, 12)}`);
      expect(refused.trial.reason).toContain(`tunehive rerun ${original.id} --force`);
      const forced = await rerun(original.id, true);
      expect(forced.trial.state).toBe('COMPLETED');
      expect(forced.trial.value).toBe(original.value);
      const run = await stack.coordinator.runs.getRun(forced.runId);
      expect(run!.tags['tunehive.rerun.differences']).toContain(`recorded commit ${head.slice(0, 12)}`);
      expect(run!.provenance!.code.commit).toBe(moved);
    } finally {
      git(repo, 'reset', '-q', '--hard', head);
    }
  }, 120_000);

  it('refuses a rerun when a data file changed, and when the checkout is dirty though the record was clean', async () => {
    const original = await trialOf(studyId, 0);
    writeFileSync(path.join(repo, 'data.csv'), 'a,b\n1,3\n');
    try {
      // The data file is tracked, so the checkout is dirty too: both are said.
      const refused = await rerun(original.id);
      expect(refused.trial.state).toBe('FAILED');
      expect(refused.trial.reason).toMatch(/data: recorded files version [0-9a-f]{12}, found files version [0-9a-f]{12}/);
      expect(refused.trial.reason).toContain(`code: recorded commit ${head.slice(0, 12)} (clean), working directory at ${head.slice(0, 12)} with uncommitted changes (dirty)`);
    } finally {
      writeFileSync(path.join(repo, 'data.csv'), 'a,b\n1,2\n');
    }
  }, 90_000);

  it('tunehive rerun prints the new run id at once and, at the end, the objective next to the original\'s; a refusal says what differs and the fix', async () => {
    const env = { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };
    const original = await trialOf(studyId, 1);
    const ok = await runCli(['rerun', original.id], { env });
    expect(ok.code, ok.stderr).toBe(0);
    const [newRun, verdict] = ok.stdout.trim().split('\n');
    expect(newRun).toMatch(new RegExp(`^[a-z0-9]+\\.0$`));
    expect(verdict).toBe(`objective score: rerun ${original.value}, original ${original.value}: identical`);
    expect(ok.stderr).toContain(`rerun of ${original.id} queued as run ${newRun}`);
    expect(ok.stderr).toContain(`the worker checks commit ${head.slice(0, 12)}`);

    writeFileSync(path.join(repo, 'README'), 'v3\n');
    git(repo, 'commit', '-qam', 'docs again');
    const moved = git(repo, 'rev-parse', 'HEAD');
    try {
      const refused = await runCli(['rerun', original.id], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`code: recorded commit ${head.slice(0, 12)}, working directory at ${moved.slice(0, 12)}`);
      expect(refused.stderr).toContain(`or run it anyway with: tunehive rerun ${original.id} --force`);
      const noWait = await runCli(['rerun', original.id, '--force', '--no-wait'], { env });
      expect(noWait.code, noWait.stderr).toBe(0);
      const queued = noWait.stdout.trim();
      expect(queued).toMatch(/^[a-z0-9]+\.0$/);
      await stack.waitForStudy(queued.split('.')[0]!, 60_000);
      expect((await trialOf(queued.split('.')[0]!)).value).toBe(original.value);
    } finally {
      git(repo, 'reset', '-q', '--hard', head);
    }
    const bad = await runCli(['rerun', 'not-a-run'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not a trial id');
  }, 120_000);

  it('tunehive show renders the run: params, metrics, tags, provenance, attempts; API text is made inert', async () => {
    const runId = `${studyId}.0`;
    await stack.coordinator.runs.setTags(runId, { evil: 'x\u001b[2J\u001b]52;c;AAAA\u0007y' });
    const run = (await stack.coordinator.runs.getRun(runId))!;
    const trial = (await stack.api('GET', `/api/v1/trials/${runId}`)).body;
    const provenance = (await stack.api('GET', `/api/v1/runs/${runId}/provenance`)).body.provenance;
    const text = renderRun(run, { provenance, trial, artifacts: { files: [{ path: 'model.json', size: 12, sha256: 'ab'.repeat(32) }] } });
    expect(text).not.toMatch(/[\u001b\u0007]/);
    expect(text).toContain(`run ${runId}: trial 0 of study ${studyId}, project default`);
    expect(text).toContain('status    FINISHED (state COMPLETED)');
    expect(text).toMatch(new RegExp(`  x +${String(trial.params.x).replace('.', '\\.')}`));
    expect(text).toMatch(/  score +-?\d/);
    expect(text).toMatch(/  model +mlp small/);
    expect(text).toMatch(/  evil +xy/);
    expect(text).toContain(`  code      git ${head} on main (clean), origin https://github.com/acme/trainer.git`);
    expect(text).toMatch(/  data      sha256:[0-9a-f]{64} \(trial\.dataFiles\)/);
    expect(text).toContain(`            data.csv  8 bytes  sha256 ${createHash('sha256').update('a,b\n1,2\n').digest('hex')}`);
    expect(text).toContain(`  command   ${process.execPath} train.mjs --x ${trial.params.x}`);
    expect(text).toContain(`  seed      ${trialSeed(11, 0)} (TUNEHIVE_SEED)`);
    expect(text).toContain(`            LR_SCHEDULE=cosine`);
    expect(text).not.toContain('WANDB_API_KEY');
    expect(text).toMatch(/attempts \(1\)\n  #  worker +started/);
    expect(text).toMatch(/  1  w0 +\d{4}-\d\d-\d\dT/);
    expect(text).toContain('artifacts (1, 12 bytes)');
  });

  it('tunehive show RUN prints it all through the API (GET /runs/:id, its provenance, the trial, its artifacts)', async () => {
    const env = { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };
    const runId = `${studyId}.1`;
    const r = await runCli(['show', runId], { env });
    expect(r.code, r.stderr).toBe(0);
    for (const part of [`run ${runId}: trial 1 of study ${studyId}`, '\nparams\n', '\nmetrics (latest)\n', '\ntags\n', '\nnote\n', '\nprovenance (attempt 1)\n',
      `  code      git ${head} on main (clean)`, `  seed      ${trialSeed(11, 1)} (TUNEHIVE_SEED)`, '\nattempts (1)\n', '\nartifacts (0, 0 bytes)\n']) {
      expect(r.stdout).toContain(part);
    }
    const json = await runCli(['show', runId, '--json'], { env });
    expect(JSON.parse(json.stdout).provenance[0].seed).toBe(trialSeed(11, 1));
    const missing = await runCli(['show', `${studyId}.77`], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no run|not found/i);
    const bad = await runCli(['show', 'nope'], { env });
    expect(bad.stderr).toContain('is not a run id');
  }, 60_000);

  it('refuses to rerun what has no record, saying why', async () => {
    const r = await stack.api('POST', `/api/v1/runs/${studyId}.99/rerun`, {});
    expect(r.status).toBe(404);
    const bad = await stack.api('POST', `/api/v1/runs/${studyId}.0/rerun`, { force: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toContain('force');
  });
});
