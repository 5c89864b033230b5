/** Workers read a study's trial template from its record, once per study (issue 9 item 16). */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StudyStore } from '../../coordinator/store/study-store.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { TrialTemplates } from '../../worker/trial-templates.js';
import { redisUrl, uniquePrefix } from '../helpers/env.js';

describe('trial templates', () => {
  const prefix = uniquePrefix('templates');
  let redis: Redis;
  beforeAll(() => { redis = new Redis(redisUrl()); });
  afterAll(() => redis?.disconnect());

  it('resolves a slim job with its study template, reading Redis once per study', async () => {
    const store = new StudyStore(redis, prefix);
    const spec = validateStudy({
      name: 't', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 3,
      trial: { command: ['node', 'train.js', '--x=${params.x}'], env: { A: '1' }, timeoutSeconds: 60, image: 'python:3.12' },
    });
    const study = await store.createStudy(spec);
    const reads: string[] = [];
    const counting = new Proxy(redis, { get: (target, prop, recv) => (prop === 'hget' ? (...a: [string, string]) => { reads.push(a[0]); return target.hget(...a); } : Reflect.get(target, prop, recv)) });
    const templates = new TrialTemplates(counting, prefix);
    for (const number of [0, 1, 2]) {
      const run = await templates.resolve({ studyId: study.id, trialId: `${study.id}.${number}`, number, params: { x: 0.5 }, gpus: 0 });
      expect(run).toEqual({ studyId: study.id, trialId: `${study.id}.${number}`, number, params: { x: 0.5 }, gpus: 0, command: ['node', 'train.js', '--x=${params.x}'], env: { A: '1' }, timeoutSeconds: 60, image: 'python:3.12', limits: study.spec.limits });
    }
    expect(reads).toHaveLength(1);
    expect(await templates.resolve({ studyId: 'nosuchstudy', trialId: 'nosuchstudy.0', number: 0, params: {}, gpus: 0 })).toBeUndefined();
  });
});
