/**
 * The store and the queues on a real 3-master Redis Cluster (redis-server --cluster-enabled yes
 * x 3, joined by redis-cli --cluster create), started here, not the suite's Redis: the
 * coordinator logs in as its ACL user and the agents as the worker's, on every node. The
 * end-to-end grid study runs on it, then what crosses studies or uses the global keys (listing,
 * deletion, the retention sweep, ask/tell, a run search across experiments, worker join,
 * projects, the model registry, kicks on pub/sub). Keys
 * are counted per master, so the test cannot pass on one node by accident.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRedisCluster, type LocalRedisCluster } from '../../cli/local-redis.js';
import { keys } from '../../shared/redis-keys.js';
import { connectRedis, dataNodes, duplicateClient, scanKeys, type RedisClient } from '../../shared/redis.js';
import { queuePrefix, trialQueueName } from '../../shared/trial-job.js';
import { uniquePrefix } from '../helpers/env.js';
import { runGridStudy } from '../helpers/grid-study.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

const askTellSpec = (name: string, maxTrials: number) => ({
  name, objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: -5, max: 5 } },
  algorithm: { name: 'random', seed: 1 }, maxTrials,
});

describe('on a 3-master Redis Cluster', () => {
  let dir: string;
  let cluster: LocalRedisCluster;
  let stack: TestStack;
  let admin: RedisClient;
  let prefix: string;

  /** The prefix's keys on each master. */
  const keysPerMaster = () => Promise.all(dataNodes(admin).map(async (node) => scanKeys(node, `${prefix}:*`)));
  /** The master that holds a key (its index in dataNodes), or -1. */
  const masterOf = async (key: string) => {
    // A master that does not serve the key's slot answers MOVED.
    const found = await Promise.all(dataNodes(admin).map((node) => node.exists(key).catch(() => 0)));
    return found.indexOf(1);
  };
  /** Every key that names the study, on every master (its hash-tagged keys and its BullMQ jobs). */
  const keysOf = async (studyId: string) => (await scanKeys(admin, `${prefix}:*${studyId}*`)).sort();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-cluster-'));
    prefix = uniquePrefix('cluster');
    cluster = await startLocalRedisCluster({ dataDir: dir, masters: 3, prefix });
    admin = connectRedis(cluster.url, 'cluster-test');
    stack = await startTestStack('cluster', {
      prefix, workers: 2, slots: 2, redisUrl: cluster.users!.coordinator, workerRedisUrl: cluster.users!.worker,
      coordinator: { retentionDays: 1, sweepIntervalMs: 3_600_000 },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    admin?.disconnect();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is three masters, and the URLs name them all', async () => {
    expect(dataNodes(admin)).toHaveLength(3);
    expect(cluster.users!.worker).toMatch(/^redis-cluster:\/\/tunehive-worker:[0-9a-f]+@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
  });

  it('runs the end-to-end grid study', async () => {
    const id = await runGridStudy(stack);
    // The study's keys share its hash tag: all on one master, which holds the study hash.
    const perMaster = await keysPerMaster();
    const holders = perMaster.filter((ks) => ks.includes(keys.study(prefix, id)));
    expect(holders).toHaveLength(1);
    expect(holders[0]!.filter((k) => k.includes(`{${id}}`)).length).toBe((await keysOf(id)).filter((k) => k.includes(`{${id}}`)).length);
    // The default project's CPU queue went through BullMQ on the cluster (its id counter is kept).
    expect(await admin.get(`${queuePrefix(prefix)}:${trialQueueName('default', 0)}:id`)).not.toBeNull();
  }, 120_000);

  it('lists the joined workers', async () => {
    const r = await stack.api('GET', '/api/v1/workers');
    expect(r.status).toBe(200);
    expect(r.body.workers.map((w: any) => w.id).sort()).toEqual(['w0', 'w1']);
  });

  it('lists studies across slots, and deletes one: none of its keys is left on any master', async () => {
    // Studies (random ids, each its own hash tag) until they sit on at least two masters (bounded:
    // 12 all on one master would be 3 in 3^12).
    const ids: string[] = [];
    const masters = new Set<number>();
    for (let i = 0; i < 12 && (i < 4 || masters.size < 2); i++) {
      const r = await stack.api('POST', '/api/v1/studies', askTellSpec(`listed-${i}`, 2));
      expect(r.status).toBe(201);
      ids.push(r.body.id);
      masters.add(await masterOf(keys.study(prefix, r.body.id)));
    }
    expect(masters.size).toBeGreaterThan(1);
    expect(masters.has(-1)).toBe(false);
    const listed = await stack.api('GET', '/api/v1/studies?limit=100');
    expect(listed.status).toBe(200);
    for (const id of ids) expect(listed.body.studies.map((s: any) => s.id)).toContain(id);

    const victim = ids[0]!;
    await stack.api('POST', `/api/v1/studies/${victim}/trials/ask`);
    expect((await keysOf(victim)).length).toBeGreaterThan(2);
    const del = await stack.api('DELETE', `/api/v1/studies/${victim}?force=true`);
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body).toMatchObject({ deleted: true, studyId: victim });
    expect(await keysOf(victim)).toEqual([]);
    // The global indexes (other slots) let it go too.
    expect(await admin.zscore(keys.studies(prefix), victim)).toBeNull();
    expect(await admin.zscore(keys.projectStudies(prefix, 'default'), victim)).toBeNull();
    expect(await admin.sismember(keys.activeStudies(prefix), victim)).toBe(0);
    const after = await stack.api('GET', '/api/v1/studies?limit=100');
    expect(after.body.studies.map((s: any) => s.id)).not.toContain(victim);
    expect(after.body.total).toBe(listed.body.total - 1);
  }, 60_000);

  it('runs a study through ask and tell', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', askTellSpec('ask-tell', 4));
    for (let i = 0; i < 4; i++) {
      const t = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
      const told = await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: (t.params.x - 1) ** 2 });
      expect(told.body.state).toBe('COMPLETED');
    }
    const done = await stack.waitForStudy(study.id, 20_000);
    expect(done).toMatchObject({ state: 'COMPLETED', counts: { completed: 4 } });
  }, 60_000);

  it('searches runs across experiments in different slots', async () => {
    // Experiments until they sit on at least two masters (bounded, as the studies above).
    const made: string[] = [];
    const experiments: string[] = [];
    const masters = new Set<number>();
    for (let i = 0; i < 12 && (i < 4 || masters.size < 2); i++) {
      const e = await stack.api('POST', '/api/v1/experiments', { project: 'default', name: `cluster-search-${i}` });
      expect(e.status, JSON.stringify(e.body)).toBe(201);
      experiments.push(e.body.id);
      const r = await stack.api('POST', '/api/v1/runs', { experimentId: e.body.id, params: { model: i % 2 ? 'rf' : 'gbm' } });
      expect(r.status).toBe(201);
      await stack.api('POST', `/api/v1/runs/${r.body.id}/metrics`, { metrics: [{ name: 'f1', value: 0.5 + i / 10 }] });
      made.push(r.body.id);
      masters.add(await masterOf(keys.experiment(prefix, e.body.id)));
    }
    expect(masters.size).toBeGreaterThan(1);
    const q = new URLSearchParams({ filter: "params.model = 'rf'", orderBy: 'metrics.f1 DESC', experiment: experiments.join(',') });
    const r = await stack.api('GET', `/api/v1/runs?${q}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // The rf runs (odd i), best f1 first.
    expect(r.body.runs.map((x: any) => x.id)).toEqual(made.filter((_, i) => i % 2 === 1).reverse());
  }, 60_000);

  it('sweeps an ended study past its retention off every master', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', askTellSpec('retained', 1));
    const t = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body;
    await stack.api('POST', `/api/v1/studies/${study.id}/trials/${t.id}/tell`, { value: 1 });
    const done = await stack.waitForStudy(study.id, 20_000);
    expect((await keysOf(study.id)).length).toBeGreaterThan(0);
    const endedAt = Date.parse(done.finishedAt);
    expect((await stack.coordinator.sweeper.pass(endedAt + 0.5 * 86_400_000))?.deleted).toEqual([]);
    // The earlier studies of this file ended before it, so they may go in the same pass.
    expect((await stack.coordinator.sweeper.pass(endedAt + 1.01 * 86_400_000))?.deleted).toContain(study.id);
    expect(await keysOf(study.id)).toEqual([]);
    expect(await admin.zscore(keys.endedStudies(prefix), study.id)).toBeNull();
  }, 60_000);

  it('creates a project with a member and deletes it: its record, members and indexes on every master go', async () => {
    const made = await stack.api('POST', '/api/v1/projects', { name: 'cluster-proj', description: 'x' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect((await stack.api('PUT', '/api/v1/projects/cluster-proj/members/alice', { role: 'editor' })).status).toBe(200);
    expect(await admin.hget(keys.memberProjects(prefix, 'alice'), 'cluster-proj')).toBe('editor');
    expect((await stack.api('GET', '/api/v1/projects')).body.projects.map((p: any) => p.name)).toContain('cluster-proj');
    const gone = await stack.api('DELETE', '/api/v1/projects/cluster-proj');
    expect(gone.status, JSON.stringify(gone.body)).toBe(200);
    expect(await scanKeys(admin, `${prefix}:project:cluster-proj*`)).toEqual([]);
    expect(await admin.hget(keys.memberProjects(prefix, 'alice'), 'cluster-proj')).toBeNull();
    expect(await admin.zscore(keys.projects(prefix), 'cluster-proj')).toBeNull();
  });

  it('keeps the model registry in its one slot: create, list, delete', async () => {
    for (const name of ['cluster-model-a', 'cluster-model-b']) {
      const m = await stack.api('POST', '/api/v1/models', { name, project: 'default', tags: { team: 'x' } });
      expect(m.status, JSON.stringify(m.body)).toBe(201);
    }
    expect((await stack.api('GET', '/api/v1/models')).body.models.map((m: any) => m.name).sort()).toEqual(['cluster-model-a', 'cluster-model-b']);
    expect((await stack.api('DELETE', '/api/v1/models/cluster-model-a')).status).toBe(200);
    expect((await stack.api('GET', '/api/v1/models')).body.models.map((m: any) => m.name)).toEqual(['cluster-model-b']);
    const holders = (await keysPerMaster()).filter((ks) => ks.some((k) => k.includes('{registry}')));
    expect(holders).toHaveLength(1);
  });

  it('carries kicks between replicas on pub/sub, with the coordinator\'s user', async () => {
    const sub = duplicateClient(connectRedis(cluster.users!.coordinator, 'cluster-test-sub'));
    const pub = connectRedis(cluster.users!.coordinator, 'cluster-test-pub');
    try {
      const heard = new Promise<string>((resolve) => sub.on('message', (_c: string, m: string) => resolve(m)));
      await sub.subscribe(keys.kickChannel(prefix));
      // A Cluster forwards PUBLISH to every node, whichever node each connection is on.
      await pub.publish(keys.kickChannel(prefix), 'some-study');
      expect(await heard).toBe('some-study');
    } finally {
      sub.disconnect();
      pub.disconnect();
    }
  });

  it('spreads the deployment over every master', async () => {
    const counts = (await keysPerMaster()).map((ks) => ks.length);
    expect(counts.filter((n) => n > 0).length).toBe(3);
  });
});
