/**
 * `tunehive runs | compare | tag | note` as a person runs them: the real CLI process against a
 * real coordinator and the Redis run store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { runCli } from '../helpers/processes.js';

describe('tunehive runs, compare, tag, note', () => {
  let stack: TestStack;
  let env: Record<string, string>;
  const ids: string[] = [];
  let experimentId: string;

  beforeAll(async () => {
    stack = await startTestStack('cli-runs', { workers: 0 });
    env = { TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN };
    const runs = stack.coordinator.runs;
    const e = await runs.createExperiment({ project: 'default', name: 'cli-runs', createdBy: 'test' });
    experimentId = e.id;
    // f1 0.80, 0.85, ... 0.95 (latest), lr alternating; one run also gets a hostile name.
    for (let i = 0; i < 4; i++) {
      const r = await runs.createRun({ experimentId: e.id, name: i === 3 ? 'evil\x1b[2Jname' : `run-${i}`, params: { lr: i % 2 ? '0.01' : '0.1', model: 'rf' }, tags: { team: 'fraud' }, createdBy: 'test', startTime: 1000 + i });
      await runs.logMetrics(r.id, [{ name: 'f1', value: 0.5, step: 0, timeMs: 1 }, { name: 'f1', value: [0.8, 0.85, 0.9, 0.95][i]!, step: 1, timeMs: 2 }]);
      ids.push(r.id);
    }
  });
  afterAll(async () => stack?.close());

  describe('compare', () => {
    it('prints the runs side by side with differing params marked', async () => {
      const r = await runCli(['compare', ids[0]!, ids[1]!], { env });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.split('\n');
      expect(lines[0]).toMatch(new RegExp(`^\\s+run\\s+${ids[0]!.replace('.', '\\.')}\\s+${ids[1]!.replace('.', '\\.')}$`));
      expect(lines.find((l) => /\blr\b/.test(l))).toMatch(/^\*\s+lr\s+0\.1\s+0\.01$/);
      expect(lines.find((l) => /\bmodel\b/.test(l))).toMatch(/^\s+model\s+rf\s+rf$/);
      expect(lines.find((l) => /\bf1\b/.test(l))).toMatch(/^\*\s+f1\s+0\.8000 \[0\.5000\.\.0\.8000\] n=2 @1\s+0\.8500 \[0\.5000\.\.0\.8500\] n=2 @1$/);
      expect(r.stdout).toContain('* the runs differ');
    });

    it('--output json gives the API answer', async () => {
      const r = await runCli(['compare', ids[0]!, ids[2]!, '--output', 'json'], { env });
      expect(r.code, r.stderr).toBe(0);
      const c = JSON.parse(r.stdout);
      expect(c.params.find((p: any) => p.key === 'lr')).toEqual({ key: 'lr', values: ['0.1', '0.1'], differs: false });
    });

    it('prints what it got from the API inert', async () => {
      const r = await runCli(['compare', ids[0]!, ids[3]!], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('evilname');
      expect(r.stdout).not.toContain('\x1b');
    });

    it('an unknown run: the server says which, exit 2, no stack trace', async () => {
      const r = await runCli(['compare', ids[0]!, `${experimentId}.r000000000000`], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`tunehive: no run with id "${experimentId}.r000000000000"`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('one run is a usage error', async () => {
      const r = await runCli(['compare', ids[0]!], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('tunehive: tunehive compare needs 2 to 20 run ids (got 1): tunehive compare RUN1 RUN2 [RUN3 ...]\n');
    });
  });

  describe('runs: bad filters never reach the server', () => {
    it('prints the position with a caret and the grammar, exit 2', async () => {
      // No server at all: the filter is refused before any request.
      const r = await runCli(['runs', '--filter', 'metrics.f1    0.9'], { env: { TUNEHIVE_API: 'http://127.0.0.1:9', TUNEHIVE_TOKEN: 'x' } });
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n').slice(0, 3)).toEqual([
        'tunehive: --filter is invalid: at position 14: expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS) after metrics.f1',
        '  metrics.f1    0.9',
        '                ^',
      ]);
      expect(r.stderr).toContain("Filters are MLflow's");
    });

    it('a string for a metric says so', async () => {
      const r = await runCli(['runs', '--filter', "metrics.f1 > '0.9'"], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("at position 13: expected a number for metrics.f1 (metrics compare with numbers, and '0.9' is a string: write 0.9 without quotes)");
    });

    it('a bad order key names the item and the position', async () => {
      const r = await runCli(['runs', '--order-by', 'metrics.f1 DESC', '--order-by', 'params.lr upward'], { env });
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n').slice(0, 3)).toEqual([
        'tunehive: --order-by "params.lr upward" is invalid: at position 10: expected ASC, DESC or the end of the order-by key after params.lr',
        '  params.lr upward',
        '            ^',
      ]);
    });

    it('bad flags exit 2 with the fix', async () => {
      expect((await runCli(['runs', '--output', 'xml'], { env })).stderr).toBe('tunehive: --output must be table, json or csv (got "xml")\n');
      const max = await runCli(['runs', '--max', '0'], { env });
      expect(max.code).toBe(2);
      expect(max.stderr).toBe('tunehive: --max must be an integer from 1 to 100000 (got "0")\n');
      const pos = await runCli(['runs', 'metrics.f1', '>', '0.9'], { env });
      expect(pos.code).toBe(2);
      expect(pos.stderr).toContain('quote the filter: --filter "metrics.f1 > 0.9"');
    });
  });

  describe('runs', () => {
    // Runs of this file's experiment only: other test files' runs share no prefix, but be explicit.
    const inExp = () => ['--experiment', experimentId];

    it('filters, orders and prints a table with the named keys as columns', async () => {
      const r = await runCli(['runs', '--filter', "metrics.f1 > 0.82 and params.lr = '0.1'", '--order-by', 'metrics.f1 DESC', ...inExp()], { env });
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]!.split(/\s{2,}/)).toEqual(['run', 'status', 'name', 'metrics.f1', 'params.lr', 'params']);
      // lr 0.1 are runs 0 (f1 0.80) and 2 (f1 0.90): only run 2 passes f1 > 0.82.
      expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual([ids[2]]);
      expect(lines[2]).toContain('0.9000');
    });

    it('--max pages through nextPageToken and stops at max; json has the runs in order', async () => {
      const r = await runCli(['runs', '--order-by', 'metrics.f1 ASC', '--max', '3', '--output', 'json', ...inExp()], { env });
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.runs.map((x: any) => x.id)).toEqual([ids[0], ids[1], ids[2]]);
      expect(typeof j.nextPageToken).toBe('string');
      const all = await runCli(['runs', '--order-by', 'metrics.f1 DESC', '--output', 'json', ...inExp()], { env });
      expect(JSON.parse(all.stdout).runs.map((x: any) => x.id)).toEqual([...ids].reverse());
      expect(JSON.parse(all.stdout).nextPageToken).toBeNull();
    });

    it('comma-separated order keys as the API takes them, and OR with parentheses', async () => {
      const r = await runCli(['runs', '--filter', "(params.lr = '0.01' OR metrics.f1 < 0.81) AND tags.team = 'fraud'", '--order-by', 'params.lr DESC, metrics.f1 ASC', '--output', 'json', ...inExp()], { env });
      expect(r.code, r.stderr).toBe(0);
      // lr '0.1' > '0.01' as strings: run 0 (lr 0.1, f1 0.80) first, then runs 1 and 3 (lr 0.01) by f1.
      expect(JSON.parse(r.stdout).runs.map((x: any) => x.id)).toEqual([ids[0], ids[1], ids[3]]);
    });

    it('--output csv has a header and one row per run', async () => {
      const r = await runCli(['runs', '--filter', "params.lr = '0.01'", '--order-by', 'attributes.start_time', '--output', 'csv', ...inExp()], { env });
      expect(r.code, r.stderr).toBe(0);
      const rows = r.stdout.trimEnd().split('\r\n');
      expect(rows[0]).toBe('run_id,experiment_id,run_name,status,state,start_time,end_time,parent_run_id,metrics.f1,params.lr,params.model,tags.team');
      expect(rows.slice(1).map((x) => x.split(',')[0])).toEqual([ids[1], ids[3]]);
      expect(rows[1]).toContain(',0.85,0.01,rf,fraud');
      expect(r.stdout).not.toContain('\x1b');
    });

    it('no match says so; an unknown experiment is the server\'s 404, exit 2', async () => {
      const none = await runCli(['runs', '--filter', 'metrics.f1 > 5', ...inExp()], { env });
      expect(none.code, none.stderr).toBe(0);
      expect(none.stdout).toBe('no runs match\n');
      const r = await runCli(['runs', '--experiment', 'nosuchexp1'], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('tunehive: no experiment with id "nosuchexp1"');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });

  describe('tag and note', () => {
    it('sets and deletes tags, then prints them', async () => {
      const set = await runCli(['tag', ids[0]!, 'stage=prod', 'owner=ml team'], { env });
      expect(set.code, set.stderr).toBe(0);
      expect(set.stderr).toBe(`run ${ids[0]}: set stage, owner\n`);
      expect(set.stdout).toMatch(/^owner\s+ml team$/m);
      expect(set.stdout).toMatch(/^stage\s+prod$/m);
      const del = await runCli(['tag', ids[0]!, 'stage=staging', '--delete', 'owner'], { env });
      expect(del.code, del.stderr).toBe(0);
      expect(del.stderr).toBe(`run ${ids[0]}: set stage; deleted owner\n`);
      const run = await stack.coordinator.runs.getRun(ids[0]!);
      expect(run!.tags).toEqual({ team: 'fraud', stage: 'staging' });
      // The tag is searchable at once.
      const found = await runCli(['runs', '--filter', "tags.stage = 'staging'", '--output', 'json', ...['--experiment', experimentId]], { env });
      expect(JSON.parse(found.stdout).runs.map((x: any) => x.id)).toEqual([ids[0]]);
    });

    it('a note from the argument and from a file (stdin)', async () => {
      const a = await runCli(['note', ids[1]!, '# Best so far\nlr 0.01 wins'], { env });
      expect(a.code, a.stderr).toBe(0);
      expect((await stack.coordinator.runs.getRun(ids[1]!))!.note).toBe('# Best so far\nlr 0.01 wins');
      const b = await runCli(['note', ids[1]!, '--file', '-'], { env, stdin: 'from stdin\n' });
      expect(b.code, b.stderr).toBe(0);
      expect(b.stderr).toBe(`run ${ids[1]}: note set (11 bytes)\n`);
      expect((await stack.coordinator.runs.getRun(ids[1]!))!.note).toBe('from stdin\n');
    });

    it('an unknown run: the server\'s 404, exit 2', async () => {
      const r = await runCli(['tag', `${experimentId}.r000000000000`, 'a=b'], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`no run with id "${experimentId}.r000000000000"`);
    });
  });

  describe('tag and note: usage', () => {
    it('needs key=value pairs', async () => {
      const r = await runCli(['tag', ids[0]!, 'novalue'], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('tunehive: tag "novalue" is not key=value (to delete a tag: --delete novalue)\n');
      const none = await runCli(['tag', ids[0]!], { env });
      expect(none.stderr).toBe('tunehive: tunehive tag needs at least one key=value or --delete key\n');
    });
    it('a note over 64 KiB is refused before sending', async () => {
      const r = await runCli(['note', ids[0]!, '--file', '-'], { env, stdin: 'x'.repeat(64 * 1024 + 1) });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('the note is 65537 bytes; a run\'s note holds at most 65536 (64 KiB)');
    });
  });
});
