/**
 * How long the coordinator's event loop stalls while gp suggestions run: 20 ask+tell rounds on a
 * study pre-populated with N finished trials (random parameters, mixed_a values), through
 * ThreadSuggestionService (thread pool) and InlineSuggestionService (on the loop). Two probes:
 * perf_hooks.monitorEventLoopDelay (max delay) and a 5 ms interval's worst lateness, plus the
 * event loop's utilisation (the share of the time the main thread was busy rather than idle,
 * which separates our own blocking from a shared machine descheduling us). Target: under 50 ms
 * through the pool.
 *
 * A second table does the same for grid search on one int axis of 9,999,999 values (the grid
 * must never be enumerated; each ask used to take seconds on the loop), with N pending points.
 *
 *   node --import tsx bench/event-loop-stall.ts [--trials=100,1000] [--asks=20] [--grid-trials=1000,100000,1000000] [--grid-asks=20]
 */
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { sampleUniform } from '../coordinator/search/random.js';
import { InlineSuggestionService, type SuggestionService } from '../coordinator/search/suggest.js';
import { ThreadSuggestionService } from '../coordinator/search/suggestion-pool.js';
import { createRng } from '../shared/rng.js';
import type { Params, SearchSpace } from '../shared/search-space.js';
import type { FrozenTrial } from '../shared/trial.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const sizes = (args.trials ?? '100,1000').split(',').map(Number);
const asks = Number(args.asks ?? 20);

const SPACE: SearchSpace = {
  lr: { type: 'float', min: 1e-5, max: 1, log: true },
  layers: { type: 'int', min: 1, max: 8 },
  optimizer: { type: 'categorical', values: ['sgd', 'adam', 'rmsprop'] },
  dropout: { type: 'float', min: 0, max: 0.9 },
  batch_size: { type: 'int', min: 16, max: 512, log: true },
};
function mixedA(p: Params): number {
  const [us, off] = ({ sgd: [-1.0, 0.05], adam: [-3.0, 0.0], rmsprop: [-2.5, 0.02] } as Record<string, [number, number]>)[p.optimizer as string]!;
  const u = Math.log10(p.lr as number);
  const dr = (p.dropout as number) - 0.2;
  return 0.5 * (u - us) ** 2 + (0.1 * ((p.layers as number) - 4) ** 2) / 16 + dr * dr + (0.05 * (Math.log2(p.batch_size as number) - 6) ** 2) / 9 + 0.3 * (u - us + dr) ** 2 + off;
}

function study(n: number): FrozenTrial[] {
  const rng = createRng(n);
  return Array.from({ length: n }, (_, i) => {
    const params = sampleUniform(SPACE, rng);
    return { number: i, params, state: 'COMPLETED', loss: mixedA(params) };
  });
}

interface Stall { histMaxMs: number; histP99Ms: number; timerMaxMs: number; msPerAsk: number; busyPct: number }

type Ask = (k: number, trials: FrozenTrial[]) => Promise<void>;

const gpAsk = (svc: SuggestionService, n: number): Ask => async (k, trials) => {
  const params = await svc.suggest({ algorithm: { name: 'gp', settings: {} }, space: SPACE, seed: 1, trialNumber: n + k, trials: [...trials], pending: [] });
  if (params) trials.push({ number: n + k, params, state: 'COMPLETED', loss: mixedA(params) });
};

const HUGE_AXIS: SearchSpace = { x: { type: 'int', min: 1, max: 9_999_999 } };
const gridAsk = (svc: SuggestionService, n: number): Ask => async (k, trials) => {
  const params = await svc.suggest({ algorithm: { name: 'grid', settings: {} }, space: HUGE_AXIS, seed: 1, trialNumber: n + k, trials, pending: [] });
  if (params) trials.push({ number: n + k, params, state: 'COMPLETED', loss: params.x as number });
};
const gridTrials = (n: number): FrozenTrial[] => Array.from({ length: n }, (_, i) => ({ number: i, params: { x: i + 1 }, state: 'COMPLETED', loss: i + 1 }));

async function measure(svc: SuggestionService, n: number, ask: Ask = gpAsk(svc, n), trials: FrozenTrial[] = study(n), count = asks): Promise<Stall> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  let last = performance.now();
  let timerMax = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    timerMax = Math.max(timerMax, now - last - 5);
    last = now;
  }, 5);
  h.enable();
  const elu0 = perf.eventLoopUtilization();
  const t0 = performance.now();
  for (let k = 0; k < count; k++) {
    await ask(k, trials);
    // A runner gets each ask from its own I/O event; yield so the probes see one suggestion at a time.
    await new Promise((r) => setImmediate(r));
  }
  const msPerAsk = (performance.now() - t0) / count;
  await new Promise((r) => setTimeout(r, 20)); // let an overdue tick land
  const elu = perf.eventLoopUtilization(elu0);
  h.disable();
  clearInterval(timer);
  return { histMaxMs: h.max / 1e6, histP99Ms: h.percentile(99) / 1e6, timerMaxMs: timerMax, msPerAsk, busyPct: 100 * elu.utilization };
}

/** The same probes over an idle loop: on a shared machine, the stall nobody in this process causes. */
async function idleBaseline(ms: number): Promise<Stall> {
  const idle: SuggestionService = { suggest: () => new Promise((r) => setTimeout(() => r(null), ms / asks)), close: async () => {} };
  return measure(idle, 0);
}

const fmt = (r: Stall) => `${r.histMaxMs.toFixed(1).padStart(7)} ms (${r.histP99Ms.toFixed(1).padStart(6)} ms) | ${r.timerMaxMs.toFixed(1).padStart(8)} ms | ${r.busyPct.toFixed(0).padStart(3)} %`;

const pool = new ThreadSuggestionService();
const t0 = performance.now();
await pool.suggest({ algorithm: { name: 'gp', settings: {} }, space: SPACE, seed: 1, trialNumber: 12, trials: study(12), pending: [] });
console.log(`thread start + first suggestion: ${(performance.now() - t0).toFixed(0)} ms (not in the figures below)`);
console.log('finished trials | service | loop delay max (p99) | max 5 ms-timer lateness | loop busy | ms per ask');
const base = await idleBaseline(3000);
console.log(`${'(idle loop)'.padStart(15)} | -       | ${fmt(base)} |      -`);
for (const n of sizes) {
  for (const [name, svc] of [['pool', pool], ['inline', new InlineSuggestionService()]] as const) {
    const r = await measure(svc, n);
    console.log(`${String(n).padStart(15)} | ${name.padEnd(7)} | ${fmt(r)} | ${r.msPerAsk.toFixed(0).padStart(6)}`);
  }
}
const gridAsks = Number(args['grid-asks'] ?? asks);
console.log(`\ngrid, one int axis of 9,999,999 values, ${gridAsks} asks`);
console.log('finished trials | service | loop delay max (p99) | max 5 ms-timer lateness | loop busy | ms per ask');
for (const n of (args['grid-trials'] ?? '1000,100000,1000000').split(',').map(Number)) {
  const r = await measure(pool, n, gridAsk(pool, n), gridTrials(n), gridAsks);
  console.log(`${String(n).padStart(15)} | ${'pool'.padEnd(7)} | ${fmt(r)} | ${r.msPerAsk.toFixed(0).padStart(6)}`);
}
await pool.close();
