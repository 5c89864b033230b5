/**
 * `npm run bench:ask-tell`: the ask/tell part of bench:load on its own (bench/load/ask-tell.ts).
 *
 *   npm run bench:ask-tell -- [--clients 16] [--trials 2000] [--algorithms random,tpe] [--no-optuna] [--optuna-processes 2] [--redis-url URL]
 *
 * Uses REDIS_URL (or --redis-url) when set, otherwise runs its own redis-server on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalRedis } from '../cli/local-redis.js';
import { runAskTell } from './load/ask-tell.js';
import { sectionMarkdown } from './load/report.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '16' }, trials: { type: 'string', default: '2000' }, algorithms: { type: 'string', default: 'random,tpe' },
    'no-optuna': { type: 'boolean', default: false }, 'optuna-processes': { type: 'string' }, 'redis-url': { type: 'string' },
  },
});
const positive = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${JSON.stringify(v)})`);
  return n;
};

const given = values['redis-url'] ?? process.env.REDIS_URL;
const dir = given ? undefined : mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-asktell-redis-'));
const redis = dir ? await startLocalRedis({ dataDir: dir }) : undefined;
try {
  const section = await runAskTell({
    redisUrl: given ?? redis!.url,
    clients: positive('clients', values.clients), trials: positive('trials', values.trials),
    algorithms: values.algorithms!.split(',').filter(Boolean), optuna: !values['no-optuna'],
    ...(values['optuna-processes'] ? { optunaProcesses: positive('optuna-processes', values['optuna-processes']) } : {}),
  });
  console.log(sectionMarkdown(section));
} finally {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}
