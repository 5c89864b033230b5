/**
 * The spec of a rerun (coordinator/runs/rerun.ts) from a trial's record: params pinned as
 * one-value categoricals (no sampler chooses), the original's seed and budget, the image pinned
 * to the digest the engine ran, what the worker must find, and nothing of early stopping.
 */
import { describe, expect, it } from 'vitest';
import { rerunSpec, RERUN_OF_TAG } from '../../coordinator/runs/rerun.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import type { Provenance } from '../../shared/run-model.js';
import { trialSeed } from '../../shared/seed.js';

const original = validateStudy({
  name: 'orig', project: 'vision', objective: { metric: 'acc', direction: 'maximize' },
  searchSpace: { lr: { type: 'float', min: 0.001, max: 1, log: true }, layers: { type: 'int', min: 1, max: 8 }, opt: { type: 'categorical', values: ['sgd', 'adam'] } },
  algorithm: { name: 'tpe', seed: 123 }, maxTrials: 50, parallelism: 8, earlyStopping: { rule: 'asha', settings: { maxResource: 27 } }, maxRetries: 2,
  trial: { command: ['python', 'train.py', '--lr=${params.lr}'], env: { EPOCHS: '10' }, image: 'registry.example/team/trainer:2.1', gpus: 1, tags: { team: 'cv' }, dataFiles: ['d.csv'] },
  tags: { owner: 'ana' },
});
const study = { id: 'abcd1234', spec: original } as never;
const trial = { id: 'abcd1234.7', number: 7, params: { lr: 0.012345678901234567, layers: 3, opt: 'adam' }, budget: 27, attempt: 2, state: 'COMPLETED' } as never;
const provenance: Provenance = {
  attempt: 2, capturedAt: 1, command: [], env: {}, seed: 987654321, runtime: 'container',
  code: { source: 'git', commit: 'c'.repeat(40), dirty: false }, data: { source: 'files', version: 'sha256:beef', files: [], dvc: [] },
  image: { reference: 'registry.example/team/trainer:2.1', digest: `sha256:${'a'.repeat(64)}`, pinned: `registry.example/team/trainer@sha256:${'a'.repeat(64)}` },
};

describe('rerunSpec', () => {
  it('pins everything the record says and passes the same validation as a submitted spec', () => {
    const spec = validateStudy(rerunSpec({ study, trial, provenance }, false));
    expect(spec.searchSpace).toEqual({ lr: { type: 'categorical', values: [0.012345678901234567] }, layers: { type: 'categorical', values: [3] }, opt: { type: 'categorical', values: ['adam'] } });
    expect(spec).toMatchObject({ project: 'vision', maxTrials: 1, parallelism: 1, maxRetries: 2, tags: { owner: 'ana' }, objective: { metric: 'acc', direction: 'maximize' } });
    expect(spec.earlyStopping).toBeUndefined();
    expect(spec.trial).toMatchObject({ command: original.trial!.command, env: { EPOCHS: '10' }, gpus: 1, dataFiles: ['d.csv'], image: `registry.example/team/trainer@sha256:${'a'.repeat(64)}` });
    expect(spec.trial!.tags).toEqual({ team: 'cv', [RERUN_OF_TAG]: 'abcd1234.7' });
    expect(spec.rerun).toEqual({ of: 'abcd1234.7', seed: 987654321, budget: 27, force: false, expect: { commit: 'c'.repeat(40), dirty: false, dataVersion: 'sha256:beef', dataSource: 'files' } });
  });

  it('without a recorded provenance: the seed is derived as the original got it, and nothing is checked', () => {
    const spec = rerunSpec({ study, trial, provenance: undefined }, true);
    expect(spec.rerun).toMatchObject({ seed: trialSeed(123, 7), force: true, expect: {} });
    expect(spec.trial!.image).toBe('registry.example/team/trainer:2.1');
  });

  it('a trial of a conditional space: its inactive parameters are empty in the command and env, as the original got them, and the spec validates', () => {
    const cond = validateStudy({
      name: 'cond', objective: { metric: 'acc', direction: 'maximize' }, maxTrials: 5,
      searchSpace: { model: { type: 'categorical', values: ['rf', 'gb'] }, depth: { type: 'int', min: 2, max: 9, when: { model: 'rf' } }, lr: { type: 'float', min: 0.01, max: 0.3, when: { model: 'gb' } } },
      trial: { command: ['train', '--model=${params.model}', '--depth=${params.depth}', '--lr=${params.lr}'], env: { LR: '${params.lr}', DEPTH: '${params.depth}' } },
    });
    const spec = validateStudy(rerunSpec({ study: { id: 'cond0001', spec: cond } as never, trial: { id: 'cond0001.2', number: 2, params: { model: 'rf', depth: 4 }, attempt: 1, state: 'COMPLETED' } as never, provenance: undefined }, false));
    expect(spec.trial!.command).toEqual(['train', '--model=${params.model}', '--depth=${params.depth}', '--lr=']);
    expect(spec.trial!.env).toEqual({ LR: '', DEPTH: '${params.depth}' });
    expect(Object.keys(spec.searchSpace).sort()).toEqual(['depth', 'model']);
  });
});
