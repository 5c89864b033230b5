/**
 * `npm run bench:metric-ingest`: the metric ingestion part of bench:load on its own (bench/load/metric-ingest.ts).
 *
 *   npm run bench:metric-ingest -- [--trials 4] [--points 100000] [--agents 2] [--redis-url URL]
 *
 * Uses REDIS_URL (or --redis-url) when set, otherwise runs its own redis-server on a free port.
 */
import { parseArgs } from 'node:util';
import { runMetricIngest } from './load/metric-ingest.js';
import { positiveInt, runStandalone } from './load/standalone.js';

const { values } = parseArgs({
  options: { trials: { type: 'string', default: '4' }, points: { type: 'string', default: '100000' }, agents: { type: 'string', default: '2' }, 'redis-url': { type: 'string' } },
});

await runStandalone('ingest', values['redis-url'] ?? process.env.REDIS_URL, (redisUrl) => runMetricIngest({
  redisUrl, trials: positiveInt('trials', values.trials), pointsPerTrial: positiveInt('points', values.points), agents: positiveInt('agents', values.agents),
}));
