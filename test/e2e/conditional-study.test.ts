/**
 * A conditional search space end to end on real parts (HTTP -> coordinator -> BullMQ on a real
 * redis-server -> a worker agent -> trial child processes -> gRPC): every trial records exactly
 * its active parameters, the program gets an empty argument for each inactive one and a
 * TUNEHIVE_PARAMS without it, and ask/tell checks told params against the active set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeNames } from '../../shared/conditional-space.js';
import type { SearchSpace } from '../../shared/search-space.js';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { trialSeries } from '../helpers/series.js';

const SPACE: SearchSpace = {
  model_type: { type: 'categorical', values: ['random_forest', 'gradient_boosting'] },
  n_estimators: { type: 'int', min: 1, max: 2 },
  max_depth: { type: 'int', min: 8, max: 9, when: { model_type: 'random_forest' } },
  learning_rate: { type: 'float', min: 0.01, max: 0.05, log: true, when: { model_type: 'gradient_boosting' } },
  booster: { type: 'categorical', values: ['gbtree', 'dart'], when: { model_type: 'gradient_boosting' } },
  rate_drop: { type: 'float', min: 0, max: 0.5, when: { booster: 'dart' } },
};

describe('a conditional study end to end', () => {
  let stack: TestStack;
  beforeAll(async () => { stack = await startTestStack('e2e-cond', { workers: 1, slots: 3 }); });
  afterAll(async () => stack?.close());

  it('runs every valid combination once, each trial with exactly its active parameters', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'e2e-conditional',
      objective: { metric: 'score', direction: 'minimize' },
      searchSpace: SPACE,
      algorithm: { name: 'grid', settings: { pointsPerFloat: 2 } },
      parallelism: 3,
      maxTrials: 100,
      trial: { command: [process.execPath, fixture('conditional-trainer.mjs'), '--model=${params.model_type}', '--n=${params.n_estimators}', '--depth=${params.max_depth}', '${params.learning_rate}', '--drop=${params.rate_drop}'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await stack.waitForStudy(created.body.id);

    // Random forest: 2 n_estimators x 2 max_depth; gradient boosting: 2 x 2 learning rates x
    // (gbtree + dart x 2 rate_drops) = 4 + 12, not the 2^6 = 64 of the flat product.
    expect(done.state).toBe('COMPLETED');
    expect(done.reason).toMatch(/exhausted after 16 trials/);
    expect(done.counts.completed).toBe(16);
    expect(done.best.value).toBe(0);
    expect(done.best.params).toMatchObject({ model_type: 'gradient_boosting', learning_rate: 0.05 });

    const trials = (await stack.api('GET', `/api/v1/studies/${created.body.id}/trials?limit=100`)).body.trials as Array<{ id: string; params: Record<string, unknown> }>;
    expect(trials).toHaveLength(16);
    const distinct = new Set<string>();
    for (const t of trials) {
      expect(Object.keys(t.params).sort(), JSON.stringify(t.params)).toEqual([...activeNames(SPACE, t.params as never)].sort());
      distinct.add(JSON.stringify(t.params));
      const series = await trialSeries(stack.api, t.id);
      // The program checked each argument against TUNEHIVE_PARAMS (empty for inactive ones) ...
      expect(series.argv_ok?.[0]?.value, `${t.id} ${JSON.stringify(t.params)}`).toBe(1);
      // ... and TUNEHIVE_PARAMS held exactly the recorded params.
      expect(series.n_params?.[0]?.value).toBe(Object.keys(t.params).length);
    }
    expect(distinct.size).toBe(16);
    expect(trials.filter((t) => t.params.model_type === 'random_forest').every((t) => !('learning_rate' in t.params) && !('booster' in t.params))).toBe(true);
    expect(trials.filter((t) => t.params.booster === 'gbtree').every((t) => !('rate_drop' in t.params))).toBe(true);
  });

  it('ask/tell: asked params are the active set; a tell with params is checked against it', async () => {
    const created = await stack.api('POST', '/api/v1/studies', {
      name: 'ask-tell-conditional', objective: { metric: 'score', direction: 'minimize' }, searchSpace: SPACE,
      algorithm: { name: 'tpe', seed: 4 }, maxTrials: 20,
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    for (let i = 0; i < 3; i++) {
      const asked = await stack.api('POST', `/api/v1/studies/${id}/trials/ask`);
      expect(asked.status).toBe(201);
      const params = asked.body.params as Record<string, unknown>;
      expect(Object.keys(params).sort()).toEqual([...activeNames(SPACE, params as never)].sort());
      const inactive = Object.keys(SPACE).find((k) => !Object.hasOwn(params, k))!;
      const wrong = await stack.api('POST', `/api/v1/studies/${id}/trials/${asked.body.number}/tell`, { value: 1, params: { ...params, [inactive]: 0.1 } });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error.fields).toContainEqual({ field: `params.${inactive}`, reason: expect.stringMatching(/inactive/) });
      const changed = await stack.api('POST', `/api/v1/studies/${id}/trials/${asked.body.number}/tell`, { value: 1, params: { ...params, n_estimators: params.n_estimators === 1 ? 2 : 1 } });
      expect(changed.status).toBe(409);
      expect(changed.body.error.code).toBe('TH_ERR_RUN_PARAM_CHANGED');
      const ok = await stack.api('POST', `/api/v1/studies/${id}/trials/${asked.body.number}/tell`, { value: 1, params });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.state).toBe('COMPLETED');
    }
  });

  it('refuses cmaes on a conditional space with a clear 400', async () => {
    const r = await stack.api('POST', '/api/v1/studies', { name: 'c', objective: { metric: 'score', direction: 'minimize' }, searchSpace: SPACE, algorithm: { name: 'cmaes' }, maxTrials: 5 });
    expect(r.status).toBe(400);
    expect(r.body.error.fields).toContainEqual({ field: 'algorithm.name', reason: 'cmaes cannot search a conditional space; use tpe or gp' });
  });
});
