/**
 * Plot endpoints and the table's sample over real HTTP and Redis: a fixture study written by
 * bench/fixtures/big-study.ts (3,000 trials, 50-point curves, live trials), and an ask/tell study
 * whose importance cache must follow its finished count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call } from '../helpers/auth.js';
import { createBigStudy, dropBigStudy } from '../../bench/fixtures/big-study.js';
import { keys } from '../../shared/redis-keys.js';

describe('study plots and the sampled table', () => {
  let stack: TestStack;
  let base: string;
  let big: string;
  const TRIALS = 3000;

  beforeAll(async () => {
    stack = await startTestStack('study-plots', { workers: 0 });
    base = stack.coordinator.httpUrl;
    big = (await createBigStudy(stack.coordinator.store, { trials: TRIALS, curvePoints: 50, live: 6 })).studyId;
  }, 60_000);
  afterAll(async () => {
    if (big) await dropBigStudy(stack.coordinator.store, big, TRIALS);
    await stack?.close();
  });

  it('the fixture is a study like any other: counts, best and trials as the store reads them', async () => {
    const s = (await call(base, 'GET', `/api/v1/studies/${big}`)).body;
    expect(s.counts, JSON.stringify(s).slice(0, 500)).toBeDefined();
    expect(s.counts.running + s.counts.paused).toBe(6);
    expect(s.counts.completed + s.counts.pruned + s.counts.failed + 6).toBe(TRIALS);
    const t = (await call(base, 'GET', `/api/v1/trials/${big}.${s.best.number}`)).body;
    expect(t.state).toBe('COMPLETED');
    expect(t.value).toBe(s.best.value);
  });

  it('table: whole below `sample`, a stratified sample above it that keeps the live trials and the best one', async () => {
    const full = (await call(base, 'GET', `/api/v1/studies/${big}/table`)).body;
    expect(full.sampled).toBe(false);
    expect(full.rows.number).toHaveLength(TRIALS);
    expect(full.paramNames).toEqual(['lr', 'opt', 'u', 'x', 'y']);
    const study = (await call(base, 'GET', `/api/v1/studies/${big}`)).body;
    const s = (await call(base, 'GET', `/api/v1/studies/${big}/table?sample=500`)).body;
    expect(s.sampled).toBe(true);
    expect(s.rows.number.length).toBeLessThanOrEqual(500);
    expect(s.rows.number.length).toBeGreaterThan(450);
    expect(s.rows.number).toContain(study.best.number);
    const live = full.rows.number.filter((_: number, i: number) => ['RUNNING', 'PAUSED'].includes(full.rows.state[i]));
    expect(live).toHaveLength(6);
    for (const n of live) expect(s.rows.number).toContain(n);
    // The sample spreads over the whole study, not its first rows.
    expect(Math.max(...s.rows.number)).toBeGreaterThan(TRIALS * 0.9);
    expect(s.afterHistory).toBe(full.afterHistory);
    // An incremental call after it sends only the live trials.
    const inc = (await call(base, 'GET', `/api/v1/studies/${big}/table?afterNumber=${s.afterNumber}&afterHistory=${s.afterHistory}`)).body;
    expect([...inc.rows.number].sort((a: number, b: number) => a - b)).toEqual(live);
    expect(inc.sampled).toBe(false);
    const bad = await call(base, 'GET', `/api/v1/studies/${big}/table?sample=5`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toBe('query.sample');
  });

  it('history: min/max down-sampled with every best-so-far point kept; best ends at the study best', async () => {
    const h = (await call(base, 'GET', `/api/v1/studies/${big}/plots/history?points=100`)).body;
    const study = (await call(base, 'GET', `/api/v1/studies/${big}`)).body;
    expect(h.sampled).toBe(true);
    expect(h.points.length).toBeLessThanOrEqual(100);
    expect(h.best.at(-1)).toEqual({ number: study.best.number, value: study.best.value });
    for (let i = 1; i < h.best.length; i++) expect(h.best[i].value).toBeLessThan(h.best[i - 1].value);
    const numbers = h.points.map((p: any) => p.number);
    for (const b of h.best) expect(numbers).toContain(b.number);
    const whole = (await call(base, 'GET', `/api/v1/studies/${big}/plots/history?points=20000`)).body;
    expect(whole.sampled).toBe(false);
    expect(Math.max(...whole.points.map((p: any) => p.value))).toBe(Math.max(...h.points.map((p: any) => p.value)));
    expect(Math.min(...whole.points.map((p: any) => p.value))).toBe(Math.min(...h.points.map((p: any) => p.value)));
  });

  it('curves: the best trial first, live and paused ones included, each down-sampled to `points`', async () => {
    const study = (await call(base, 'GET', `/api/v1/studies/${big}`)).body;
    const c = (await call(base, 'GET', `/api/v1/studies/${big}/plots/curves?trials=10&points=20`)).body;
    expect(c.sampled).toBe(true);
    expect(c.curves).toHaveLength(10);
    expect(c.curves[0].number).toBe(study.best.number);
    const states = new Set(c.curves.map((x: any) => x.state));
    expect(states.has('RUNNING')).toBe(true);
    expect(states.has('PAUSED')).toBe(true);
    for (const x of c.curves) {
      expect(x.values.length).toBeLessThanOrEqual(20);
      expect(x.steps).toHaveLength(x.values.length);
    }
    // Down-sampling keeps the whole curve's lowest and highest points.
    const one = (await call(base, 'GET', `/api/v1/studies/${big}/plots/curves?trials=1&points=100`)).body;
    expect(one.curves[0].number).toBe(study.best.number);
    expect(one.curves[0].values).toHaveLength(50);
    expect(one.curves[0].values.at(-1)).toBe(study.best.value);
    expect(Math.min(...c.curves[0].values)).toBe(Math.min(...one.curves[0].values));
    expect(Math.max(...c.curves[0].values)).toBe(Math.max(...one.curves[0].values));
  });

  it('importance: PED-ANOVA finds the fixture’s important parameters (x, opt, y over lr, u)', async () => {
    const r = (await call(base, 'GET', `/api/v1/studies/${big}/plots/importance`)).body;
    expect(r.method).toBe('ped-anova');
    const order = r.importances.map((x: any) => x.param);
    expect(order.slice(0, 2).sort()).toEqual(['opt', 'x']);
    expect(order.indexOf('y')).toBeLessThan(order.indexOf('lr'));
    expect(order.indexOf('y')).toBeLessThan(order.indexOf('u'));
  });

  it('importance is cached until the count of finished trials changes (ask/tell study)', async () => {
    const spec = { name: 'imp', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { a: { type: 'float', min: 0, max: 1 }, b: { type: 'float', min: 0, max: 1 } }, algorithm: { name: 'random', seed: 5 }, maxTrials: 200 };
    const id = (await call(base, 'POST', '/api/v1/studies', { body: spec })).body.id as string;
    const tellOne = async (f: (p: any) => number) => {
      const t = (await call(base, 'POST', `/api/v1/studies/${id}/trials/ask`)).body;
      expect((await call(base, 'POST', `/api/v1/studies/${id}/trials/${t.number}/tell`, { body: { value: f(t.params) } })).status).toBe(200);
    };
    for (let i = 0; i < 60; i++) await tellOne((p) => (p.a - 0.2) ** 2);
    const first = (await call(base, 'GET', `/api/v1/studies/${id}/plots/importance`)).body;
    expect(first.finished).toBe(60);
    expect(first.trials).toBe(60);
    expect(first.importances[0].param).toBe('a');
    // A value reported now that makes b matter is not seen until a trial finishes.
    const again = (await call(base, 'GET', `/api/v1/studies/${id}/plots/importance`)).body;
    expect(again).toEqual(first);
    // Every later trial beats every earlier one, and among them only b matters.
    for (let i = 0; i < 120; i++) await tellOne((p) => (p.b - 0.9) ** 2 - 10);
    const after = (await call(base, 'GET', `/api/v1/studies/${id}/plots/importance`)).body;
    expect(after.finished).toBe(180);
    expect(after.importances[0].param).toBe('b');
  }, 60_000);

  it('the fixture can index its runs for search (and is otherwise marked indexed, so no coordinator backfills it)', async () => {
    const small = await createBigStudy(stack.coordinator.store, { trials: 120, live: 2, runs: stack.coordinator.runs });
    const r = await call(base, 'GET', `/api/v1/runs?experiment=${small.studyId}&filter=${encodeURIComponent("attributes.status = 'FINISHED'")}&pageSize=1000`);
    expect(r.status).toBe(200);
    const table = (await call(base, 'GET', `/api/v1/studies/${small.studyId}/table`)).body;
    const completed = table.rows.state.filter((x: string) => x === 'COMPLETED').length;
    expect(r.body.runs.length).toBe(completed);
    expect(await stack.coordinator.store.redis.hget(keys.experiment(stack.prefix, big), 'lastActivity')).not.toBeNull();
    await dropBigStudy(stack.coordinator.store, small.studyId, 120);
  }, 60_000);

  it('bad plot queries name the field', async () => {
    for (const [url, field] of [[`/plots/history?points=1`, 'query.points'], [`/plots/curves?trials=0`, 'query.trials'], [`/plots/curves?points=100000`, 'query.points']]) {
      const r = await call(base, 'GET', `/api/v1/studies/${big}${url}`);
      expect(r.status, url).toBe(400);
      expect(r.body.error.fields[0].field, url).toBe(field);
    }
    expect((await call(base, 'GET', '/api/v1/studies/nosuchstudy/plots/importance')).status).toBe(404);
  });
});
