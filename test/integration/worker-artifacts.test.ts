/**
 * The worker path of artifacts, with a real agent running a real child process that writes into
 * TUNEHIVE_ARTIFACT_DIR, on both stores (a folder, and S3 via s3rver): a `tunehive.artifact=`
 * line uploads at once (seen on the run while the program still runs), the rest goes up at exit
 * before Finished (a COMPLETED trial has all of them), with the SHA-256 of every byte; links and
 * temp files stay behind; a run over its quota gets nothing past the header.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, startTestStack, type TestStack } from '../helpers/stack.js';
import { waitFor } from '../helpers/env.js';
import { startLocalS3, type LocalS3 } from '../helpers/local-s3.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const expected = (n: number) => ({
  'confusion.csv': sha(`label,0,1\n0,${n},1\n1,2,${n + 3}\n`),
  'model/weights.bin': sha(Buffer.alloc(300_000 + n, n % 251)),
  'reports/deep/summary.json': sha(JSON.stringify({ n })),
});

let s3: LocalS3;
beforeAll(async () => { s3 = await startLocalS3(); });
afterAll(async () => { await s3?.close(); });

describe.each([['filesystem'], ['s3 (s3rver)']])('artifacts from a real worker on the %s store', (kind) => {
  let stack: TestStack;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-wa-'));
  beforeAll(async () => {
    stack = await startTestStack(`wart-${kind.slice(0, 2)}`, {
      agent: { workDir },
      coordinator: kind === 'filesystem' ? {} : { artifactStore: `s3://${s3.bucket}/worker`, s3: { endpoint: s3.endpoint, credentials: s3.credentials } },
    });
  });
  afterAll(async () => stack?.close());

  const files = async (runId: string) => ((await stack.api('GET', `/api/v1/runs/${runId}/artifacts`)).body.files as Array<{ path: string; sha256: string; size: number }>);

  it('uploads an announced file at once and the rest before Finished, checksums intact; links and temp files stay behind', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', {
      name: 'worker-artifacts', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { n: { type: 'int', min: 1, max: 50 } },
      algorithm: { name: 'random', seed: 3 }, maxTrials: 1, parallelism: 1,
      trial: { command: [process.execPath, fixture('artifact-writer.mjs'), '--n', '${params.n}', '--wait'] },
    });
    expect(study.id, JSON.stringify(study)).toBeDefined();
    const runId = `${study.id}.0`;
    // While the program waits, its announced weights are on the run already, and nothing else.
    const early = await waitFor(async () => { const f = (await files(runId)) ?? []; return f.length > 0 ? f : undefined; }, 30_000, 'the announced artifact');
    expect(early.map((f) => f.path)).toEqual(['model/weights.bin']);
    expect((await stack.api('GET', `/api/v1/trials/${runId}`)).body.state).toBe('RUNNING');
    writeFileSync(path.join(workDir, 'trials', runId, 'artifacts', 'go'), '');
    const done = await stack.waitForStudy(study.id);
    expect(done.state).toBe('COMPLETED');
    const trial = (await stack.api('GET', `/api/v1/trials/${runId}`)).body;
    expect(trial.state).toBe('COMPLETED');
    // Finished came after the upload: the completed trial has every artifact.
    const listed = await files(runId);
    expect(Object.fromEntries(listed.map((f) => [f.path, f.sha256]))).toEqual(expected(trial.params.n));
    const weights = await fetch(`${stack.coordinator.httpUrl}/api/v1/runs/${runId}/artifacts/model/weights.bin`, { headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' } });
    expect(sha(Buffer.from(await weights.arrayBuffer()))).toBe(expected(trial.params.n)['model/weights.bin']);
  });

  it('a run over limits.maxArtifactBytes stores nothing and the trial still completes', async () => {
    const { body: study } = await stack.api('POST', '/api/v1/studies', {
      name: 'worker-artifacts-quota', objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { n: { type: 'int', min: 1, max: 50 } },
      algorithm: { name: 'random', seed: 4 }, maxTrials: 1, parallelism: 1, limits: { maxArtifactBytes: 1000 },
      trial: { command: [process.execPath, fixture('artifact-writer.mjs'), '--n', '${params.n}'] },
    });
    const done = await stack.waitForStudy(study.id);
    expect(done.state).toBe('COMPLETED');
    // The weights alone are over the quota, so is the upload at exit (all files at once): refused whole.
    expect(await files(`${study.id}.0`)).toEqual([]);
  });
});
