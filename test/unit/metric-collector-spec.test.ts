import { describe, expect, it } from 'vitest';
import { filterProblem, KATIB_DEFAULT_FILTER, MAX_FILTER_LINE_CHARS } from '../../shared/metric-filters.js';
import { parseStudySpec } from '../../shared/study-spec.js';
import { lineParser, parseTextLine } from '../../worker/metrics/collector-lines.js';

const base = (collector: unknown, objective = 'f1-score') => ({
  name: 's', objective: { metric: objective, direction: 'maximize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 2,
  trial: { command: ['run', '${params.x}'], env: { X: '${params.x}' }, metricsCollector: collector },
});

describe('trial.metricsCollector in a study spec', () => {
  it('fills its defaults: text format, the objective as the one kept metric', () => {
    const r = parseStudySpec(base({ kind: 'stdout' }));
    expect(r.ok && r.spec.trial!.metricsCollector).toEqual({ kind: 'stdout', format: 'text', metrics: ['f1-score'] });
  });

  it.each([
    [{ kind: 'file' }, 'trial.metricsCollector.path', /is required with kind "file"/],
    [{ kind: 'stdout', path: '/x' }, 'trial.metricsCollector.path', /kind "file" only/],
    [{ kind: 'stdout', format: 'json' }, 'trial.metricsCollector.format', /JSON lines need kind "file"/],
    [{ kind: 'file', path: '/x', format: 'json', filters: ['(a)=(b)'] }, 'trial.metricsCollector.filters', /format "text" only/],
    [{ kind: 'stdout', filters: ['(a+)+=(\\d)'] }, 'trial.metricsCollector.filters[0]', /exponential/],
    [{ kind: 'stdout', metrics: ['loss'] }, 'trial.metricsCollector.metrics', /must include the objective metric "f1-score"/],
    [{ kind: 'tfevent' }, 'trial.metricsCollector.kind', /"stdout" or "file"/],
  ])('refuses %j', (collector, field, reason) => {
    const r = parseStudySpec(base(collector));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual({ field, reason: expect.stringMatching(reason) });
  });

  it('env values name parameters like command arguments do', () => {
    const r = parseStudySpec({ ...base(undefined), trial: { command: ['run'], env: { X: '${params.nope}' } } });
    expect(!r.ok && r.errors).toContainEqual({ field: 'trial.env.X', reason: expect.stringMatching(/params.nope/) });
  });

  it('objective.strategy is latest, min or max', () => {
    const spec = { ...base(undefined), trial: undefined, objective: { metric: 'loss', direction: 'minimize', strategy: 'best' } };
    const r = parseStudySpec(spec);
    expect(!r.ok && r.errors.map((e) => e.field)).toContain('objective.strategy');
  });
});

describe('metric filters', () => {
  it.each([KATIB_DEFAULT_FILTER, '{metricName: ([\\w|-]+), metricValue: ((-?\\d+)(\\.\\d+)?)}', '(\\w+\\s\\w+)\\s:\\s((-?\\d+)(\\.\\d+)?)', '([\\w-]+)=(Genotype.*)', '(?P<name>\\w+)=(?:x)?(\\d+)'])(
    'accepts Katib\'s filters: %s', (f) => expect(filterProblem(f)).toBeUndefined());

  it('reads text lines with Katib\'s default filter: its documented forms', () => {
    const parse = lineParser({ kind: 'stdout', format: 'text', metrics: ['loss', 'accuracy', 'Score'] });
    expect(parse('loss=0.3')?.values).toEqual([{ name: 'loss', value: 0.3 }]);
    expect(parse('accuracy=.98')?.values).toEqual([{ name: 'accuracy', value: 0.98 }]);
    expect(['Score=-7.53e-05', 'Score=1E0', 'Score=1.23E10'].map((l) => parse(l)?.values[0]!.value)).toEqual([-7.53e-5, 1, 1.23e10]);
    expect(parse('tunehive.checkpoint=4')?.values).toEqual([{ name: 'tunehive.checkpoint', value: 4 }]);
    expect(parse('2024-01-01T00:00:00Z INFO loss=0.42')).toEqual({ values: [{ name: 'loss', value: 0.42 }], timeMs: Date.parse('2024-01-01T00:00:00Z') });
    // A time the coordinator would refuse (before 2000) is not the report's time.
    expect(parse('1999-01-01T00:00:00Z loss=1')?.timeMs).toBeUndefined();
  });

  it('matches a filter with adjacent repetition in time linear in the line (a shared worker was blocked for hours)', () => {
    // Not nested, so the submission check lets it through; backtracking is O(n^4) on it.
    const filter = '(\\w+)=(a*a*a*a*b)';
    expect(filterProblem(filter)).toBeUndefined();
    const parse = lineParser({ kind: 'stdout', format: 'text', metrics: ['x'], filters: [filter] });
    expect(parse(`x=${'a'.repeat(MAX_FILTER_LINE_CHARS - 2)}`)).toBeUndefined();
    expect(parse('x=aab')).toBeUndefined(); // 'aab' is not a number: matched, then not kept
    // Katib's default filter reads the same on the linear engine.
    expect(lineParser({ kind: 'stdout', format: 'text', metrics: ['loss', 'acc'] })('loss=0.5 acc = 1e-3')?.values).toEqual([{ name: 'loss', value: 0.5 }, { name: 'acc', value: 1e-3 }]);
  }, 10_000);

  it('applies filters to bounded lines only', () => {
    const filters = [new RegExp(KATIB_DEFAULT_FILTER, 'g')];
    const long = `loss=1 ${'a'.repeat(MAX_FILTER_LINE_CHARS)}`;
    expect(parseTextLine(long, new Set(['loss']), filters)).toBeUndefined();
    expect(parseTextLine(long.slice(0, MAX_FILTER_LINE_CHARS), new Set(['loss']), filters)?.values).toEqual([{ name: 'loss', value: 1 }]);
  });
});
