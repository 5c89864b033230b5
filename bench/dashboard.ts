/**
 * npm run bench:dashboard (issue 13): the study page in Chromium at scale.
 *
 * 1. A 10,000-trial study whose trials have 50-point curves, written straight through the study
 *    store (the same Lua scripts the runner uses; no HTTP, so seeding takes seconds): the study
 *    page's first meaningful render (navigation start to the table rendered AND the history
 *    plot drawn: the app's performance marks th:table-rendered / th:history-drawn), and the time
 *    from typing a filter to the table showing its rows (measured in the page, to the next frame).
 * 2. A 100,000-trial study: the page still renders, and says it shows a sample.
 * Targets: first render < 1.5 s, filter < 200 ms. Runs its own redis-server and coordinator.
 * Flags: --trials N (default 10000), --big N (default 100000, 0 skips), --runs R (default 3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Page } from 'playwright-core';
import { startLocalRedis } from '../cli/local-redis.js';
import { startCoordinator, type Coordinator } from '../coordinator/main.js';
import { createRng } from '../shared/rng.js';
import { ensureWebBuild } from '../web/build.js';
import { launch } from '../test/browser/browser.js';

const { values: flags } = parseArgs({ options: { trials: { type: 'string', default: '10000' }, big: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } } });
const TRIALS = Number(flags.trials), BIG = Number(flags.big), RUNS = Number(flags.runs);
const ADMIN = 'bench-dashboard-admin-token-0123456789';
const POINTS = 50;

/** A finished ask/tell study of `n` trials with `points`-point curves of "loss", written through the store. */
async function seedStudy(c: Coordinator, name: string, n: number, points: number): Promise<string> {
  const res = await fetch(`${c.httpUrl}/api/v1/studies`, {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name, objective: { metric: 'loss', direction: 'minimize' }, maxTrials: n, parallelism: 64, algorithm: { name: 'random', seed: 1 },
      searchSpace: { lr: { type: 'float', min: 1e-5, max: 1, log: true }, layers: { type: 'int', min: 1, max: 8 }, dropout: { type: 'float', min: 0, max: 0.6 },
        optimizer: { type: 'categorical', values: ['adam', 'sgd', 'rmsprop'] }, batch: { type: 'categorical', values: [32, 64, 128, 256] } },
    }),
  });
  const study = (await res.json()) as { id: string };
  const store = c.store;
  const rng = createRng(42);
  const opts = ['adam', 'sgd', 'rmsprop'], batches = [32, 64, 128, 256];
  const t0 = Date.now();
  const CHUNK = 500;
  for (let start = 0; start < n; start += CHUNK) {
    const numbers = Array.from({ length: Math.min(CHUNK, n - start) }, (_, i) => start + i);
    const params = numbers.map(() => ({ lr: 10 ** (-5 + 5 * rng.next()), layers: 1 + Math.floor(rng.next() * 8), dropout: 0.6 * rng.next(), optimizer: opts[Math.floor(rng.next() * 3)]!, batch: batches[Math.floor(rng.next() * 4)]! }));
    // Trial numbers must be created in order: one connection runs the scripts in the order sent.
    const created = await Promise.all(numbers.map((num, i) => store.createTrial(study.id, num, params[i]!, n)));
    for (let i = 0; i < numbers.length; i++) if (created[i] !== 1) throw new Error(`createTrial ${numbers[i]}: ${created[i]}`);
    await Promise.all(numbers.map(async (num, i) => {
      const p = params[i]!;
      const a = await store.startAttempt(study.id, num, 'bench', 0, '', 0);
      const final = Math.abs(Math.log10(p.lr) + 2.5) * 0.3 + p.dropout * 0.5 + (p.optimizer === 'sgd' ? 0.3 : 0) + 0.05 * rng.next();
      const pts = Array.from({ length: points }, (_, s) => ({ name: 'loss', step: s + 1, value: final + 2 / (s + 1), timeMs: Date.now() }));
      await store.appendMetrics(study.id, num, a.attempt, 0, 'loss', pts, 100_000);
      // One trial in ten is pruned halfway, as a real study's early stopping would.
      await store.finishTrial(study.id, num, a.attempt, num % 10 === 3 ? 'PRUNED' : 'COMPLETED', { direction: 'minimize', reason: '', maxRetries: 0 });
    }));
  }
  console.log(`seeded ${name}: ${n} trials x ${points} points in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return study.id;
}

/** Navigation start to the later of the two marks, in ms (the app sets them). */
async function firstRender(page: Page, url: string, timeoutMs: number): Promise<number> {
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName('th:table-rendered').length > 0 && performance.getEntriesByName('th:history-drawn').length > 0, undefined, { timeout: timeoutMs, polling: 20 });
  return page.evaluate(() => Math.max(performance.getEntriesByName('th:table-rendered')[0]!.startTime, performance.getEntriesByName('th:history-drawn')[0]!.startTime));
}

/** Typing a filter to the frame after the table shows the filtered rows, measured in the page. */
async function filterTime(page: Page, text: string): Promise<{ ms: number; rows: string }> {
  return page.evaluate(async (t) => {
    const input = document.querySelector<HTMLInputElement>('[data-testid="filter"]')!;
    const count = document.querySelector('[data-testid="row-count"]')!;
    const before = count.textContent;
    const t0 = performance.now();
    input.value = t;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    for (let i = 0; i < 600 && count.textContent === before; i++) await new Promise((r) => requestAnimationFrame(r));
    await new Promise((r) => requestAnimationFrame(r));
    return { ms: performance.now() - t0, rows: count.textContent ?? '' };
  }, text);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const verdict = (v: number, target: number) => `${v.toFixed(0)} ms (target < ${target} ms: ${v < target ? 'met' : 'MISSED'})`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-bench-dash-'));
const redis = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
const coordinator = await startCoordinator({ redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix: 'bd', log: pino({ level: 'silent' }), adminToken: ADMIN, checkpointDir: path.join(dir, 'ckpt') });
const browser = await launch();
try {
  await ensureWebBuild();
  const ctx = await browser.newContext({ baseURL: coordinator.httpUrl, extraHTTPHeaders: { authorization: `Bearer ${ADMIN}` }, viewport: { width: 1400, height: 1000 } });
  const page = await ctx.newPage();
  const id = await seedStudy(coordinator, 'bench-10k', TRIALS, POINTS);
  const renders: number[] = [], filters: number[] = [];
  await firstRender(page, `/studies/${id}`, 120_000); // warm-up: Chromium's caches and the server's JIT
  for (let r = 0; r < RUNS; r++) {
    renders.push(await firstRender(page, `/studies/${id}`, 60_000));
    await page.getByTestId('row-count').waitFor();
    const f1 = await filterTime(page, "metrics.loss < 0.8 AND params.optimizer = 'adam'");
    const f2 = await filterTime(page, '');
    filters.push(f1.ms, f2.ms);
    if (r === 0) console.log(`filter: ${f1.rows} after the filter, ${f2.rows} after clearing it`);
  }
  const sampledAt10k = await page.getByTestId('sampled').count();
  console.log(`\n${TRIALS} trials x ${POINTS} points, Chromium ${browser.version()}, ${RUNS} runs after a warm-up:`);
  console.log(`  first meaningful render (table + history drawn): median ${verdict(median(renders), 1500)}  [${renders.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`  table filter applied:                            median ${verdict(median(filters), 200)}  [${filters.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`  sampled notice at ${TRIALS}: ${sampledAt10k ? 'shown' : 'none (every trial is on the page)'}`);

  if (BIG > 0) {
    const big = await seedStudy(coordinator, 'bench-100k', BIG, 5);
    const t = await firstRender(page, `/studies/${big}`, 300_000);
    const sampled = await page.getByTestId('sampled').textContent().catch(() => null);
    const f = await filterTime(page, "params.optimizer = 'sgd'");
    console.log(`\n${BIG} trials: first render ${t.toFixed(0)} ms; filter ${f.ms.toFixed(0)} ms (${f.rows}); sampled notice: ${sampled ? JSON.stringify(sampled) : 'NOT shown'}`);
  }
} finally {
  await browser.close();
  await coordinator.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
