/**
 * What a Redis Cluster costs the store (issue 15), measured in one run against one server:
 * the same operations on a redis-server and on a local 3-master cluster (startLocalRedisCluster),
 * each figure printed with its ratio cluster / single. Operations: creating studies (one
 * slotMulti: the study hash plus three global indexes, so one MULTI per hash tag on a cluster),
 * listing 100 studies (a spreadPipeline over 100 slots), and the trial path through the store
 * (createTrial, startAttempt, finishTrial: one slot each) from concurrent studies.
 *
 *   npm run bench:cluster [-- --studies 300 --trials 400 --concurrency 8]
 *
 * Loopback only; starts and stops its own servers. Each side runs a warm-up round first.
 * Figures are noisy on a shared machine: read the ratios, which are measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalRedis, startLocalRedisCluster } from '../cli/local-redis.js';
import { RedisStudyStore } from '../coordinator/store/study-store.js';
import { connectRedis, type RedisClient } from '../shared/redis.js';
import { parseStudySpec, type StudySpec } from '../shared/study-spec.js';

const { values } = parseArgs({ options: { studies: { type: 'string', default: '300' }, trials: { type: 'string', default: '400' }, concurrency: { type: 'string', default: '8' } } });
const STUDIES = Math.min(10_000, Number(values.studies));
const TRIALS = Math.min(100_000, Number(values.trials));
const CONCURRENCY = Math.min(64, Math.max(1, Number(values.concurrency)));

const parsed = parseStudySpec({ name: 'bench-cluster', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 1_000_000, trial: { command: ['true'] } });
if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
const spec: StudySpec = parsed.spec;

interface Figures { studiesPerS: number; listMsP50: number; trialsPerS: number }

async function measure(redis: RedisClient, prefix: string): Promise<Figures> {
  const store = new RedisStudyStore(redis, prefix);
  let t = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < STUDIES; i++) ids.push((await store.createStudy(spec)).id);
  const studiesPerS = STUDIES / ((performance.now() - t) / 1000);

  const lists: number[] = [];
  for (let i = 0; i < 50; i++) {
    t = performance.now();
    const page = await store.listStudies(0, 100);
    lists.push(performance.now() - t);
    if (page.studies.length !== Math.min(100, STUDIES)) throw new Error(`listed ${page.studies.length} studies`);
  }
  lists.sort((a, b) => a - b);

  // CONCURRENCY studies, each driven by one loop: QUEUED -> RUNNING -> COMPLETED, one trial at a time.
  const per = Math.ceil(TRIALS / CONCURRENCY);
  t = performance.now();
  await Promise.all(ids.slice(0, CONCURRENCY).map(async (id) => {
    for (let n = 0; n < per; n++) {
      if ((await store.createTrial(id, n, { x: n / per }, spec.maxTrials)) !== 1) throw new Error(`createTrial ${id}.${n}`);
      const { attempt } = await store.startAttempt(id, n, 'bench-worker', 0, '{}', 0, Date.now(), `d${n}`);
      if (attempt !== 1) throw new Error(`startAttempt ${id}.${n}: ${attempt}`);
      await store.appendMetrics(id, n, attempt, 1, 'loss', [{ name: 'loss', step: 1, value: n, timeMs: Date.now() }], 1000);
      if (!(await store.finishTrial(id, n, attempt, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 0 })).applied) throw new Error(`finishTrial ${id}.${n}`);
    }
  }));
  const trialsPerS = (per * CONCURRENCY) / ((performance.now() - t) / 1000);
  return { studiesPerS, listMsP50: lists[Math.floor(lists.length / 2)]!, trialsPerS };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-cluster-'));
const single = await startLocalRedis({ dataDir: path.join(dir, 'single') });
const cluster = await startLocalRedisCluster({ dataDir: path.join(dir, 'cluster'), masters: 3 });
try {
  const a = connectRedis(single.url, 'bench-cluster-single');
  const b = connectRedis(cluster.url, 'bench-cluster');
  // A warm-up round on each (JIT, script cache, connections), then the round reported.
  await measure(a, 'warm');
  await measure(b, 'warm');
  const one = await measure(a, 'bench');
  const three = await measure(b, 'bench');
  a.disconnect();
  b.disconnect();
  const row = (name: string, x: number, y: number, digits = 0) => `| ${name} | ${x.toFixed(digits)} | ${y.toFixed(digits)} | ${(y / x).toFixed(2)} |`;
  console.log(`Redis Cluster (3 masters, loopback) against one redis-server, same run; ${STUDIES} studies, ${TRIALS} trials from ${CONCURRENCY} concurrent studies\n`);
  console.log('| figure | one server | cluster | cluster / one |\n| --- | --- | --- | --- |');
  console.log(row('studies created /s (slotMulti: 4 hash tags)', one.studiesPerS, three.studiesPerS));
  console.log(row('list 100 studies, p50 ms (spreadPipeline)', one.listMsP50, three.listMsP50, 2));
  console.log(row('store trial path /s (create, start, 1 metric batch, finish)', one.trialsPerS, three.trialsPerS));
} finally {
  await single.stop();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
