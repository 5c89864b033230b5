/**
 * `npm run bench:ask-tell`: the ask/tell part of bench:load on its own (bench/load/ask-tell.ts).
 *
 *   npm run bench:ask-tell -- [--clients 16] [--trials 2000] [--algorithms random,tpe] [--no-optuna] [--optuna-processes 2] [--redis-url URL]
 *
 * Uses REDIS_URL (or --redis-url) when set, otherwise runs its own redis-server on a free port.
 */
import { parseArgs } from 'node:util';
import { runAskTell } from './load/ask-tell.js';
import { positiveInt, runStandalone } from './load/standalone.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '16' }, trials: { type: 'string', default: '2000' }, algorithms: { type: 'string', default: 'random,tpe' },
    'no-optuna': { type: 'boolean', default: false }, 'optuna-processes': { type: 'string' }, 'redis-url': { type: 'string' },
  },
});

await runStandalone('asktell', values['redis-url'] ?? process.env.REDIS_URL, (redisUrl) => runAskTell({
  redisUrl,
  clients: positiveInt('clients', values.clients), trials: positiveInt('trials', values.trials),
  algorithms: values.algorithms!.split(',').filter(Boolean), optuna: !values['no-optuna'],
  ...(values['optuna-processes'] ? { optunaProcesses: positiveInt('optuna-processes', values['optuna-processes']) } : {}),
}));
