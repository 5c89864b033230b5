/** Spec validation: every bad field is named with its reason; good specs get their defaults. */
import { describe, expect, it } from 'vitest';
import { TunehiveError } from '../../shared/errors.js';
import { validateStudy } from '../../coordinator/study-validation.js';
import { Value } from 'typebox/value';
import { DEFAULT_TRIAL_LIMITS, parseStudySpec, StudySpecSchema } from '../../shared/study-spec.js';

const good = () => ({
  name: 'ok',
  objective: { metric: 'accuracy', direction: 'maximize' },
  searchSpace: {
    lr: { type: 'float', min: 1e-4, max: 1, log: true },
    layers: { type: 'int', min: 1, max: 8 },
    opt: { type: 'categorical', values: ['sgd', 'adam'] },
  },
  algorithm: { name: 'random', seed: 3 },
  parallelism: 2,
  maxTrials: 10,
  trial: { command: ['python3', 'train.py', '--lr=${params.lr}'] },
});

function fieldsOf(mutate: (s: any) => void): Array<{ field: string; reason: string }> {
  const spec: any = good();
  mutate(spec);
  try {
    validateStudy(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(TunehiveError);
    expect((err as TunehiveError).status).toBe(400);
    return (err as TunehiveError).fields;
  }
  throw new Error('expected the spec to be rejected');
}

describe('study spec validation', () => {
  it('accepts a good spec and fills defaults', () => {
    const spec = validateStudy(good());
    expect(spec.maxFailedTrials).toBe(10);
    expect(spec.maxRetries).toBe(3);
    expect(spec.trial!.gpus).toBe(0);
    expect(spec.trial!.env).toEqual({});
  });

  it('stores a seed for an unseeded study so it can be replayed', () => {
    const s: any = good();
    delete s.algorithm.seed;
    expect(Number.isInteger(validateStudy(s).algorithm.seed)).toBe(true);
  });

  it('accepts an ask/tell study (no trial section)', () => {
    const s: any = good();
    delete s.trial;
    expect(validateStudy(s).trial).toBeUndefined();
  });

  const cases: Array<[string, (s: any) => void, string, RegExp]> = [
    ['unknown algorithm', (s) => (s.algorithm.name = 'magic'), 'algorithm.name', /unknown algorithm "magic" \(known: random, grid/],
    ['min >= max', (s) => (s.searchSpace.layers.min = 9), 'searchSpace.layers.min', /less than max \(got min 9 >= max 8\)/],
    ['empty categorical', (s) => (s.searchSpace.opt.values = []), 'searchSpace.opt.values', /non-empty array/],
    ['repeated categorical value', (s) => (s.searchSpace.opt.values = ['a', 'a']), 'searchSpace.opt.values', /must not repeat/],
    ['log with min <= 0', (s) => (s.searchSpace.lr.min = 0), 'searchSpace.lr.min', /> 0 on a log scale/],
    ['parallelism < 1', (s) => (s.parallelism = 0), 'parallelism', /integer from 1/],
    ['maxTrials missing', (s) => delete s.maxTrials, 'maxTrials', /missing/],
    ['non-integer int bound', (s) => (s.searchSpace.layers.max = 2.5), 'searchSpace.layers.max', /integer/],
    ['unknown parameter type', (s) => (s.searchSpace.lr.type = 'double'), 'searchSpace.lr.type', /"float", "int" or "categorical"/],
    ['bad direction', (s) => (s.objective.direction = 'up'), 'objective.direction', /"minimize" or "maximize"/],
    ['missing metric', (s) => delete s.objective.metric, 'objective.metric', /metric name/],
    ['command as a string', (s) => (s.trial.command = 'python3 train.py'), 'trial.command', /argv array .* never run by a shell/],
    ['placeholder to an unknown parameter', (s) => s.trial.command.push('${params.momentum}'), 'trial.command[3]', /momentum.*not in searchSpace/],
    ['negative timeout', (s) => (s.trial.timeoutSeconds = -1), 'trial.timeoutSeconds', /> 0/],
    ['reserved env var', (s) => (s.trial.env = { TUNEHIVE_TRIAL_ID: 'x' }), 'trial.env.TUNEHIVE_TRIAL_ID', /is set by the worker/],
    ['unknown top-level field', (s) => (s.maxTrial = 3), 'maxTrial', /unknown field/],
    ['step with log', (s) => (s.searchSpace.lr.step = 0.1), 'searchSpace.lr.step', /cannot be combined with log/],
    ['unknown algorithm setting', (s) => (s.algorithm.settings = { foo: 1 }), 'algorithm.settings.foo', /unknown setting/],
    ['grid too large', (s) => Object.assign(s, { algorithm: { name: 'grid', settings: { pointsPerFloat: 1000 } }, searchSpace: { a: { type: 'float', min: 0, max: 1 }, b: { type: 'float', min: 0, max: 1 }, c: { type: 'float', min: 0, max: 1 } }, trial: { command: ['t'] } }), 'algorithm.settings.pointsPerFloat', /more than/],
    ['gpus negative', (s) => (s.trial.gpus = -1), 'trial.gpus', /integer from 0/],
  ];
  it.each(cases)('rejects %s', (_name, mutate, field, reason) => {
    const fields = fieldsOf(mutate);
    const hit = fields.find((f) => f.field === field);
    expect(hit, `fields were ${JSON.stringify(fields)}`).toBeDefined();
    expect(hit!.reason).toMatch(reason);
  });

  it('reports every problem at once, not only the first', () => {
    const fields = fieldsOf((s) => {
      s.parallelism = 0;
      s.searchSpace.layers.min = 10;
      s.objective.direction = 'sideways';
    });
    expect(fields.map((f) => f.field).sort()).toEqual(['objective.direction', 'parallelism', 'searchSpace.layers.min']);
  });

  it('gives a spec that matches the stored-spec schema its types come from', () => {
    const parsed = parseStudySpec({ ...good(), limits: { maxMetricPoints: 5 }, earlyStopping: { rule: 'median' } });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(Value.Check(StudySpecSchema, parsed.spec), JSON.stringify([...Value.Errors(StudySpecSchema, parsed.spec)])).toBe(true);
    expect(parsed.spec.limits).toEqual({ ...DEFAULT_TRIAL_LIMITS, maxMetricPoints: 5 });
    expect(parsed.spec.earlyStopping).toEqual({ rule: 'median', settings: {} });
  });

  it('picks a random seed, and stores it, when there is no algorithm block at all', () => {
    const s: any = good();
    delete s.algorithm;
    const seeds = new Set([0, 1, 2].map(() => validateStudy(s).algorithm.seed));
    // Before: always 0 without an algorithm block.
    expect(seeds.size).toBe(3);
  });

  it('names the field of a spec nested too deep (YAML and CLI input too, not only HTTP)', () => {
    let deep: any = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    const r = parseStudySpec({ ...good(), algorithm: { name: 'random', settings: deep } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toEqual({ field: expect.stringMatching(/^algorithm\.settings\.a\.a/), reason: 'nests deeper than 32 levels' });
  });

  it('rejects a body that is not an object', () => {
    expect(() => validateStudy([1, 2])).toThrow(/must be a JSON object/);
  });

  // Each parameter and argument is checked on its own (the slow, interpreted path): past the
  // limits a 1 MiB body held the event loop for seconds and answered with 10,000 errors.
  it('a search space or a command over its limit gets one error, not one per element', () => {
    const params = fieldsOf((s) => {
      s.trial.command = ['train'];
      s.searchSpace = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`p${i}`, { type: 'nope' }]));
    });
    expect(params.map((f) => f.field)).toEqual(['searchSpace']);
    const args = fieldsOf((s) => {
      s.trial.command = Array.from({ length: 20_000 }, (_, i) => `--a=\${params.missing${i}}`);
    });
    expect(args.map((f) => f.field)).toEqual(['trial.command']);
  });
});
