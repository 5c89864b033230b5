/**
 * GET /api/v1/runs/compare against a real coordinator and the Redis run store: direct runs and a
 * trial run side by side, the per-id access check (an unreadable run is answered exactly like an
 * unknown one), and the query's bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { call, ensureProject, studyWithTrial, userToken } from '../helpers/auth.js';

describe('GET /api/v1/runs/compare', () => {
  let stack: TestStack;
  let base: string;
  let r1: string, r2: string, r3: string, other: string, trial: string;
  let viewerA: string;
  let ownerB: string;

  beforeAll(async () => {
    stack = await startTestStack('run-compare', { workers: 0 });
    base = stack.coordinator.httpUrl;
    await ensureProject(base, 'proj-a');
    await ensureProject(base, 'proj-b');
    viewerA = (await userToken(base, 'vic', { 'proj-a': 'viewer' })).token;
    ownerB = (await userToken(base, 'bob', { 'proj-b': 'owner' })).token;
    const runs = stack.coordinator.runs;
    const ea = await runs.createExperiment({ project: 'proj-a', name: 'compare-a', createdBy: 'test' });
    const eb = await runs.createExperiment({ project: 'proj-b', name: 'compare-b', createdBy: 'test' });
    const mk = async (experimentId: string, params: Record<string, string>, tags: Record<string, string>, values: number[]) => {
      const r = await runs.createRun({ experimentId, params, tags, createdBy: 'test', name: `run-${params.lr}` });
      if (values.length) await runs.logMetrics(r.id, values.map((value, step) => ({ name: 'loss', value, step, timeMs: 1000 + step })));
      return r.id;
    };
    r1 = await mk(ea.id, { lr: '0.1', model: 'rf' }, { team: 'fraud' }, [0.9, 0.5, 0.7, 0.3]);
    r2 = await mk(ea.id, { lr: '0.01', model: 'rf', seed: '7' }, { team: 'fraud' }, [0.8, 0.6]);
    r3 = await mk(ea.id, { lr: '0.2', model: 'rf' }, {}, []);
    other = await mk(eb.id, { lr: '0.3' }, {}, [1]);
    trial = (await studyWithTrial(base, 'proj-a')).trialId;
  });
  afterAll(async () => stack?.close());

  it('puts params and tags side by side, marks what differs, and summarises each metric from its history', async () => {
    const r = await call(base, 'GET', `/api/v1/runs/compare?ids=${r1},${r2},${r3}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.runs.map((x: any) => x.id)).toEqual([r1, r2, r3]);
    expect(r.body.params).toEqual([
      { key: 'lr', values: ['0.1', '0.01', '0.2'], differs: true },
      { key: 'model', values: ['rf', 'rf', 'rf'], differs: false },
      { key: 'seed', values: [null, '7', null], differs: true },
    ]);
    expect(r.body.tags).toEqual([{ key: 'team', values: ['fraud', 'fraud', null], differs: true }]);
    expect(r.body.metrics).toEqual([{
      key: 'loss', differs: true,
      runs: [
        { latest: 0.3, latestStep: 3, min: 0.3, max: 0.9, count: 4, lastStep: 3, truncated: false, pointsRead: 4 },
        { latest: 0.6, latestStep: 1, min: 0.6, max: 0.8, count: 2, lastStep: 1, truncated: false, pointsRead: 2 },
        null,
      ],
    }]);
    expect(r.body.metricsLeftOut).toBe(0);
  });

  it('compares a trial run with a direct run', async () => {
    const r = await call(base, 'GET', `/api/v1/runs/compare?ids=${trial},${r1}`);
    expect(r.status, r.text).toBe(200);
    expect(r.body.runs.map((x: any) => x.id)).toEqual([trial, r1]);
    expect(r.body.params.find((p: any) => p.key === 'lr')).toEqual({ key: 'lr', values: [null, '0.1'], differs: true });
    expect(r.body.params.find((p: any) => p.key === 'x').values[1]).toBeNull();
    // The trial told one intermediate value (0.5 at step 1): its objective metric, loss.
    expect(r.body.metrics.find((m: any) => m.key === 'loss').runs[0]).toMatchObject({ latest: 0.5, count: 1, lastStep: 1 });
  });

  it('a viewer of the project may compare its runs', async () => {
    const r = await call(base, 'GET', `/api/v1/runs/compare?ids=${r1},${r2}`, { token: viewerA });
    expect(r.status, r.text).toBe(200);
  });

  it("answers another project's run exactly like an unknown one: a 404 naming it", async () => {
    const theirs = await call(base, 'GET', `/api/v1/runs/compare?ids=${other},${r1}`, { token: viewerA });
    const unknown = `${other.slice(0, -1)}${other.endsWith('0') ? '1' : '0'}`;
    const never = await call(base, 'GET', `/api/v1/runs/compare?ids=${unknown},${r1}`, { token: viewerA });
    expect(theirs.status).toBe(404);
    expect(theirs.body.error.code).toBe('TH_ERR_RUN_NOT_FOUND');
    expect(theirs.body.error.fields).toEqual([{ field: 'query.ids', reason: expect.stringContaining(`no run with id "${other}"`) }]);
    expect(never.status).toBe(404);
    expect(theirs.text.replaceAll(other, 'ID')).toBe(never.text.replaceAll(unknown, 'ID'));
    // And project B's owner cannot read A's runs through it either, even mixed with its own.
    const b = await call(base, 'GET', `/api/v1/runs/compare?ids=${other},${r1}`, { token: ownerB });
    expect(b.status).toBe(404);
    expect(b.body.error.message).toContain(`"${r1}"`);
    expect(b.text).not.toContain('proj-a');
    expect(b.text).not.toContain('0.1');
  });

  it('refuses malformed queries with the field and the reason', async () => {
    const cases: Array<[string, number, string]> = [
      [`ids=${r1}`, 400, 'must name 2 to 20 runs (got 1)'],
      [`ids=${Array.from({ length: 21 }, () => r1).join(',')}`, 400, 'must name 2 to 20 runs (got 21)'],
      [`ids=${r1},${r1}`, 400, `run "${r1}" is named twice`],
      [`ids=${r1},,${r2}`, 400, 'an empty id (ids are separated by single commas: ids=a,b,c)'],
      [`ids=${r1},not-a-run`, 404, 'no run with id "not-a-run"'],
    ];
    for (const [q, status, reason] of cases) {
      const r = await call(base, 'GET', `/api/v1/runs/compare?${q}`);
      expect(r.status, q).toBe(status);
      expect(r.body.error.fields[0].field, q).toBe('query.ids');
      expect(r.body.error.fields[0].reason, q).toContain(reason);
    }
    const missing = await call(base, 'GET', '/api/v1/runs/compare');
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields[0].field).toBe('query.ids');
  });
});
