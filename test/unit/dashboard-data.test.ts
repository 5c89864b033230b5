/**
 * The browser app's data helpers (web/src/study-data.ts), run under Node: the columnar table
 * merged by incremental replies, trials as RunView rows for the shared filter grammar, the
 * best-so-far line and the CSV export.
 */
import { describe, expect, it } from 'vitest';
import { asRunView, bestSoFar, StudyTrials, toCsv, type TableReply, type Trial } from '../../web/src/study-data.js';
import { parseFilter } from '../../shared/run-filter/parse-filter.js';
import { matches } from '../../shared/run-filter/evaluate.js';

const reply = (numbers: number[], states: string[], values: (number | null)[], after: { n: number; h: number }): TableReply => ({
  afterNumber: after.n, afterHistory: after.h, total: 10, finished: values.filter((v) => v !== null).length, sampled: false, paramNames: ['lr', 'opt'],
  rows: { number: numbers, state: states, value: values, params: { lr: numbers.map((n) => 10 ** -n), opt: numbers.map((n) => (n % 2 ? 'sgd' : 'adam')) }, startedAt: numbers.map(() => 1000), finishedAt: values.map((v) => (v === null ? null : 2000)) },
});

describe('dashboard study data', () => {
  it('merges an incremental reply over the first one: new trials added, changed ones replaced, cursors moved', () => {
    const d = new StudyTrials('s1', 'loss');
    d.merge(reply([0, 1, 2], ['COMPLETED', 'RUNNING', 'QUEUED'], [0.5, null, null], { n: 2, h: 1 }));
    d.merge(reply([1, 3], ['PRUNED', 'RUNNING'], [0.9, null], { n: 3, h: 2 }));
    expect(d.trials.map((t) => [t.number, t.state, t.value])).toEqual([[0, 'COMPLETED', 0.5], [1, 'PRUNED', 0.9], [2, 'QUEUED', null], [3, 'RUNNING', null]]);
    expect([d.afterNumber, d.afterHistory, d.version]).toEqual([3, 2, 2]);
  });

  it('filters trials with the server grammar: metrics, params (as strings) and state', () => {
    const trials: Trial[] = [0, 1, 2, 3].map((n) => ({ number: n, state: n === 3 ? 'PRUNED' : 'COMPLETED', value: n / 10, params: { lr: 10 ** -n, opt: n % 2 ? 'sgd' : 'adam', deep: n > 1 }, startedAt: 1, finishedAt: 2 }));
    const rows = trials.map((t) => asRunView('s1', 'loss', 'p', t));
    const pick = (text: string) => { const f = parseFilter(text); if (!f.ok) throw new Error(f.error.message); return rows.filter((r) => matches(r, f.filter)).map((r) => r.trialNumber); };
    expect(pick('metrics.loss >= 0.2')).toEqual([2, 3]);
    expect(pick("params.opt = 'sgd' AND metrics.loss < 0.3")).toEqual([1]);
    expect(pick("params.deep = 'true'")).toEqual([2, 3]);
    expect(pick("attributes.state = 'PRUNED'")).toEqual([3]);
    expect(pick("attributes.status = 'KILLED'")).toEqual([3]);
    const bad = parseFilter('metrics.loss >> 1');
    expect(bad.ok).toBe(false);
  });

  it('draws best-so-far over completed trials only, in number order, for either direction', () => {
    const t = (number: number, value: number | null, state = 'COMPLETED'): Trial => ({ number, state, value, params: {}, startedAt: null, finishedAt: null });
    const trials = [t(0, 5), t(1, 7), t(2, 1, 'PRUNED'), t(3, 3), t(4, null, 'RUNNING'), t(5, 9)];
    expect(bestSoFar(trials, true)).toEqual([{ number: 0, value: 5 }, { number: 1, value: 5 }, { number: 3, value: 3 }, { number: 5, value: 3 }]);
    expect(bestSoFar(trials, false).map((b) => b.value)).toEqual([5, 7, 7, 9]);
  });

  it('exports CSV with one column per param, quoting what needs it', () => {
    const csv = toCsv([{ number: 0, state: 'COMPLETED', value: 0.5, params: { name: 'a,"b"', lr: 0.1 }, startedAt: 0, finishedAt: 1000 }], ['lr', 'name'], 'loss');
    expect(csv).toBe('number,state,loss,params.lr,params.name,started_at,finished_at\n0,COMPLETED,0.5,0.1,"a,""b""",1970-01-01T00:00:00.000Z,1970-01-01T00:00:01.000Z\n');
  });
});
