/** What `tunehive runs --output csv|table` and `tunehive compare` print, from API answers. */
import { describe, expect, it } from 'vitest';
import { caret, comparisonTable, csvField, runTable, serverFilterError, toCsv } from '../../cli/run-commands.js';
import { ApiError } from '../../cli/http-client.js';

const run = (id: string, o: Record<string, unknown> = {}) => ({
  id, experimentId: 'expa', name: `n ${id}`, status: 'FINISHED', state: 'COMPLETED', startTime: 0, endTime: 1000, parentRunId: null,
  params: {}, metrics: {}, tags: {}, ...o,
});

describe('csv', () => {
  it('quotes what RFC 4180 needs quoted and nothing else', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('=HYPERLINK("http://evil")')).toBe('"\'=HYPERLINK(""http://evil"")"');
    expect(csvField(-0.5)).toBe('-0.5');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField(null)).toBe('');
    expect(csvField(0.25)).toBe('0.25');
  });
  it('drops terminal escapes from cells (CSV goes to a terminal too)', () => {
    expect(csvField('x\x1b[2Jy')).toBe('xy');
  });
  it('one column per key over the union of the runs, missing cells empty', () => {
    const out = toCsv([
      run('expa.1', { params: { lr: '0.1' }, metrics: { f1: { value: 0.9, step: 1, timestamp: 1 } }, tags: { team: 'a,b' } }),
      run('expa.2', { params: { model: 'rf' }, parentRunId: 'expa.1' }),
    ]);
    expect(out).toBe([
      'run_id,experiment_id,run_name,status,state,start_time,end_time,parent_run_id,metrics.f1,params.lr,params.model,tags.team',
      'expa.1,expa,n expa.1,FINISHED,COMPLETED,0,1000,,0.9,0.1,,"a,b"',
      'expa.2,expa,n expa.2,FINISHED,COMPLETED,0,1000,expa.1,,,rf,',
      '',
    ].join('\r\n'));
  });
});

describe('tables', () => {
  it('runs: the keys the order and filter name come first, then other metrics', () => {
    const t = runTable([run('expa.1', { metrics: { b: { value: 2, step: 0, timestamp: 0 }, a: { value: 1, step: 0, timestamp: 0 } }, params: { lr: '0.1' } })],
      [{ kind: 'metric', name: 'b' }, { kind: 'attribute', name: 'status' }, { kind: 'attribute', name: 'start_time' }]);
    const [head, , row] = t.split('\n');
    expect(head!.split(/\s{2,}/)).toEqual(['run', 'status', 'name', 'metrics.b', 'attributes.start_time', 'metrics.a', 'params']);
    expect(row!.split(/\s{2,}/)).toEqual(['expa.1', 'FINISHED', 'n expa.1', '2', '1970-01-01 00:00:00Z', '1', 'lr=0.1']);
  });
  it('compare: a star on each differing row, a tilde on a truncated summary', () => {
    const summary = (latest: number, truncated = false) => ({ latest, latestStep: 1, min: 0, max: latest, count: 3, lastStep: 2, truncated, pointsRead: 3 });
    const t = comparisonTable({
      runs: [run('expa.1'), run('expa.2')],
      params: [{ key: 'lr', values: ['0.1', '0.2'], differs: true }, { key: 'm', values: ['rf', 'rf'], differs: false }],
      tags: [],
      metrics: [{ key: 'f1', runs: [summary(0.5), summary(0.75, true)], differs: true }],
      metricsLeftOut: 2,
    });
    const lines = t.split('\n');
    expect(lines.find((l) => l.includes(' lr '))).toMatch(/^\*\s+lr\s+0\.1\s+0\.2$/);
    expect(lines.find((l) => l.includes(' m '))).toMatch(/^\s+m\s+rf\s+rf$/);
    expect(lines.find((l) => l.includes('(none)'))).toBeDefined();
    expect(lines.find((l) => l.includes(' f1 '))).toMatch(/^\*\s+f1\s+0\.5000 \[0\.\.0\.5000\] n=3 @2\s+0\.7500 \[0\.\.0\.7500\] n=3 @2~$/);
    expect(lines.at(-1)).toBe('* the runs differ; ~ min/max over the newest points only; 2 more metrics not shown');
  });
  it('caret points under the position', () => {
    expect(caret('metrics.f1 0.9', 11)).toBe('  metrics.f1 0.9\n             ^');
  });

  it("a coordinator's filter 400 (as run-routes.ts words it) gets the caret under its position", () => {
    const e = serverFilterError(new ApiError("query.filter: at position 11: expected a comparison operator\n  - query.filter: at position 11: expected a comparison operator", 400), 'metrics.f1 0.9', []) as Error;
    expect(e.message.split('\n').slice(0, 3)).toEqual(['the coordinator refused --filter: query.filter: at position 11: expected a comparison operator', '  metrics.f1 0.9', '             ^']);
    const o = serverFilterError(new ApiError('query.orderBy: item 2 (" params.lr up") at position 11: expected ASC, DESC or the end', 400), '', ['metrics.f1 DESC, params.lr up']) as Error;
    expect(o.message).toBe('the coordinator refused --order-by: query.orderBy: item 2 (" params.lr up") at position 11: expected ASC, DESC or the end\n   params.lr up\n             ^');
    const other = new ApiError('no experiment with id "x"', 404);
    expect(serverFilterError(other, '', [])).toBe(other);
  });
});
