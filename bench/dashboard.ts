/**
 * npm run bench:dashboard (issue 13): the study page in Chromium at scale.
 *
 * 1. A 10,000-trial study whose trials have 50-point curves, written straight into Redis by
 *    bench/fixtures/big-study.ts (dash-api's fixture, the store's formats; no HTTP): the study
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
import { createBigStudy } from './fixtures/big-study.js';
import { ensureWebBuild } from '../web/build.js';
import { launch } from '../test/browser/browser.js';

const { values: flags } = parseArgs({ options: { trials: { type: 'string', default: '10000' }, big: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } } });
const TRIALS = Number(flags.trials), BIG = Number(flags.big), RUNS = Number(flags.runs);
const ADMIN = 'bench-dashboard-admin-token-0123456789';
const POINTS = 50;

/** dash-api's fixture (bench/fixtures/big-study.ts): n trials with curves, ~14% pruned, 4% failed, written into Redis in the store's formats. */
async function seedStudy(c: Coordinator, name: string, n: number, points: number): Promise<string> {
  const { studyId, ms } = await createBigStudy(c.store, { trials: n, curvePoints: points, live: 0, ended: true });
  console.log(`seeded ${name}: ${n} trials x ${points} points in ${(ms / 1000).toFixed(1)} s`);
  return studyId;
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
  // Cold: the first visit (Chromium's caches and the server's JIT and in-memory history empty).
  const cold = await firstRender(page, `/studies/${id}`, 120_000);
  for (let r = 0; r < RUNS; r++) {
    renders.push(await firstRender(page, `/studies/${id}`, 60_000));
    await page.getByTestId('row-count').waitFor();
    const f1 = await filterTime(page, "metrics.loss < 0.8 AND params.opt = 'adam'");
    const f2 = await filterTime(page, '');
    filters.push(f1.ms, f2.ms);
    if (r === 0) console.log(`filter: ${f1.rows} after the filter, ${f2.rows} after clearing it`);
  }
  const sampledAt10k = await page.getByTestId('sampled').count();
  console.log(`\n${TRIALS} trials x ${POINTS} points, Chromium ${browser.version()}, ${RUNS} runs after a warm-up:`);
  console.log(`  first meaningful render (table + history drawn): median ${verdict(median(renders), 1500)}  [${renders.map((x) => x.toFixed(0)).join(', ')}]; cold first visit ${verdict(cold, 1500)}`);
  console.log(`  table filter applied:                            median ${verdict(median(filters), 200)}  [${filters.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`  sampled notice at ${TRIALS}: ${sampledAt10k ? 'shown' : 'none (every trial is on the page)'}`);

  if (BIG > 0) {
    const big = await seedStudy(coordinator, 'bench-100k', BIG, POINTS);
    const t = await firstRender(page, `/studies/${big}`, 300_000);
    const sampled = await page.getByTestId('sampled').textContent().catch(() => null);
    const f = await filterTime(page, "params.opt = 'sgd'");
    console.log(`\n${BIG} trials: first render ${t.toFixed(0)} ms; filter ${f.ms.toFixed(0)} ms (${f.rows}); sampled notice: ${sampled ? JSON.stringify(sampled) : 'NOT shown'}`);
  }
} finally {
  await browser.close();
  await coordinator.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
