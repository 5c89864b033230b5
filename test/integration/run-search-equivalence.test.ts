/**
 * The indexed search (searchRuns-3.lua and its planner) must return exactly what the reference
 * semantics give (shared/run-filter/evaluate.ts: `matches` + `compareRuns`) over the same runs,
 * page by page: a randomised fixture of direct and trial runs in three experiments against
 * random filters (every comparator and key family, AND and OR) and random multi-key orders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../shared/redis.js';
import { parseStudySpec } from '../../shared/study-spec.js';
import { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { RedisRunStore } from '../../coordinator/runs/redis-run-store.js';
import type { Clause, Filter, Key, OrderKey } from '../../shared/run-filter/ast.js';
import { compareRuns, DEFAULT_ORDER_BY, matches } from '../../shared/run-filter/evaluate.js';
import { parseFilter } from '../../shared/run-filter/parse-filter.js';
import type { RunStatus, RunView } from '../../shared/run-model.js';
import { keys } from '../../shared/redis-keys.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';
import { createRng } from '../../shared/rng.js';
import { likeReference, randomLikeCase } from '../helpers/like-reference.js';

let redis: RedisClient;
let runs: RedisRunStore;
let studies: RedisStudyStore;
const experimentIds: string[] = [];
let all: RunView[] = [];
const rng = createRng(20261201);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
const MODELS = ['rf', 'gbm', 'lr', 'r%f', 'RF', 'gbm-2'];
const TEAMS = ['fraud', 'risk', 'Fraud', 'ops'];
const STATUSES: RunStatus[] = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED', 'SCHEDULED'];
const F1S = [0.1, 0.5, 0.9, 0.95, 0.25, 0.75, 0.9];

beforeAll(async () => {
  redis = connectRedis(redisUrl(), 'run-search-equivalence');
  studies = new RedisStudyStore(redis, uniquePrefix('search-eq'));
  runs = new RedisRunStore(studies);
  studies.onTrialChanged = (s, n) => runs.indexTrial(s, n);
  for (const name of ['alpha', 'beta']) {
    const e = await runs.createExperiment({ project: 'default', name, createdBy: 'ann' });
    experimentIds.push(e.id);
    for (let i = 0; i < 70; i++) {
      const params: Record<string, string> = { model: pick(MODELS), depth: String(1 + Math.floor(rng.next() * 12)) };
      if (rng.next() < 0.2) delete params.depth;
      const tags: Record<string, string> = rng.next() < 0.7 ? { team: pick(TEAMS) } : {};
      const status = pick(STATUSES);
      const r = await runs.createRun({
        experimentId: e.id, name: rng.next() < 0.5 ? `run-${i % 9}` : `Trial ${i % 5}`, params, tags, createdBy: 'ann',
        startTime: 1_000_000 + Math.floor(rng.next() * 50) * 1000, status: status === 'RUNNING' || status === 'SCHEDULED' ? status : 'RUNNING',
      });
      if (rng.next() < 0.8) await runs.logMetrics(r.id, [{ name: 'f1', value: pick(F1S), step: 0, timeMs: 5 }, ...(rng.next() < 0.5 ? [{ name: 'f1', value: pick(F1S), step: 1, timeMs: 6 }] : [])]);
      if (rng.next() < 0.6) await runs.logMetrics(r.id, [{ name: 'loss', value: Math.round(rng.next() * 100) / 10, step: 0, timeMs: 5 }]);
      if (status !== 'RUNNING' && status !== 'SCHEDULED') await runs.updateRun(r.id, { status, ...(rng.next() < 0.5 ? { endTime: 2_000_000 + i } : {}) });
    }
  }
  const spec = parseStudySpec({
    name: 'gamma', project: 'default', objective: { metric: 'f1', direction: 'maximize' },
    searchSpace: { model: { type: 'categorical', values: MODELS }, lr: { type: 'float', min: 0, max: 1 } },
    maxTrials: 40, parallelism: 40, maxRetries: 0, trial: { command: ['true'], tags: { team: 'fraud' } },
  });
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  const study = await studies.createStudy(spec.spec);
  experimentIds.push(study.id);
  for (let n = 0; n < 30; n++) {
    await studies.createTrial(study.id, n, { model: pick(MODELS), lr: Math.round(rng.next() * 1000) / 1000 }, 40, undefined, 1_000_000 + n);
    if (rng.next() < 0.25) continue;
    const { attempt } = await studies.startAttempt(study.id, n, 'w', 0, '', 0, 1_000_000 + Math.floor(rng.next() * 50) * 1000);
    if (rng.next() < 0.8) await studies.appendMetrics(study.id, n, attempt, 1, 'f1', [{ name: 'f1', step: 0, value: pick(F1S), timeMs: 1_100_000 }], 1000);
    if (rng.next() < 0.5) await runs.setTags(`${study.id}.${n}`, rng.next() < 0.5 ? { team: null } : { team: pick(TEAMS) });
    if (rng.next() < 0.6) await studies.finishTrial(study.id, n, attempt, pick(['COMPLETED', 'FAILED', 'PRUNED'] as const), { direction: 'maximize', reason: '', maxRetries: 0, now: 2_000_000 + n });
  }
  // Direct runs in the study's experiment too.
  for (let i = 0; i < 5; i++) await runs.createRun({ experimentId: study.id, params: { model: pick(MODELS) }, tags: { team: pick(TEAMS) }, createdBy: 'ann', startTime: 1_000_500 });
  const ids = (await Promise.all(experimentIds.map((e) => redis.zrange(keys.runIndexAll(studies.prefix, e), '0', '-1')))).flat();
  all = (await runs.getRuns(ids)).filter((r): r is RunView => r !== undefined);
  expect(all.length).toBe(2 * 70 + 30 + 5);
});
afterAll(async () => { await redis.quit(); });

const key = (kind: Key['kind'], name: string): Key => ({ kind, name });
const c = (k: Key, op: Clause['op'], value?: Clause['value']): Filter => ({ type: 'clause', clause: value === undefined ? { key: k, op, at: 0 } : { key: k, op, value, at: 0 } });

function randomClause(): Filter {
  switch (Math.floor(rng.next() * 14)) {
    case 0: return c(key('metric', 'f1'), pick(['>', '>=', '<', '<=', '=', '!='] as const), pick(F1S));
    case 1: return c(key('metric', pick(['f1', 'loss'])), pick(['IS NULL', 'IS NOT NULL'] as const));
    case 2: return c(key('param', 'model'), pick(['=', '!='] as const), pick(MODELS));
    case 3: return c(key('param', 'model'), pick(['IN', 'NOT IN'] as const), [pick(MODELS), pick(MODELS)]);
    case 4: return c(key('param', 'model'), pick(['LIKE', 'ILIKE'] as const), pick(['r%', 'g%', '%f', '_f', 'r\\%f', 'R%', '%b%']));
    case 5: return c(key('param', 'depth'), pick(['<', '>=', '='] as const), String(1 + Math.floor(rng.next() * 12)));
    case 6: return c(key('tag', 'team'), pick(['=', '!=', 'ILIKE'] as const), pick(TEAMS));
    case 7: return c(key('tag', 'team'), pick(['IS NULL', 'IS NOT NULL'] as const));
    case 8: return c(key('attribute', 'status'), '=', pick(STATUSES));
    case 9: return c(key('attribute', 'status'), 'IN', [pick(STATUSES), pick(STATUSES)]);
    case 10: return c(key('attribute', 'start_time'), pick(['>', '<=', '>='] as const), 1_000_000 + Math.floor(rng.next() * 50) * 1000);
    case 11: return c(key('attribute', 'end_time'), pick(['IS NULL', 'IS NOT NULL'] as const));
    case 12: return c(key('attribute', 'experiment_id'), pick(['=', '!='] as const), pick(experimentIds));
    default: return c(key('attribute', pick(['run_name', 'state'])), pick(['LIKE', '=', '!='] as const), pick(['run-%', 'Trial 1', 'COMPLETED', 'RUNNING', '%3']));
  }
}

function randomFilter(): Filter | undefined {
  const n = Math.floor(rng.next() * 4);
  if (n === 0) return undefined;
  const items = Array.from({ length: n }, () => (rng.next() < 0.15 ? { type: 'or' as const, items: [randomClause(), randomClause()] } : randomClause()));
  return items.length === 1 ? items[0] : { type: 'and', items };
}

function randomOrder(): OrderKey[] {
  const pool: Key[] = [key('metric', 'f1'), key('metric', 'loss'), key('param', 'depth'), key('tag', 'team'), key('attribute', 'start_time'),
    key('attribute', 'end_time'), key('attribute', 'run_name'), key('attribute', 'experiment_id'), key('attribute', 'run_id')];
  const n = Math.floor(rng.next() * 3);
  return Array.from({ length: n }, () => ({ key: pick(pool), direction: pick(['ASC', 'DESC'] as const) }));
}

async function pages(filter: Filter | undefined, orderBy: OrderKey[], pageSize: number, experiments?: string[]): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < 500; i++) {
    const r = await runs.search({ projects: ['default'], filter, orderBy, pageSize, ...(token ? { pageToken: token } : {}), ...(experiments ? { experimentIds: experiments } : {}) });
    out.push(...r.runs.map((x) => x.id));
    if (!r.nextPageToken) return out;
    expect(r.runs.length).toBe(pageSize);
    token = r.nextPageToken;
  }
  throw new Error('too many pages');
}

function reference(filter: Filter | undefined, orderBy: OrderKey[], experiments?: string[]): string[] {
  const keys = orderBy.length > 0 ? orderBy : DEFAULT_ORDER_BY;
  return all.filter((r) => (!experiments || experiments.includes(r.experimentId)) && matches(r, filter)).sort((a, b) => compareRuns(a, b, keys)).map((r) => r.id);
}

describe('run search equals evaluate.ts (matches + compareRuns)', () => {
  it('300 random filters and orders, paged with random page sizes', async () => {
    for (let i = 0; i < 300; i++) {
      const filter = randomFilter();
      const orderBy = randomOrder();
      const pageSize = 1 + Math.floor(rng.next() * (rng.next() < 0.5 ? 7 : 200));
      const experiments = rng.next() < 0.2 ? [pick(experimentIds)] : undefined;
      const got = await pages(filter, orderBy, pageSize, experiments);
      expect(got, JSON.stringify({ filter, orderBy, pageSize, experiments })).toEqual(reference(filter, orderBy, experiments));
    }
  });

  it('the issue\'s queries, parsed from text', async () => {
    for (const text of [
      "metrics.f1 > 0.9", "metrics.f1 >= 0.9 and params.model = 'rf'", "params.model = 'rf' and tags.team = 'fraud' and attributes.status = 'FINISHED'",
      "tags.team IS NULL", "params.model LIKE 'r%' OR metrics.loss < 2", "attributes.state = 'COMPLETED'", "metrics.f1 = 0.9 and params.model != 'lr'",
    ]) {
      const parsed = parseFilter(text);
      if (!parsed.ok) throw new Error(`${text}: ${parsed.error.message}`);
      for (const orderBy of [[], [{ key: key('metric', 'f1'), direction: 'DESC' as const }], [{ key: key('param', 'model'), direction: 'ASC' as const }, { key: key('metric', 'loss'), direction: 'DESC' as const }]]) {
        expect(await pages(parsed.filter, orderBy, 4), text).toEqual(reference(parsed.filter, orderBy));
      }
    }
  });

  it('a project the caller may not read contributes nothing; a bad page token is a 400 naming query.pageToken', async () => {
    expect((await runs.search({ projects: ['other'], pageSize: 10 })).runs).toEqual([]);
    const first = await runs.search({ projects: ['default'], pageSize: 2 });
    const err = await runs.search({ projects: ['default'], pageSize: 2, pageToken: `x${first.nextPageToken}` }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TH_ERR_REQUEST_INVALID', fields: [{ field: 'query.pageToken' }] });
    const other = await runs.search({ projects: ['default'], pageSize: 2, pageToken: first.nextPageToken!, filter: c(key('metric', 'f1'), '>', 0.1) }).catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'TH_ERR_REQUEST_INVALID', fields: [{ field: 'query.pageToken' }] });
    const garbage = await runs.search({ projects: ['default'], pageSize: 2, pageToken: 'bm90IGpzb24' }).catch((e: unknown) => e);
    expect(garbage).toMatchObject({ code: 'TH_ERR_REQUEST_INVALID' });
  });
});

describe('LIKE in the search script', () => {
  const tagLike = (pattern: string): Filter => ({ type: 'clause', clause: { key: { kind: 'tag', name: 'v' }, op: 'LIKE', value: pattern, at: 0 } });
  const found = async (experimentId: string, f: Filter) => (await runs.search({ projects: ['default'], experimentIds: [experimentId], filter: f, pageSize: 1000 })).runs.map((r) => r.id).sort();

  it('agrees with a dynamic-programming reference on 300 random patterns over 40 random values', async () => {
    const e = await runs.createExperiment({ project: 'default', name: 'like-reference', createdBy: 'ann' });
    const r = createRng(99);
    const values = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const { value } = randomLikeCase(() => r.next());
      const run = await runs.createRun({ experimentId: e.id, createdBy: 'ann', tags: { v: value } });
      values.set(run.id, value);
    }
    for (let i = 0; i < 300; i++) {
      const { pattern } = randomLikeCase(() => r.next());
      const want = [...values].filter(([, v]) => likeReference(pattern, v)).map(([id]) => id).sort();
      expect(await found(e.id, tagLike(pattern)), JSON.stringify(pattern)).toEqual(want);
    }
  });

  it('answers at once for many % on a long value it does not match (Redis was blocked for hours)', async () => {
    const e = await runs.createExperiment({ project: 'default', name: 'like-pathological', createdBy: 'ann' });
    const long = await runs.createRun({ experimentId: e.id, createdBy: 'ann', tags: { v: 'a'.repeat(5000) } });
    for (const stars of [3, 6, 500]) {
      expect(await found(e.id, tagLike(`${'%a'.repeat(stars)}%b`))).toEqual([]);
      expect(await found(e.id, tagLike(`${'%a'.repeat(stars)}%`))).toEqual([long.id]);
    }
    expect(await redis.ping()).toBe('PONG');
  }, 10_000);
});
