/**
 * Run search at scale (issue 11): writes 10,000 and then 100,000 direct runs straight into Redis
 * through the run store (RedisRunStore.importRuns, not HTTP), then times searches of one page
 * (100 runs) and prints p50/p99 against the targets: p50 < 50 ms for one clause with an order,
 * < 150 ms for three clauses. Also the memory the runs and their indexes cost per run (INFO
 * memory delta over the import, and MEMORY USAGE of the index keys alone).
 *
 *   npm run bench:search [-- --sizes 10000,100000 --experiments 10 --repeats 60]
 *
 * Runs its own redis-server on a free port (nothing else is touched).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalRedis } from '../cli/local-redis.js';
import { connectRedis } from '../shared/redis.js';
import { keys } from '../shared/redis-keys.js';
import { parseFilter, parseOrderBy } from '../shared/run-filter/parse-filter.js';
import { createRng } from '../shared/rng.js';
import { RedisStudyStore } from '../coordinator/store/study-store.js';
import { RedisRunStore } from '../coordinator/runs/redis-run-store.js';
import type { RunStatus } from '../shared/run-model.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10000,100000' }, experiments: { type: 'string', default: '10' }, repeats: { type: 'string', default: '60' } } });
const SIZES = values.sizes.split(',').map(Number);
const EXPERIMENTS = Number(values.experiments);
const REPEATS = Number(values.repeats);

const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-search-'));
const server = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
process.on('exit', () => server.process.kill('SIGKILL'));
const redis = connectRedis(server.url, 'bench-search');

const QUERIES: Array<{ name: string; kind: 'one' | 'three'; filter: string; orderBy: string[] }> = [
  { name: 'metrics.f1 > 0.9 ORDER BY metrics.f1 DESC', kind: 'one', filter: 'metrics.f1 > 0.9', orderBy: ['metrics.f1 DESC'] },
  { name: "params.model = 'rf' ORDER BY metrics.f1 DESC", kind: 'one', filter: "params.model = 'rf'", orderBy: ['metrics.f1 DESC'] },
  { name: "tags.team = 'fraud' ORDER BY start_time DESC", kind: 'one', filter: "tags.team = 'fraud'", orderBy: [] },
  { name: "f1 > 0.5, model = 'rf', team = 'fraud' BY f1 DESC", kind: 'three', filter: "metrics.f1 > 0.5 and params.model = 'rf' and tags.team = 'fraud'", orderBy: ['metrics.f1 DESC'] },
  { name: "model = 'rf', team = 'fraud', status = 'FINISHED'", kind: 'three', filter: "params.model = 'rf' and tags.team = 'fraud' and attributes.status = 'FINISHED'", orderBy: [] },
  { name: "loss < 0.2, depth = '7', env = 'prod' BY loss ASC", kind: 'three', filter: "metrics.loss < 0.2 and params.depth = '7' and tags.env = 'prod'", orderBy: ['metrics.loss ASC'] },
];

const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function indexBytes(prefix: string, experimentIds: string[]): Promise<number> {
  let total = 0;
  for (const e of experimentIds) {
    const names = await redis.hkeys(keys.runIndexNames(prefix, e));
    const list = [keys.runIndexAll(prefix, e), keys.runIndexStart(prefix, e), keys.runIndexEnd(prefix, e), keys.runIndexNames(prefix, e),
      ...['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].map((s) => keys.runIndexStatus(prefix, e, s)),
      ...names.map((n) => (n.startsWith('m:') ? keys.runIndexMetric(prefix, e, n.slice(2)) : n.startsWith('p:') ? keys.runIndexParam(prefix, e, n.slice(2)) : keys.runIndexTag(prefix, e, n.slice(2))))];
    for (const k of list) total += Number((await redis.memory('USAGE', k, 'SAMPLES', '0')) ?? 0);
  }
  return total;
}

const rows: string[] = [];
try {
  for (const size of SIZES) {
    const prefix = `bench${size}`;
    const studies = new RedisStudyStore(redis, prefix);
    const runs = new RedisRunStore(studies);
    const rng = createRng(size);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rng.next() * xs.length)]!;
    const before = await usedMemory();
    const t0 = performance.now();
    const experimentIds: string[] = [];
    for (let e = 0; e < EXPERIMENTS; e++) {
      const exp = await runs.createExperiment({ project: 'default', name: `bench-${size}-${e}`, createdBy: 'bench' });
      experimentIds.push(exp.id);
      const inputs = Array.from({ length: Math.ceil(size / EXPERIMENTS) }, (_, i) => {
        const status = pick(['FINISHED', 'FINISHED', 'FINISHED', 'FAILED', 'RUNNING', 'KILLED'] as const) as RunStatus;
        const start = 1_700_000_000_000 + Math.floor(rng.next() * 86_400_000 * 30);
        return {
          experimentId: exp.id, createdBy: 'bench', name: `run-${e}-${i}`, status, startTime: start,
          ...(status === 'RUNNING' ? {} : { endTime: start + Math.floor(rng.next() * 3_600_000) }),
          params: { model: pick(['rf', 'gbm', 'lr', 'svm', 'mlp']), depth: String(1 + Math.floor(rng.next() * 10)), lr: String(Math.round(rng.next() * 1e4) / 1e4), optimizer: pick(['adam', 'sgd']) },
          tags: { team: pick(['fraud', 'risk', 'ops', 'ads']), env: pick(['prod', 'dev']) },
          metrics: { f1: rng.next(), loss: rng.next(), accuracy: rng.next() },
        };
      });
      await runs.importRuns(exp.id, inputs);
    }
    const importS = (performance.now() - t0) / 1000;
    const after = await usedMemory();
    const idx = await indexBytes(prefix, experimentIds);
    console.log(`${size} runs in ${EXPERIMENTS} experiments written in ${importS.toFixed(1)} s (${(size / importS).toFixed(0)} runs/s)`);
    rows.push(`${String(size).padStart(7)} | memory per run: ${((after - before) / size).toFixed(0)} B all data (INFO delta), ${(idx / size).toFixed(0)} B of it search indexes (MEMORY USAGE of ix:* keys; the run documents they check are the runs' records)`);
    for (const q of QUERIES) {
      const f = parseFilter(q.filter);
      const o = parseOrderBy(q.orderBy);
      if (!f.ok || !o.ok) throw new Error(`bad query ${q.filter}`);
      const times: number[] = [];
      await redis.config('RESETSTAT');
      let found = 0;
      let plans = '';
      for (let i = 0; i < REPEATS + 5; i++) {
        const s = performance.now();
        const r = await runs.search({ projects: ['default'], filter: f.filter, orderBy: o.keys, pageSize: 100 });
        const ms = performance.now() - s;
        if (i >= 5) times.push(ms);
        found = r.runs.length;
        plans = [...new Set(runs.searcher.lastStats.plans)].join('+') + ` read ${runs.searcher.lastStats.read}`;
      }
      // Redis's own time in the search scripts (INFO commandstats): apart from client-side CPU contention.
      const usec = [...(await redis.info('commandstats')).matchAll(/cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
      const serverMs = usec / 1000 / (REPEATS + 5);
      const p50 = pct(times, 50);
      const target = q.kind === 'one' ? 50 : 150;
      rows.push(`${String(size).padStart(7)} | ${q.name.padEnd(52)} | ${q.kind === 'one' ? '1 clause ' : '3 clauses'} | p50 ${p50.toFixed(1).padStart(6)} ms | p99 ${pct(times, 99).toFixed(1).padStart(6)} ms | target p50 < ${target} ms ${p50 < target ? 'ok  ' : 'MISS'} | Redis ${serverMs.toFixed(1).padStart(5)} ms/search | ${found} runs/page | ${plans}`);
    }
  }
  console.log(`\nsearch: one page of 100 runs, ${REPEATS} timed repeats each, through RedisRunStore.search (Lua per experiment, pipelined rounds); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs\n`);
  for (const r of rows) console.log(r);
} finally {
  await redis.quit();
  server.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
