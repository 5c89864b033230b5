/**
 * `tunehive artifacts` and `tunehive download` against a real coordinator: the table, a
 * streamed download whose SHA-256 is checked (and a corrupted one that leaves nothing at DEST),
 * refusals that exit 2. The progress bar needs a terminal: its text is tested directly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.js';
import { runCli } from '../helpers/processes.js';
import { authHeaders, TEST_ADMIN_TOKEN } from '../helpers/env.js';
import { progressText } from '../../cli/artifact-commands.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('tunehive artifacts / download', () => {
  let stack: TestStack;
  let runId: string;
  let studyId: string;
  const weights = randomBytes(3 * 1024 * 1024 + 17);
  const env = () => ({ TUNEHIVE_API: stack.coordinator.httpUrl, TUNEHIVE_TOKEN: TEST_ADMIN_TOKEN });
  beforeAll(async () => {
    stack = await startTestStack('cli-art', { workers: 0 });
    const { body: study } = await stack.api('POST', '/api/v1/studies', { name: 'cli-art', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 3 });
    studyId = study.id;
    runId = (await stack.api('POST', `/api/v1/studies/${study.id}/trials/ask`)).body.id;
    for (const [p, b] of [['model/weights.bin', weights], ['confusion matrix.csv', Buffer.from('a,b\n1,2\n')]] as const) {
      const r = await fetch(`${stack.coordinator.httpUrl}/api/v1/runs/${runId}/artifacts/${p.split('/').map(encodeURIComponent).join('/')}`, { method: 'PUT', headers: authHeaders(), body: b });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => stack?.close());

  it('lists a run\'s artifacts as a table of path, size and SHA-256', async () => {
    const r = await runCli(['artifacts', runId], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PATH\s+SIZE\s+SHA256$/);
    expect(lines[2]).toMatch(/^confusion matrix\.csv\s+8 B\s+[0-9a-f]{64}$/);
    expect(lines[3]).toContain(`model/weights.bin     3.0 MiB  ${sha(weights)}`);
    expect(lines[4]).toBe('2 file(s), 3.0 MiB');
  });

  it('downloads to DEST (a folder or a file name), streamed, with the SHA-256 checked', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-dl-'));
    const r = await runCli(['download', runId, 'model/weights.bin', dir], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(sha(readFileSync(path.join(dir, 'weights.bin')))).toBe(sha(weights));
    expect(r.stdout).toContain(`sha256 ${sha(weights)} (checked)`);
    const again = await runCli(['download', runId, 'confusion matrix.csv', path.join(dir, 'cm.csv')], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(path.join(dir, 'cm.csv'), 'utf8')).toBe('a,b\n1,2\n');
    // An existing file is kept unless --force.
    const exists = await runCli(['download', runId, 'confusion matrix.csv', path.join(dir, 'cm.csv')], { env: env() });
    expect(exists.code).toBe(2);
    expect(exists.stderr).toContain('pass --force');
  });

  it('a download whose bytes do not match the listed SHA-256 fails and leaves nothing at DEST', async () => {
    // Corrupt the stored bytes behind the coordinator's back (a bad disk, a tampered bucket).
    const file = path.join(String((stack.coordinator.artifacts.store as unknown as { root: string }).root), 'objects', 'runs', studyId, runId, 'model', 'weights.bin');
    const bad = Buffer.from(weights);
    bad[1000] = bad[1000]! ^ 0xff;
    writeFileSync(file, bad);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-dl-'));
    const r = await runCli(['download', runId, 'model/weights.bin', dir], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SHA-256 mismatch');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('an unknown artifact or run exits 2 with the server\'s reason', async () => {
    const r = await runCli(['download', runId, 'nope.bin'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no artifact');
    expect(existsSync('nope.bin')).toBe(false);
    const l = await runCli(['artifacts', `${studyId}.77`], { env: env() });
    expect(l.code).toBe(2);
    expect(l.stderr).toContain('no run');
  });

  it('progress shows bytes, percent and rate', () => {
    expect(progressText(50 * 1024 * 1024, 100 * 1024 * 1024, 2)).toBe('[############............] 50.0 MiB / 100.0 MiB  50% 25.0 MiB/s');
  });
});
