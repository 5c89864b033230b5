/**
 * npm run bench:stopping-scale — what one early-stopping decision costs as a study grows: wall
 * time and Redis commands per decision (one metric batch of a running trial, from "batch
 * stored" to the rule's answer) and per promotion query (`nextWork`, pause-mode rules), at
 * 100, 10k and 100k trials, for each rule. Runs against a private redis-server.
 *
 * Peers: a third COMPLETED, a third PAUSED at their rung (pause-mode rules; RUNNING otherwise)
 * and a third RUNNING (unfinished trials are the ones a reader must refresh), each with a full
 * curve of steps 1..9, so promotions choose among many paused candidates. A few warm-up decisions run first, so the
 * figures are the steady state rather than the first read of a study.
 *
 *   npm run bench:stopping-scale -- [--sizes 100,10000,100000] [--rules median,asha,asha-prune,hyperband] [--decisions 5] [--paths legacy,indexed]
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startLocalRedis } from '../cli/local-redis.js';
import { createStoppingRule } from '../coordinator/stopping/registry.js';
import type { StoppingRule } from '../coordinator/stopping/rule.js';
import { RedisStudyStore, type StudyRecord } from '../coordinator/store/study-store.js';
import { validateStudy } from '../coordinator/study-validation.js';
import { createRng } from '../shared/rng.js';
import { paths as PATHS, type BenchPath } from './stopping-paths.js';

const { values: a } = parseArgs({ options: {
  sizes: { type: 'string', default: '100,10000,100000' }, rules: { type: 'string', default: 'median,asha,asha-prune,hyperband' },
  decisions: { type: 'string', default: '5' }, paths: { type: 'string', default: Object.keys(PATHS).join(',') },
} });
const SIZES = a.sizes!.split(',').map(Number);
const DECISIONS = Number(a.decisions);
const STEPS = 9;

const RULES: Record<string, { rule: string; settings: Record<string, unknown> }> = {
  median: { rule: 'median', settings: { minTrialsRequired: 3, startStep: 4 } },
  asha: { rule: 'asha', settings: { reductionFactor: 3, minResource: 1, maxResource: STEPS } },
  'asha-prune': { rule: 'asha', settings: { reductionFactor: 3, minResource: 1, maxResource: STEPS, mode: 'prune' } },
  hyperband: { rule: 'hyperband', settings: { reductionFactor: 3, minResource: 1, maxResource: STEPS } },
};

const loss = (base: number, step: number) => base * (1 + 1 / step);

async function commandsProcessed(probe: Redis): Promise<number> {
  const info = await probe.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)![1]);
}

/** Creates trial `n` RUNNING with reports at steps `steps` (its first attempt). */
async function runningTrial(store: RedisStudyStore, study: StudyRecord, n: number, base: number, steps: number[]): Promise<void> {
  const spec = study.spec;
  if ((await store.createTrial(study.id, n, { x: base }, spec.maxTrials)) !== 1) throw new Error(`trial ${n} not created`);
  await store.startAttempt(study.id, n, 'bench', 0, '', spec.maxRetries);
  if (steps.length > 0) {
    await store.appendMetrics(study.id, n, 1, 1, spec.objective.metric, steps.map((s) => ({ name: spec.objective.metric, step: s, value: loss(base, s), timeMs: Date.now() })), 1_000_000);
  }
}

async function main() {
  const redisServer = await startLocalRedis({ dataDir: mkdtempSync(path.join(os.tmpdir(), 'tunehive-stopping-scale-')) });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const probe = new Redis(redisServer.url);
  const idle = -(await commandsProcessed(probe)) + (await commandsProcessed(probe)); // what one INFO itself counts
  console.log('rule       | path    |  trials | ms/decision | cmds/decision | ms/nextWork | cmds/nextWork');
  try {
    for (const ruleName of a.rules!.split(',')) {
      for (const size of SIZES) {
        for (const pathName of a.paths!.split(',')) {
          const path_: BenchPath = PATHS[pathName]!;
          await redis.flushall();
          const store = new RedisStudyStore(redis, 'bench');
          const spec = validateStudy({
            name: 'scale', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } },
            parallelism: 10, maxTrials: size + 100, maxRetries: 3, earlyStopping: RULES[ruleName], trial: { command: ['true'] },
          });
          const study = await store.createStudy(spec);
          const rule: StoppingRule = createStoppingRule(spec.earlyStopping!);
          const impl = path_.create(store, rule, study);
          const rng = createRng(size);
          const steps = Array.from({ length: STEPS }, (_, i) => i + 1);
          for (let from = 0; from < size; from += 2000) {
            // Creation is strictly sequential (trial numbers), the rest runs concurrently.
            for (let n = from; n < Math.min(size, from + 2000); n++) {
              if ((await store.createTrial(study.id, n, { x: n }, spec.maxTrials)) !== 1) throw new Error('create');
            }
            await Promise.all(Array.from({ length: Math.min(size, from + 2000) - from }, async (_, i) => {
              const n = from + i;
              const base = 0.1 + rng.next();
              await store.startAttempt(study.id, n, 'bench', 0, '', spec.maxRetries);
              await store.appendMetrics(study.id, n, 1, 1, spec.objective.metric, steps.map((s) => ({ name: spec.objective.metric, step: s, value: loss(base, s), timeMs: Date.now() })), 1_000_000);
              const pause = rule.halving?.mode === 'pause' && n % 3 === 1;
              await impl.observe(n, pause);
              // A paused peer's finish ends it PAUSED (the recorded decision wins).
              if (n % 3 === 0 || pause) await store.finishTrial(study.id, n, 1, 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 3 });
            }));
          }
          let number = size;
          const decideOnce = async (): Promise<{ ms: number; cmds: number }> => {
            const n = number++;
            // A batch that takes the new trial to step 4: a rung for asha, startStep for median.
            await runningTrial(store, (await store.getStudy(study.id))!, n, 0.1 + rng.next(), [1, 2, 3, 4]);
            const c0 = await commandsProcessed(probe);
            const t0 = performance.now();
            await impl.decide(n, 4);
            const ms = performance.now() - t0;
            return { ms, cmds: (await commandsProcessed(probe)) - c0 - idle };
          };
          const nextWorkOnce = async (): Promise<{ ms: number; cmds: number }> => {
            const c0 = await commandsProcessed(probe);
            const t0 = performance.now();
            await impl.nextWork();
            const ms = performance.now() - t0;
            return { ms, cmds: (await commandsProcessed(probe)) - c0 - idle };
          };
          for (let w = 0; w < 2; w++) { await decideOnce(); if (rule.nextWork) await nextWorkOnce(); }
          const d = { ms: 0, cmds: 0 };
          const w = { ms: 0, cmds: 0 };
          for (let k = 0; k < DECISIONS; k++) {
            const r = await decideOnce();
            d.ms += r.ms; d.cmds += r.cmds;
            if (rule.nextWork) {
              const q = await nextWorkOnce();
              w.ms += q.ms; w.cmds += q.cmds;
            }
          }
          const col = (x: number, width: number, digits: number) => (x / DECISIONS).toFixed(digits).padStart(width);
          console.log(`${ruleName.padEnd(10)} | ${pathName.padEnd(7)} | ${String(size).padStart(7)} | ${col(d.ms, 11, 2)} | ${col(d.cmds, 13, 0)} | ${rule.nextWork ? col(w.ms, 11, 2) : '-'.padStart(11)} | ${rule.nextWork ? col(w.cmds, 13, 0) : '-'.padStart(13)}`);
        }
      }
    }
  } finally {
    redis.disconnect();
    probe.disconnect();
    await redisServer.stop();
  }
}

await main();
