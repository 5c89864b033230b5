/**
 * The run filter grammar (issue 11): valid queries and exactly which runs of a fixture they match,
 * invalid ones and exactly where and what was expected, and the order-by table. The expected ids
 * were worked out by hand from the fixture below, not from the code.
 */
import { describe, expect, it } from 'vitest';
import type { Filter } from '../../shared/run-filter/ast.js';
import { compareRuns, compareStrings, DEFAULT_ORDER_BY, likeRegExp, matches } from '../../shared/run-filter/evaluate.js';
import { likeReference, randomLikeCase } from '../helpers/like-reference.js';
import { createRng } from '../../shared/rng.js';
import { FILTER_LIMITS, parseFilter, parseOrderBy, splitOrderBy } from '../../shared/run-filter/parse-filter.js';
import type { RunStatus, RunView } from '../../shared/run-model.js';

interface Spec {
  status: RunStatus; state?: string; start: number | null; end: number | null;
  params?: Record<string, string>; metrics?: Record<string, number>; tags?: Record<string, string>;
  name?: string; parent?: string;
}

function run(id: string, s: Spec): RunView {
  const experimentId = id.slice(0, id.indexOf('.'));
  const direct = id.includes('.r');
  return {
    id, experimentId, project: 'default', name: s.name ?? `run-${id}`, kind: direct ? 'direct' : 'trial',
    status: s.status, state: s.state ?? s.status, startTime: s.start, endTime: s.end, parentRunId: s.parent ?? null,
    params: s.params ?? {},
    metrics: Object.fromEntries(Object.entries(s.metrics ?? {}).map(([k, v]) => [k, { value: v, step: 9, timestamp: 1 }])),
    tags: s.tags ?? {}, note: '', provenance: null,
    studyId: direct ? null : experimentId, trialNumber: direct ? null : Number(id.slice(id.indexOf('.') + 1)), rerunOf: null,
  };
}

const B1 = 'expb.r000000000001', B2 = 'expb.r000000000002', B3 = 'expb.r000000000003', B4 = 'expb.r000000000004', B5 = 'expb.r000000000005';

const RUNS: RunView[] = [
  run('expa.1', { status: 'FINISHED', state: 'COMPLETED', start: 1000, end: 2000, params: { model: 'rf', lr: '0.1' }, metrics: { f1: 0.95, loss: 0.2 }, tags: { team: 'fraud', 'mlflow.user': 'alice' } }),
  run('expa.2', { status: 'FINISHED', state: 'COMPLETED', start: 1100, end: 2100, params: { model: 'rf', lr: '0.01' }, metrics: { f1: 0.91, loss: 0.25 }, tags: { team: 'fraud', 'mlflow.user': 'bob' } }),
  run('expa.3', { status: 'FINISHED', state: 'COMPLETED', start: 1200, end: 2200, params: { model: 'xgb', lr: '0.1' }, metrics: { f1: 0.85, loss: 0.3 }, tags: { team: 'risk', 'mlflow.user': 'alice' } }),
  run('expa.4', { status: 'KILLED', state: 'PRUNED', start: 1300, end: 1400, params: { model: 'xgb', lr: '0.001' }, metrics: { f1: 0.4, loss: 0.9 }, tags: { team: 'risk' } }),
  run('expa.5', { status: 'RUNNING', state: 'RUNNING', start: 1400, end: null, params: { model: 'rf', lr: '0.05' }, metrics: { f1: 0.7 }, tags: { team: 'fraud' } }),
  run('expa.6', { status: 'RUNNING', state: 'PAUSED', start: 1500, end: null, params: { model: 'svm', lr: '1e-3' }, metrics: { f1: 0.6, loss: 0.5 } }),
  run('expa.7', { status: 'SCHEDULED', state: 'QUEUED', start: null, end: null, params: { model: 'svm', lr: '0.1' } }),
  run('expa.8', { status: 'FAILED', state: 'FAILED', start: 1700, end: 1800, params: { model: 'rf', lr: '0.1' }, tags: { team: 'fraud' } }),
  run('expa.9', { status: 'KILLED', state: 'CANCELLED', start: 1800, end: 1900, params: { model: 'xgb', lr: '0.2' }, metrics: { f1: 0.9, loss: 0.1 }, tags: { team: 'Fraud' } }),
  run('expa.10', { status: 'FINISHED', state: 'COMPLETED', start: 1900, end: 3000, params: { model: 'rf', lr: '0.1' }, metrics: { f1: 0.99, loss: 0.05, 'f1-score': 0.98 }, tags: { team: 'fraud' } }),
  run(B1, { status: 'FINISHED', start: 5000, end: 6000, params: { model: 'linear' }, metrics: { f1: 0.92 }, tags: { team: 'fraud_ops', 'mlflow.user': 'carol' } }),
  run(B2, { status: 'RUNNING', start: 5100, end: null, parent: B1, params: { model: 'rf' }, metrics: { f1: 0.5 }, tags: { team: 'fraud%' } }),
  run(B3, { status: 'FAILED', start: 5200, end: 5300, params: { model: "it's" }, tags: { note: 'a_b' } }),
  run(B4, { status: 'FINISHED', start: 5300, end: 5400, metrics: { f1: -1, 'f1-score': 0.7 }, tags: { 'mlflow.user': 'Dave' } }),
  run(B5, { status: 'KILLED', start: 5400, end: 5500, params: { model: 'RF' }, metrics: { loss: 1e-4 }, tags: { team: 'risk' } }),
  run('expc.1', { status: 'FINISHED', state: 'COMPLETED', start: 7000, end: 8000, name: 'best run', params: { model: 'rf', lr: '0.1' }, metrics: { f1: 0.88 }, tags: { team: 'fraud' } }),
  run('expc.2', { status: 'FINISHED', state: 'COMPLETED', start: 7100, end: 8100, params: { model: 'xgb' }, metrics: { f1: 0.88 }, tags: { team: 'risk' } }),
  run('expc.3', { status: 'RUNNING', state: 'RUNNING', start: 7200, end: null, params: { model: 'rf' }, metrics: { f1: 0.3 }, tags: { team: '' } }),
  run('expc.4', { status: 'FAILED', state: 'FAILED', start: 7300, end: 7301, params: { model: 'svm' } }),
  run('expc.5', { status: 'FINISHED', state: 'COMPLETED', start: 7400, end: 7500, params: { model: '日本' }, metrics: { f1: 0.77 }, tags: { team: 'ab😀' } }),
];
const ALL = RUNS.map((r) => r.id);
const a = (...n: number[]) => n.map((i) => `expa.${i}`);
const c = (...n: number[]) => n.map((i) => `expc.${i}`);

function select(filter: Filter | undefined): string[] {
  return RUNS.filter((r) => matches(r, filter)).map((r) => r.id);
}
function parsed(text: string): Filter | undefined {
  const p = parseFilter(text);
  if (!p.ok) throw new Error(`${text}: ${p.error.message}`);
  return p.filter;
}

describe('valid filters and the runs they match', () => {
  const TABLE: Array<[string, string[]]> = [
    ['', ALL],
    ['   \n\t ', ALL],
    ['metrics.f1 > 0.9', [...a(1, 2, 10), B1]],
    ['metrics.f1 >= 0.9', [...a(1, 2, 9, 10), B1]],
    ['metric.f1 > .9', [...a(1, 2, 10), B1]],
    ['metrics.f1 > +0.9', [...a(1, 2, 10), B1]],
    ['metrics.f1>0.9', [...a(1, 2, 10), B1]],
    ['metrics.f1 = 0.88', c(1, 2)],
    ['metrics.f1 == 0.88', c(1, 2)],
    ['metrics.f1 != 0.88', [...a(1, 2, 3, 4, 5, 6, 9, 10), B1, B2, B4, ...c(3, 5)]],
    ['metrics.f1 <> 0.88', [...a(1, 2, 3, 4, 5, 6, 9, 10), B1, B2, B4, ...c(3, 5)]],
    ['metrics.f1 < 0', [B4]],
    ['metrics.f1 <= -1', [B4]],
    ['metrics.f1 < -1.5E+0', []],
    ['metrics.loss < 1e-3', [B5]],
    ['metrics.loss <= 1E-4', [B5]],
    ['metrics.f1 >= 0.88 and metrics.f1 <= 0.9', [...a(9), ...c(1, 2)]],
    ['metrics.`f1-score` > 0.75', a(10)],
    ['metrics."f1-score" >= 0.7', [...a(10), B4]],
    ['`metrics`.f1 > 0.95', a(10)],
    ['metrics.f1 IS NULL', [...a(7, 8), B3, B5, ...c(4)]],
    ['metrics.nothing IS NULL', ALL],
    ['metrics.nothing is not null', []],
    ["metric.f1 > 0.9 and params.model = 'rf'", a(1, 2, 10)],
    ["metrics.f1 > 0.9 AnD params.model ilike 'R%'", a(1, 2, 10)],
    ["params.model = 'rf'", [...a(1, 2, 5, 8, 10), B2, ...c(1, 3)]],
    ['params.model = "rf"', [...a(1, 2, 5, 8, 10), B2, ...c(1, 3)]],
    ["param.model LIKE 'r%'", [...a(1, 2, 5, 8, 10), B2, ...c(1, 3)]],
    ["parameters.model ILIKE 'rf'", [...a(1, 2, 5, 8, 10), B2, B5, ...c(1, 3)]],
    ["params.model != 'rf'", [...a(3, 4, 6, 7, 9), B1, B3, B5, ...c(2, 4, 5)]],
    ["params.model IN ('svm', 'linear')", [...a(6, 7), B1, ...c(4)]],
    ["params.model in('svm','linear')", [...a(6, 7), B1, ...c(4)]],
    ["params.model NOT IN ('rf', 'xgb')", [...a(6, 7), B1, B3, B5, ...c(4, 5)]],
    ['params.model = "it\'s"', [B3]],
    ["params.model = 'it''s'", [B3]],
    ["params.model = 'it\\'s'", [B3]],
    ["params.lr = '0.1'", [...a(1, 3, 7, 8, 10), ...c(1)]],
    ["params.lr = '1e-3'", a(6)],
    ["params.model = '日本'", c(5)],
    ["params.model != 'rf' and tags.team != 'risk'", [...a(9), B1, ...c(5)]],
    ["tags.team = 'fraud'", [...a(1, 2, 5, 8, 10), ...c(1)]],
    ["tag.team ILIKE 'FRAUD'", [...a(1, 2, 5, 8, 9, 10), ...c(1)]],
    ["tags.team LIKE 'fraud_%'", [B1, B2]],
    ["tags.team LIKE 'fraud\\_%'", [B1]],
    ["tags.team LIKE 'fraud\\%'", [B2]],
    ["tags.team IN ('fraud%')", [B2]],
    ["tags.team LIKE '%'", [...a(1, 2, 3, 4, 5, 8, 9, 10), B1, B2, B5, ...c(1, 2, 3, 5)]],
    ["tags.team LIKE 'ab_'", c(5)],
    ["tags.team = ''", c(3)],
    ['tags.team IS NULL', [...a(6, 7), B3, B4, ...c(4)]],
    ['tags.team IS NOT NULL', [...a(1, 2, 3, 4, 5, 8, 9, 10), B1, B2, B5, ...c(1, 2, 3, 5)]],
    ["tags.note LIKE 'a\\_b'", [B3]],
    ["tags.\"mlflow.user\" = 'alice'", a(1, 3)],
    ["tags.mlflow.user = 'alice'", a(1, 3)],
    ["tags.`mlflow.user` ILIKE 'd%'", [B4]],
    ["attributes.status = 'FINISHED'", [...a(1, 2, 3, 10), B1, B4, ...c(1, 2, 5)]],
    ["status = 'FAILED'", [...a(8), B3, ...c(4)]],
    ["attributes.status IN ('FAILED', 'KILLED')", [...a(4, 8, 9), B3, B5, ...c(4)]],
    ["attributes.status = 'RUNNING'", [...a(5, 6), B2, ...c(3)]],
    ["attr.state = 'PRUNED'", a(4)],
    ["run.state = 'PAUSED'", a(6)],
    ["attributes.state IN ('QUEUED', 'CANCELLED')", a(7, 9)],
    ['attributes.start_time >= 5000 and attributes.start_time < 7000', [B1, B2, B3, B4, B5]],
    ['attributes.start_time IS NULL', a(7)],
    ['attributes.end_time IS NULL', [...a(5, 6, 7), B2, ...c(3)]],
    ['attributes.end_time > 2500', [...a(10), B1, B3, B4, B5, ...c(1, 2, 4, 5)]],
    ['created < 1200', a(1, 2)],
    ["attributes.run_id = 'expa.3'", a(3)],
    ["run_id IN ('expa.1', 'expc.2', 'nope.1')", [...a(1), ...c(2)]],
    ["attributes.run_id LIKE 'expb.%'", [B1, B2, B3, B4, B5]],
    ["attributes.experiment_id = 'expc'", c(1, 2, 3, 4, 5)],
    [`attributes.parent_run_id = '${B1}'`, [B2]],
    ['attributes.parent_run_id IS NOT NULL', [B2]],
    ["attributes.run_name = 'best run'", c(1)],
    ["attributes.`Run Name` = 'best run'", c(1)],
    ["metrics.f1 > 0.95 OR tags.team = 'risk'", [...a(3, 4, 10), B5, ...c(2)]],
    // AND binds tighter than OR.
    ["params.model = 'svm' OR params.model = 'rf' AND metrics.f1 > 0.9", [...a(1, 2, 6, 7, 10), ...c(4)]],
    ["(params.model = 'svm' OR params.model = 'rf') AND metrics.f1 > 0.9", a(1, 2, 10)],
    ["((metrics.f1 > 0.5) and (tags.team = 'risk' or attributes.status = 'RUNNING'))", [...a(3, 5, 6), ...c(2)]],
  ];
  it.each(TABLE)('%s', (text, ids) => {
    expect(select(parsed(text))).toEqual(ids);
  });

  it('AND binds tighter than OR, and nested ANDs and ORs are flattened', () => {
    expect(parsed("params.a = 'x' OR params.b = 'y' AND params.c = 'z'")).toEqual({
      type: 'or', items: [
        { type: 'clause', clause: { key: { kind: 'param', name: 'a' }, op: '=', value: 'x', at: 0 } },
        { type: 'and', items: [
          { type: 'clause', clause: { key: { kind: 'param', name: 'b' }, op: '=', value: 'y', at: 18 } },
          { type: 'clause', clause: { key: { kind: 'param', name: 'c' }, op: '=', value: 'z', at: 37 } },
        ] },
      ],
    });
    const f = parsed('(metrics.a > 1 and metrics.b > 2) and (metrics.c > 3)');
    expect(f?.type === 'and' && f.items.map((i) => i.type === 'clause' && i.clause.key.name)).toEqual(['a', 'b', 'c']);
    expect(parsed('((metrics.a IS NULL))')).toEqual({ type: 'clause', clause: { key: { kind: 'metric', name: 'a' }, op: 'IS NULL', at: 2 } });
  });

  it('values: numbers are numbers, IN lists are strings, attribute aliases are normalised', () => {
    expect(parsed('metrics.x = -1.5e3')).toMatchObject({ clause: { value: -1500 } });
    expect(parsed('attributes.created >= 5')).toMatchObject({ clause: { key: { kind: 'attribute', name: 'start_time' }, value: 5 } });
    expect(parsed("tags.t NOT IN ('a', \"b\")")).toMatchObject({ clause: { op: 'NOT IN', value: ['a', 'b'] } });
    expect(parsed("params.p = 'a\\\\'")).toMatchObject({ clause: { value: 'a\\' } });
    expect(parsed("params.p = 'a\\nb'")).toMatchObject({ clause: { value: 'a\\nb' } });
  });

  it('filters at the limits parse', () => {
    const fifty = Array.from({ length: FILTER_LIMITS.maxClauses }, (_, i) => `metrics.m${i} > 0`).join(' and ');
    expect(parseFilter(fifty).ok).toBe(true);
    const deep = '('.repeat(FILTER_LIMITS.maxDepth) + 'metrics.a > 1' + ')'.repeat(FILTER_LIMITS.maxDepth);
    expect(parseFilter(deep).ok).toBe(true);
    const long = `params.p = '${'x'.repeat(FILTER_LIMITS.maxLength - 13)}'`;
    expect(long.length).toBe(FILTER_LIMITS.maxLength);
    expect(parseFilter(long).ok).toBe(true);
  });
});

describe('invalid filters: the position and what was expected there', () => {
  const OPS = 'a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS)';
  const TABLE: Array<[string, number, string]> = [
    ['metrics.f1 0.9', 11, `${OPS} after metrics.f1`],
    ['metrics.f1    0.9 and x', 14, `${OPS} after metrics.f1`],
    ['metrics.f1', 10, `${OPS} after metrics.f1`],
    ["metrics.f1 = '0.9'", 13, "a number for metrics.f1 (metrics compare with numbers, and '0.9' is a string: write 0.9 without quotes)"],
    ["metrics.f1 > 'high'", 13, "a number for metrics.f1 (metrics compare with numbers, and 'high' is a string)"],
    ['metrics.f1 > high', 13, "a number for metrics.f1 (such as 0.9, -3 or 1e-4; got 'high')"],
    ['metrics.f1 > 1e', 13, "a number for metrics.f1 (such as 0.9, -3 or 1e-4; got '1e')"],
    ['metrics.f1 > 1e999', 13, "a finite number for metrics.f1 (got '1e999')"],
    ['metrics.f1 >', 12, 'a number for metrics.f1 (such as 0.9, -3 or 1e-4)'],
    ["metrics.f1 LIKE '0.9%'", 11, 'one of =, !=, <, <=, >, >=, IS NULL, IS NOT NULL for metrics.f1 (metrics compare with numbers; LIKE is not allowed there)'],
    ["metrics.f1 IN ('1')", 11, 'one of =, !=, <, <=, >, >=, IS NULL, IS NOT NULL for metrics.f1 (metrics compare with numbers; IN is not allowed there)'],
    ['params.lr = 0.01', 12, "a quoted string for params.lr (params compare as strings: write '0.01')"],
    ["params.lr > '0.01'", 10, 'one of =, !=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL for params.lr (params compare as strings; > is not allowed there)'],
    ['tags.team = fraud', 12, "a quoted string for tags.team (tags compare as strings: write 'fraud')"],
    ["attributes.start_time > '2024'", 24, "a number for attributes.start_time (start_time is a number (ms since the epoch), and '2024' is a string: write 2024 without quotes)"],
    ["attributes.status = 'finished'", 20, "a run status (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED) for attributes.status (got 'finished')"],
    ["attributes.status IN ('FINISHED', 'DONE')", 34, "a run status (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED) for attributes.status (got 'DONE')"],
    ["attributes.state = 'DONE'", 19, "a state (QUEUED, RUNNING, COMPLETED, FAILED, PRUNED, PAUSED, CANCELLED, SCHEDULED, FINISHED, KILLED) for attributes.state (got 'DONE')"],
    ["attributes.colour = 'red'", 11, "an attribute (run_id, run_name, status, start_time, end_time, experiment_id, state, parent_run_id) or a key with its type, such as metrics.colour, params.colour or tags.colour (got 'colour')"],
    ['f1 > 0.9', 0, "an attribute (run_id, run_name, status, start_time, end_time, experiment_id, state, parent_run_id) or a key with its type, such as metrics.f1, params.f1 or tags.f1 (got 'f1')"],
    ['metric.f1 > 1 and foo.bar = 1', 18, "metrics., params., tags. or attributes. before the key (got 'foo.')"],
    ["datasets.name = 'x'", 0, 'metrics., params., tags. or attributes. (dataset filters are not supported: runs have no datasets here)'],
    ['metrics. > 1', 8, "a key after 'metrics.' (a name, or in backticks or double quotes when it has other characters: metrics.`f1-score`)"],
    ['metrics.`` > 1', 8, "a non-empty key after 'metrics.'"],
    ['metrics.f1-score > 0.9', 10, "a comparison operator after metrics.f1 (a key with '-' goes in backticks: metrics.`f1-score`)"],
    ['metrics.`f1-score > 0.9', 23, 'a closing ` for the key that starts at position 8'],
    ["params.p = 'abc", 15, "a closing ' for the string that starts at position 11"],
    ['params.p = "it""s', 17, 'a closing " for the string that starts at position 11'],
    ['metrics.a > 1 and', 17, "a clause (such as metrics.f1 > 0.9) or '('"],
    ['and metrics.a > 1', 0, 'a clause such as metrics.f1 > 0.9 (got the keyword AND)'],
    ['metrics.a > 1 and or metrics.b > 1', 18, 'a clause such as metrics.f1 > 0.9 (got the keyword OR)'],
    ['NOT metrics.a > 1', 0, 'a clause such as metrics.f1 > 0.9 (got the keyword NOT; there is no NOT: use !=, NOT IN or IS NULL)'],
    ['metrics.a > 1 metrics.b > 2', 14, 'AND, OR or the end of the filter'],
    ['metrics.a > 1 && metrics.b > 2', 14, 'AND, OR or the end of the filter'],
    ['metrics.a > 1)', 13, "AND, OR or the end of the filter (this ')' has no '(')"],
    ['(metrics.a > 1', 14, "AND, OR or ')' to close the '(' at position 0"],
    ['metrics.a > 1 or ()', 18, "a clause inside the parentheses opened at position 17"],
    ["params.p IN 'a'", 12, "'(' after IN, then quoted strings separated by commas: params.p IN ('a', 'b')"],
    ['params.p IN ()', 13, 'at least one quoted string in the IN list'],
    ["params.p NOT IN ('a' 'b')", 21, "',' or ')' in the NOT IN list"],
    ["params.p IN ('a', 1)", 18, 'a quoted string in the IN list'],
    ["params.p IN ('a',", 17, 'a quoted string in the IN list'],
    ["params.p NOT LIKE 'a%'", 13, 'IN after NOT (NOT IN is the only negated operator; for the others use !=)'],
    ['params.p IS EMPTY', 12, 'NULL or NOT NULL after IS'],
    ['params.p IS NOT 1', 16, 'NULL or NOT NULL after IS'],
    ['params.p = ', 11, "a quoted string for params.p (params compare as strings)"],
  ];
  it.each(TABLE)('%s', (text, position, expected) => {
    const p = parseFilter(text);
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.error).toEqual({ position, expected, message: `at position ${position}: expected ${expected}` });
  });

  it('past the limits: length, clauses, nesting', () => {
    const long = `params.p = '${'x'.repeat(FILTER_LIMITS.maxLength)}'`;
    expect(parseFilter(long)).toMatchObject({ ok: false, error: { position: 4000, expected: `a filter of at most 4000 characters (this one has ${long.length})` } });

    const clauses = Array.from({ length: FILTER_LIMITS.maxClauses + 1 }, (_, i) => `metrics.m${i} > 0`);
    const text = clauses.join(' and ');
    expect(parseFilter(text)).toMatchObject({ ok: false, error: { position: text.lastIndexOf('metrics.m50'), expected: 'at most 50 clauses' } });

    const deep = '('.repeat(FILTER_LIMITS.maxDepth + 1) + 'metrics.a > 1' + ')'.repeat(FILTER_LIMITS.maxDepth + 1);
    expect(parseFilter(deep)).toMatchObject({ ok: false, error: { position: FILTER_LIMITS.maxDepth, expected: 'at most 10 levels of parentheses' } });

    // Deep nesting far past the limit is refused at the limit, not by a stack overflow.
    const huge = '('.repeat(3990);
    expect(parseFilter(huge)).toMatchObject({ ok: false, error: { position: 10 } });
    const inList = `params.p IN (${Array.from({ length: 1001 }, () => "''").join(',')})`;
    expect(parseFilter(inList)).toMatchObject({ ok: false, error: { expected: 'at most 1000 values in an IN list' } });
  });
});

describe('order by', () => {
  const ORDER_TABLE: Array<[string[], object[]]> = [
    [['metrics.f1 DESC'], [{ key: { kind: 'metric', name: 'f1' }, direction: 'DESC' }]],
    [['attributes.start_time'], [{ key: { kind: 'attribute', name: 'start_time' }, direction: 'ASC' }]],
    [['params.lr ASC', 'metrics.`f1-score` desc', 'tags."mlflow.user"'], [
      { key: { kind: 'param', name: 'lr' }, direction: 'ASC' },
      { key: { kind: 'metric', name: 'f1-score' }, direction: 'DESC' },
      { key: { kind: 'tag', name: 'mlflow.user' }, direction: 'ASC' },
    ]],
    [['created desc', 'run_id'], [{ key: { kind: 'attribute', name: 'start_time' }, direction: 'DESC' }, { key: { kind: 'attribute', name: 'run_id' }, direction: 'ASC' }]],
    [[], []],
  ];
  it.each(ORDER_TABLE)('%j parses', (items, keys) => {
    expect(parseOrderBy(items)).toEqual({ ok: true, keys });
  });

  const BAD: Array<[string[], number, number, string]> = [
    [['metrics.f1 DESC', 'params.lr up'], 1, 10, 'ASC, DESC or the end of the order-by key after params.lr'],
    [['metrics.f1 DESC DESC'], 0, 16, 'ASC, DESC or the end of the order-by key after metrics.f1'],
    [['   '], 0, 3, 'an order-by key such as metrics.f1 DESC or attributes.start_time'],
    [['metrics.f1', 'bogus.x'], 1, 0, "metrics., params., tags. or attributes. before the key (got 'bogus.')"],
    [['attributes.colour'], 0, 11, "an attribute (run_id, run_name, status, start_time, end_time, experiment_id, state, parent_run_id) or a key with its type, such as metrics.colour, params.colour or tags.colour (got 'colour')"],
    [['metrics.`f1'], 0, 11, 'a closing ` for the key that starts at position 8'],
  ];
  it.each(BAD)('%j fails at item %i, position %i', (items, index, position, expected) => {
    expect(parseOrderBy(items)).toEqual({ ok: false, error: { index, position, expected, message: `order-by item ${index}: at position ${position}: expected ${expected}` } });
  });

  it('splits comma-separated items outside backticks and quotes', () => {
    expect(splitOrderBy('metrics.f1 DESC, params.lr')).toEqual(['metrics.f1 DESC', ' params.lr']);
    expect(splitOrderBy('metrics.`a,b` DESC,tags."x,y"')).toEqual(['metrics.`a,b` DESC', 'tags."x,y"']);
    expect(splitOrderBy(' , metrics.f1,')).toEqual([' metrics.f1']);
    expect(parseOrderBy(splitOrderBy('metrics.`a,b` DESC, params.lr'))).toEqual({ ok: true, keys: [
      { key: { kind: 'metric', name: 'a,b' }, direction: 'DESC' }, { key: { kind: 'param', name: 'lr' }, direction: 'ASC' },
    ] });
  });

  it('refuses more than 20 keys', () => {
    expect(parseOrderBy(Array.from({ length: 21 }, () => 'metrics.f1'))).toMatchObject({ ok: false, error: { index: 20 } });
  });

  function order(items: string[], filter?: string): string[] {
    const p = parseOrderBy(items);
    if (!p.ok) throw new Error(p.error.message);
    const f = filter === undefined ? undefined : parsed(filter);
    return RUNS.filter((r) => matches(r, f)).sort((x, y) => compareRuns(x, y, p.keys)).map((r) => r.id);
  }
  const MISSING_F1 = [...a(7, 8), B3, B5, ...c(4)];

  it('a metric descending: missing last, ties by run id', () => {
    expect(order(['metrics.f1 DESC'])).toEqual([...a(10, 1), B1, ...a(2, 9), ...c(1, 2), ...a(3), ...c(5), ...a(5, 6), B2, ...a(4), ...c(3), B4, ...MISSING_F1]);
  });
  it('a metric ascending: missing still last', () => {
    expect(order(['metrics.f1 ASC'])).toEqual([B4, ...c(3), ...a(4), B2, ...a(6, 5), ...c(5), ...a(3), ...c(1, 2), ...a(9, 2), B1, ...a(1, 10), ...MISSING_F1]);
  });
  it('a numeric attribute descending with nulls last', () => {
    expect(order(['attributes.end_time DESC'], "attributes.experiment_id = 'expb'")).toEqual([B1, B5, B4, B3, B2]);
  });
  it('a string key then a metric', () => {
    expect(order(['params.model', 'metrics.f1 DESC'], "experiment_id = 'expc'")).toEqual(c(1, 3, 4, 2, 5));
  });
  it('a tag descending, by code point (upper case before lower case), missing last', () => {
    expect(order(['tags.team DESC'], "experiment_id = 'expa'")).toEqual(a(3, 4, 1, 10, 2, 5, 8, 9, 6, 7));
  });
  it('no keys: run id; the default order is newest start first', () => {
    expect(order([], "experiment_id = 'expc'")).toEqual(c(1, 2, 3, 4, 5));
    const b = RUNS.filter((r) => r.experimentId === 'expb').sort((x, y) => compareRuns(x, y, DEFAULT_ORDER_BY)).map((r) => r.id);
    expect(b).toEqual([B5, B4, B3, B2, B1]);
  });
  it('strings compare by code point (UTF-8 byte order), not UTF-16 code units', () => {
    expect('😀' < '\uffff').toBe(true); // what plain JS comparison says
    expect(compareStrings('\uffff', '😀')).toBeLessThan(0);
    expect(compareStrings('a', 'ab')).toBeLessThan(0);
    expect(compareStrings('B', 'a')).toBeLessThan(0);
    expect(compareStrings('x', 'x')).toBe(0);
  });
  it('NaN sorts after numbers and before missing values', () => {
    const nan = run('expd.1', { status: 'FINISHED', start: 1, end: 2, metrics: { m: Number.NaN } });
    const one = run('expd.2', { status: 'FINISHED', start: 1, end: 2, metrics: { m: 1 } });
    const none = run('expd.3', { status: 'FINISHED', start: 1, end: 2 });
    for (const dir of ['ASC', 'DESC'] as const) {
      expect([none, nan, one].sort((x, y) => compareRuns(x, y, [{ key: { kind: 'metric', name: 'm' }, direction: dir }])).map((r) => r.id)).toEqual(['expd.2', 'expd.1', 'expd.3']);
    }
  });
});

describe('LIKE', () => {
  it('agrees with a dynamic-programming reference on 5,000 random patterns and values', () => {
    const rng = createRng(7);
    for (let i = 0; i < 5000; i++) {
      const { pattern, value } = randomLikeCase(() => rng.next());
      expect(likeRegExp(pattern, false).test(value), `${JSON.stringify(pattern)} on ${JSON.stringify(value)}`).toBe(likeReference(pattern, value));
    }
  });

  it('answers at once for many % on a long value it does not match (one backtracking RegExp took hours)', () => {
    const value = 'a'.repeat(5000);
    for (const stars of [3, 6, 500]) {
      const pattern = `${'%a'.repeat(stars)}%b`;
      expect(likeRegExp(pattern, false).test(value)).toBe(false);
      expect(likeRegExp(pattern, true).test(`${value}B`)).toBe(true);
      expect(matches(run('e.1', { status: 'RUNNING', start: 1, end: null, tags: { t: value } }), { type: 'clause', clause: { key: { kind: 'tag', name: 't' }, op: 'LIKE', value: pattern, at: 0 } })).toBe(false);
    }
  }, 10_000);
});
