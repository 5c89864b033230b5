/**
 * `npm run bench:metric-ingest`: the metric ingestion part of bench:load on its own (bench/load/metric-ingest.ts).
 *
 *   npm run bench:metric-ingest -- [--trials 4] [--points 100000] [--agents 2] [--redis-url URL]
 *
 * Uses REDIS_URL (or --redis-url) when set, otherwise runs its own redis-server on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalRedis } from '../cli/local-redis.js';
import { runMetricIngest } from './load/metric-ingest.js';
import { sectionMarkdown } from './load/report.js';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '4' }, points: { type: 'string', default: '100000' }, agents: { type: 'string', default: '2' }, 'redis-url': { type: 'string' } },
});
const positive = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
};

const given = values['redis-url'] ?? process.env.REDIS_URL;
const dir = given ? undefined : mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-ingest-redis-'));
const redis = dir ? await startLocalRedis({ dataDir: dir }) : undefined;
try {
  const section = await runMetricIngest({
    redisUrl: given ?? redis!.url, trials: positive('trials', values.trials), pointsPerTrial: positive('points', values.points), agents: positive('agents', values.agents),
  });
  console.log(sectionMarkdown(section));
} finally {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
