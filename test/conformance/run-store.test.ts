/**
 * The RunStore contract (coordinator/runs/run-store-contract.ts) against real Redis, one server
 * and a 3-master Redis Cluster: experiments (plain ones and studies), direct and trial runs,
 * tags with null deletes, params set once, metrics and their history, provenance per attempt,
 * and the search index following a trial.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalRedisCluster } from '../../cli/local-redis.js';
import { connectRedis, scanKeys, type RedisClient } from '../../shared/redis.js';
import { parseStudySpec, type StudySpec } from '../../shared/study-spec.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { RedisRunStore } from '../../coordinator/runs/redis-run-store.js';
import type { RunStore } from '../../coordinator/runs/run-store-contract.js';
import { keys } from '../../shared/redis-keys.js';
import type { Provenance } from '../../shared/run-model.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';

const clients: RedisClient[] = [];
// The same contract on a 3-master Redis Cluster: experiments and studies land on different masters.
const clusterDir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-runs-cluster-'));
const cluster = await startLocalRedisCluster({ dataDir: clusterDir, masters: 3 });
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await cluster.stop();
  rmSync(clusterDir, { recursive: true, force: true });
});
const TARGETS = [{ name: 'redis', url: () => redisUrl() }, { name: 'redis cluster', url: () => cluster.url }];

function harness(url: string): { studies: RedisStudyStore; runs: RedisRunStore; redis: RedisClient; prefix: string } {
  const redis = connectRedis(url, 'run-store-conformance');
  clients.push(redis);
  const prefix = uniquePrefix('runs');
  const studies = new RedisStudyStore(redis, prefix);
  const runs = new RedisRunStore(studies);
  studies.onTrialChanged = (s, n) => runs.indexTrial(s, n);
  return { studies, runs, redis, prefix };
}

function spec(over: Record<string, unknown> = {}): StudySpec {
  const r = parseStudySpec({
    name: 'tuning', project: 'default', objective: { metric: 'loss', direction: 'minimize' },
    searchSpace: { lr: { type: 'float', min: 0, max: 1 }, model: { type: 'categorical', values: ['rf', 'gbm'] } },
    maxTrials: 10, parallelism: 2, maxRetries: 1, tags: { team: 'fraud' }, trial: { command: ['true'], tags: { stage: 'dev', owner: 'ann' } }, ...over,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

const provenance = (attempt: number, commit: string): Provenance => ({
  attempt, capturedAt: 1_700_000_000_000, code: { source: 'git', commit, dirty: false }, data: { source: 'none', files: [], dvc: [] },
  command: ['python', 'train.py'], env: { A: '1' }, seed: 42,
});

async function caught(p: Promise<unknown>): Promise<{ code: string; message: string; fields: Array<{ field: string; reason: string }> }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; message: string; fields: Array<{ field: string; reason: string }> };
  }
  throw new Error('expected a rejection');
}

describe.each(TARGETS)('RunStore contract: $name', (target) => {
  const { studies, runs, redis, prefix } = harness(target.url());
  const store: RunStore = runs;

  it('plain experiments: created with tags, names unique per project, listed newest activity first with a name search', async () => {
    const a = await store.createExperiment({ project: 'default', name: 'Baseline', tags: { team: 'x' }, createdBy: 'ann' }, 1000);
    expect(a).toMatchObject({ project: 'default', name: 'Baseline', kind: 'plain', tags: { team: 'x' }, runCount: 0, createdAt: 1000 });
    expect(await store.experimentProject(a.id)).toBe('default');
    expect((await caught(store.createExperiment({ project: 'default', name: 'Baseline', createdBy: 'bob' }))).code).toBe('TH_ERR_EXPERIMENT_EXISTS');
    const other = await store.createExperiment({ project: 'other', name: 'Baseline', createdBy: 'ann' }, 2000);
    expect(other.project).toBe('other');
    const b = await store.createExperiment({ project: 'default', name: 'second try', createdBy: 'ann' }, 3000);
    const list = await store.listExperiments(['default'], { offset: 0, limit: 10 });
    expect(list.experiments.map((e) => e.id)).toEqual([b.id, a.id]);
    expect((await store.listExperiments(['default'], { offset: 0, limit: 10, nameContains: 'BASE' })).experiments.map((e) => e.id)).toEqual([a.id]);
    await store.setExperimentTags(a.id, { team: null, goal: 'f1' });
    expect((await store.getExperiment(a.id))?.tags).toEqual({ goal: 'f1' });
    expect(await store.experimentProject('nosuchexp')).toBeUndefined();
  });

  it('a study is an experiment: project, name and tags read from the study, not copied', async () => {
    const study = await studies.createStudy(spec());
    const exp = await store.getExperiment(study.id);
    expect(exp).toMatchObject({ id: study.id, kind: 'study', project: 'default', name: 'tuning', tags: { team: 'fraud' } });
    expect(await store.experimentProject(study.id)).toBe('default');
    expect(await redis.hget(keys.experiment(prefix, study.id), 'name')).toBeNull();
    await store.setExperimentTags(study.id, { team: null, extra: 'y' });
    expect((await store.getExperiment(study.id))?.tags).toEqual({ extra: 'y' });
  });

  it('direct runs: created whole (params, tags, parent), updated, ended; an unknown experiment is refused', async () => {
    const exp = await store.createExperiment({ project: 'default', name: 'direct', createdBy: 'ann' });
    const parent = await store.createRun({ experimentId: exp.id, name: 'parent', createdBy: 'ann' }, 5000);
    expect(parent).toMatchObject({ kind: 'direct', status: 'RUNNING', state: 'RUNNING', startTime: 5000, endTime: null, name: 'parent', experimentId: exp.id, project: 'default' });
    expect(parent.id.startsWith(`${exp.id}.r`)).toBe(true);
    const child = await store.createRun({ experimentId: exp.id, parentRunId: parent.id, params: { lr: '0.1' }, tags: { k: 'v' }, createdBy: 'ann' });
    expect(child).toMatchObject({ parentRunId: parent.id, params: { lr: '0.1' }, tags: { k: 'v' } });
    expect((await caught(store.createRun({ experimentId: 'nosuchexp', createdBy: 'ann' }))).code).toBe('TH_ERR_EXPERIMENT_NOT_FOUND');
    expect((await caught(store.createRun({ experimentId: exp.id, parentRunId: `${exp.id}.r000000000000`, createdBy: 'ann' }))).fields[0]?.field).toBe('parentRunId');
    const ended = await store.updateRun(child.id, { status: 'FINISHED', note: '# done' }, 9000);
    expect(ended).toMatchObject({ status: 'FINISHED', endTime: 9000, note: '# done' });
    expect((await store.getExperiment(exp.id))?.runCount).toBe(2);
    expect((await caught(store.logMetrics(child.id, [{ name: 'f1', value: 1, step: 0, timeMs: 1 }]))).code).toBe('TH_ERR_RUN_ENDED');
  });

  it('params are set once: the same value again is a no-op, another value is a 409 naming both, and nothing of the call applies', async () => {
    const exp = await store.createExperiment({ project: 'default', name: 'params', createdBy: 'ann' });
    const run = await store.createRun({ experimentId: exp.id, params: { lr: '0.1' }, createdBy: 'ann' });
    await store.logParams(run.id, { lr: '0.1', depth: '3' });
    const err = await caught(store.logParams(run.id, { batch: '32', lr: '0.2' }));
    expect(err.code).toBe('TH_ERR_RUN_PARAM_CHANGED');
    expect(err.message).toContain('"0.1"');
    expect(err.message).toContain('"0.2"');
    expect(err.fields[0]?.field).toBe('params.lr');
    expect((await store.getRun(run.id))?.params).toEqual({ lr: '0.1', depth: '3' });
  });

  it('tags: set and null-deleted on direct runs and trial runs; a trial run starts with the spec trial.tags', async () => {
    const study = await studies.createStudy(spec());
    expect(await studies.createTrial(study.id, 0, { lr: 0.00001, model: 'rf' }, 10)).toBe(1);
    const runId = `${study.id}.0`;
    let run = await store.getRun(runId);
    expect(run).toMatchObject({ kind: 'trial', status: 'SCHEDULED', state: 'QUEUED', studyId: study.id, trialNumber: 0, params: { lr: '1e-05', model: 'rf' }, tags: { stage: 'dev', owner: 'ann' } });
    await store.setTags(runId, { stage: null, note: 'good' });
    run = await store.getRun(runId);
    expect(run?.tags).toEqual({ owner: 'ann', note: 'good' });
    const exp = await store.createExperiment({ project: 'default', name: 'tags', createdBy: 'ann' });
    const d = await store.createRun({ experimentId: exp.id, tags: { a: '1', b: '2' }, createdBy: 'ann' });
    await store.setTags(d.id, { a: null, c: '3' });
    expect((await store.getRun(d.id))?.tags).toEqual({ b: '2', c: '3' });
    expect((await caught(store.setTags(`${exp.id}.r000000000000`, { a: '1' }))).code).toBe('TH_ERR_RUN_NOT_FOUND');
    // The lex index follows: the deleted value's member is gone, the new one is there.
    expect(await redis.zrange(keys.runIndexTag(prefix, exp.id, 'a'), '0', '-1')).toEqual([]);
    expect(await redis.zrange(keys.runIndexTag(prefix, exp.id, 'c'), '0', '-1')).toEqual([`3\0${d.id}`]);
  });

  it('trial runs follow their trial: status mapping, start and end, latest metrics from the study store, metric history', async () => {
    const study = await studies.createStudy(spec());
    await studies.createTrial(study.id, 0, { lr: 0.5, model: 'gbm' }, 10);
    const { attempt } = await studies.startAttempt(study.id, 0, 'w1', 0, '', 1, 10_000);
    expect((await store.getRun(`${study.id}.0`))).toMatchObject({ status: 'RUNNING', state: 'RUNNING', startTime: 10_000, endTime: null });
    await studies.appendMetrics(study.id, 0, attempt, 1, 'loss', [
      { name: 'loss', step: 0, value: 0.9, timeMs: 10_100 }, { name: 'acc', step: 0, value: 0.5, timeMs: 10_100 }, { name: 'loss', step: 1, value: 0.4, timeMs: 10_200 },
    ], 1000);
    const running = await store.getRun(`${study.id}.0`);
    expect(running?.metrics).toEqual({ loss: { value: 0.4, step: 1, timestamp: 10_200 }, acc: { value: 0.5, step: 0, timestamp: 10_100 } });
    expect(Number(await redis.zscore(keys.runIndexMetric(prefix, study.id, 'loss'), `${study.id}.0`))).toBe(0.4);
    await studies.finishTrial(study.id, 0, attempt, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 1, now: 11_000 });
    expect(await store.getRun(`${study.id}.0`)).toMatchObject({ status: 'FINISHED', state: 'COMPLETED', endTime: 11_000 });
    expect(await redis.sismember(keys.runIndexStatus(prefix, study.id, 'FINISHED'), `${study.id}.0`)).toBe(1);
    expect(await redis.sismember(keys.runIndexStatus(prefix, study.id, 'RUNNING'), `${study.id}.0`)).toBe(0);
    expect(await store.metricHistory(`${study.id}.0`, 'loss', { offset: 1, limit: 5 })).toEqual({ total: 2, points: [{ step: 1, value: 0.4, timeMs: 10_200 }] });
    expect((await caught(store.logParams(`${study.id}.0`, { a: '1' }))).code).toBe('TH_ERR_REQUEST_INVALID');
    expect((await caught(store.updateRun(`${study.id}.0`, { status: 'KILLED' }))).fields[0]?.field).toBe('status');
  });

  it('direct-run metrics: appended in order, latest is the last logged, history paged, the point cap holds', async () => {
    const exp = await store.createExperiment({ project: 'default', name: 'metrics', createdBy: 'ann' });
    const run = await store.createRun({ experimentId: exp.id, createdBy: 'ann' });
    await store.logMetrics(run.id, [{ name: 'f1', value: 0.5, step: 0, timeMs: 100 }, { name: 'f1', value: 0.7, step: 1, timeMs: 200 }]);
    await store.logMetrics(run.id, [{ name: 'f1', value: 0.6, step: 2, timeMs: 300 }]);
    expect((await store.getRun(run.id))?.metrics).toEqual({ f1: { value: 0.6, step: 2, timestamp: 300 } });
    expect(await store.metricHistory(run.id, 'f1', { offset: 0, limit: 2 })).toEqual({ total: 3, points: [{ step: 0, value: 0.5, timeMs: 100 }, { step: 1, value: 0.7, timeMs: 200 }] });
    expect((await caught(store.logMetrics(run.id, [{ name: 'f1', value: Number.NaN, step: 0, timeMs: 1 }]))).fields[0]?.field).toBe('metrics.0.value');
    expect(await store.metricHistory(run.id, 'nosuch', { offset: 0, limit: 10 })).toEqual({ total: 0, points: [] });
  });

  it('provenance: one record per attempt (re-capture replaces), oldest first, validated; the view shows the latest', async () => {
    const study = await studies.createStudy(spec());
    await studies.createTrial(study.id, 0, { lr: 0.5, model: 'rf' }, 10);
    const id = `${study.id}.0`;
    await store.setProvenance(id, provenance(2, 'b'.repeat(40)));
    await store.setProvenance(id, provenance(1, 'a'.repeat(40)));
    await store.setProvenance(id, provenance(1, 'c'.repeat(40)));
    expect((await store.provenanceOf(id)).map((p) => [p.attempt, p.code.commit?.[0]])).toEqual([[1, 'c'], [2, 'b']]);
    expect((await store.getRun(id))?.provenance?.attempt).toBe(2);
    const bad = await caught(store.setProvenance(id, { ...provenance(3, 'x'), seed: -1 } as Provenance));
    expect(bad.code).toBe('TH_ERR_REQUEST_INVALID');
    expect(bad.fields[0]?.field).toContain('provenance');
    expect((await caught(store.setProvenance(`${study.id}.7`, provenance(1, 'x')))).code).toBe('TH_ERR_RUN_NOT_FOUND');
  });

  it('deleteRun removes a direct run and every index entry it had; a plain experiment is deleted with its runs', async () => {
    const exp = await store.createExperiment({ project: 'default', name: 'to delete', createdBy: 'ann' });
    const run = await store.createRun({ experimentId: exp.id, params: { p: '1' }, tags: { t: '2' }, createdBy: 'ann' });
    await store.logMetrics(run.id, [{ name: 'm', value: 1, step: 0, timeMs: 1 }]);
    expect(await store.deleteRun(run.id)).toBe(true);
    expect(await store.getRun(run.id)).toBeUndefined();
    expect(await store.deleteRun(run.id)).toBe(false);
    for (const k of [keys.runIndexParam(prefix, exp.id, 'p'), keys.runIndexTag(prefix, exp.id, 't'), keys.runIndexMetric(prefix, exp.id, 'm'), keys.runIndexAll(prefix, exp.id)]) {
      expect(await redis.zcard(k)).toBe(0);
    }
    await store.createRun({ experimentId: exp.id, params: { p: '1' }, createdBy: 'ann' });
    await runs.deleteExperiment(exp.id);
    expect(await store.getExperiment(exp.id)).toBeUndefined();
    expect(await scanKeys(redis, `${prefix}:{${exp.id}}:*`)).toEqual([]);
    // The name is free again.
    await store.createExperiment({ project: 'default', name: 'to delete', createdBy: 'ann' });
  });
  it('backfill: trials of a study from before runs existed become searchable, latest metrics included', async () => {
    const h = harness(target.url());
    h.studies.onTrialChanged = undefined;
    const study = await h.studies.createStudy(spec());
    for (let n = 0; n < 3; n++) await h.studies.createTrial(study.id, n, { lr: n / 10, model: n === 1 ? 'gbm' : 'rf' }, 10);
    const { attempt } = await h.studies.startAttempt(study.id, 1, 'w', 0, '', 1);
    await h.studies.appendMetrics(study.id, 1, attempt, 1, 'loss', [{ name: 'loss', step: 0, value: 0.3, timeMs: Date.now() }], 100);
    // What an older coordinator left: no run documents, no experiment hash, no indexes.
    await h.redis.del(...[0, 1, 2].map((n) => keys.trialRun(h.prefix, study.id, n)), keys.experiment(h.prefix, study.id), keys.runIndexMetric(h.prefix, study.id, 'loss'));
    expect((await h.runs.search({ projects: ['default'], pageSize: 10 })).runs).toEqual([]);
    expect(await h.runs.backfillStudies()).toBe(1);
    const found = await h.runs.search({ projects: ['default'], pageSize: 10, filter: { type: 'clause', clause: { key: { kind: 'metric', name: 'loss' }, op: '<', value: 0.5, at: 0 } } });
    expect(found.runs.map((r) => r.id)).toEqual([`${study.id}.1`]);
    expect(found.runs[0]).toMatchObject({ params: { model: 'gbm' }, tags: { stage: 'dev', owner: 'ann' }, status: 'RUNNING' });
    expect((await h.runs.search({ projects: ['default'], pageSize: 10 })).runs).toHaveLength(3);
    // Once: a second pass finds nothing to do.
    expect(await h.runs.backfillStudies()).toBe(0);
  });
});
