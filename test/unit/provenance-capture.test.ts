/**
 * Provenance capture on the worker, against real parts: a git checkout made here with the real
 * git binary (committed, then dirtied), DVC-style files, data files hashed from disk.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, gitCheckout } from '../helpers/git-repo.js';
import { captureCode, captureData } from '../../worker/provenance/capture.js';
import { remoteWithoutCredentials } from '../../worker/provenance/remote-url.js';
import { recordedEnvironment } from '../../worker/provenance/recorded-env.js';
import { rerunDifferences } from '../../shared/rerun-check.js';
import { parseControlLine, parseMetricLine } from '../../worker/metrics/parse-line.js';
import { trialSeed } from '../../shared/seed.js';
import { ProvenanceSchema } from '../../shared/run-model.js';
import { Value } from 'typebox/value';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'th-prov-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const checkout = () => gitCheckout(tmp(), 'exp/lr-sweep');

describe('code version from git', () => {
  it('records the commit, branch, a clean flag, then dirty once a tracked file changes (untracked files do not count)', async () => {
    const dir = checkout();
    const head = git(dir, 'rev-parse', 'HEAD');
    const clean = await captureCode({ workingDir: dir });
    expect(clean).toEqual({ source: 'git', commit: head, branch: 'exp/lr-sweep', dirty: false, workdir: dir });
    writeFileSync(path.join(dir, 'notes.txt'), 'untracked\n');
    expect((await captureCode({ workingDir: dir })).dirty).toBe(false);
    writeFileSync(path.join(dir, 'train.py'), 'print("changed")\n');
    const dirty = await captureCode({ workingDir: dir });
    expect(dirty).toMatchObject({ source: 'git', commit: head, dirty: true });
    // A new commit is a new version.
    git(dir, 'commit', '-qam', 'second');
    const next = await captureCode({ workingDir: dir });
    expect(next.commit).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(next.commit).not.toBe(head);
    expect(next.dirty).toBe(false);
  });

  it('records origin without the credentials in its URL, and no branch when HEAD is detached', async () => {
    const dir = checkout();
    git(dir, 'remote', 'add', 'origin', 'https://alice:ghp_s3cr3tT0ken@github.com/acme/models.git');
    git(dir, 'checkout', '-q', '--detach');
    const c = await captureCode({ workingDir: dir });
    expect(c.remote).toBe('https://github.com/acme/models.git');
    expect(JSON.stringify(c)).not.toContain('s3cr3t');
    expect(c.branch).toBeUndefined();
  });

  it('falls back to trial.codeVersion outside a checkout, and to none without one; a missing git binary is not an error', async () => {
    const plain = tmp();
    expect(await captureCode({ workingDir: plain, codeVersion: 'v1.4.2' })).toEqual({ source: 'spec', version: 'v1.4.2', workdir: plain });
    expect(await captureCode({ workingDir: plain })).toEqual({ source: 'none', workdir: plain });
    const repo = checkout();
    expect(await captureCode({ workingDir: repo, codeVersion: 'v2', git: { git: '/nonexistent/bin/git' } })).toEqual({ source: 'spec', version: 'v2', workdir: repo });
  });

  it('records no git version for a checkout without commits, and a branch name git prints in full', async () => {
    const unborn = tmp();
    git(unborn, 'init', '-q', '-b', 'main');
    expect(await captureCode({ workingDir: unborn })).toEqual({ source: 'none', workdir: unborn });
    const dir = checkout();
    git(dir, 'checkout', '-q', '-b', 'feature/a+b-c_d.1');
    expect((await captureCode({ workingDir: dir })).branch).toBe('feature/a+b-c_d.1');
  });

  it('strips every form of URL credential and leaves scp-like remotes alone', () => {
    expect(remoteWithoutCredentials('https://x-access-token:abc@github.com/o/r')).toBe('https://github.com/o/r');
    expect(remoteWithoutCredentials('https://ghp_abc@github.com/o/r.git')).toBe('https://github.com/o/r.git');
    expect(remoteWithoutCredentials('ssh://git@host:2222/o/r.git')).toBe('ssh://host:2222/o/r.git');
    expect(remoteWithoutCredentials('git@github.com:o/r.git')).toBe('git@github.com:o/r.git');
  });
});

describe('data version', () => {
  it('hashes trial.dataFiles (streamed SHA-256), and records a missing file as missing instead of failing', async () => {
    const dir = tmp();
    const body = Buffer.alloc(300_000, 7);
    writeFileSync(path.join(dir, 'train.csv'), body);
    const data = await captureData({ workingDir: dir, dataFiles: ['train.csv', 'gone.csv'] });
    expect(data.source).toBe('files');
    expect(data.files).toEqual([
      { path: 'train.csv', size: body.length, sha256: createHash('sha256').update(body).digest('hex') },
      { path: 'gone.csv', size: 0, sha256: '', error: 'missing' },
    ]);
    expect(data.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The same files give the same version; a changed byte another.
    expect((await captureData({ workingDir: dir, dataFiles: ['gone.csv', 'train.csv'] })).version).toBe(data.version);
    body[5] = 8;
    writeFileSync(path.join(dir, 'train.csv'), body);
    expect((await captureData({ workingDir: dir, dataFiles: ['train.csv', 'gone.csv'] })).version).not.toBe(data.version);
  });

  it('refuses to hash past the byte budget and says so', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'a.bin'), Buffer.alloc(1000));
    writeFileSync(path.join(dir, 'b.bin'), Buffer.alloc(1000));
    const data = await captureData({ workingDir: dir, dataFiles: ['a.bin', 'b.bin', 'a.bin'], hashLimits: { maxFiles: 2, maxBytes: 1500 } });
    expect(data.files.map((f) => f.error ?? 'ok')).toEqual(['ok', 'not hashed: past the 1500 bytes hashed per attempt']);
  });

  it('reads the hashes of .dvc files and dvc.lock found in the working directory (yaml), skipping what does not parse', async () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'data'));
    writeFileSync(path.join(dir, 'data', 'images.dvc'), 'outs:\n- md5: 3f2c1a9e0b7d4c6a8e5f1b2d3c4a5e6f.dir\n  size: 1048576\n  nfiles: 10\n  hash: md5\n  path: images\n');
    writeFileSync(path.join(dir, 'dvc.lock'), [
      'schema: "2.0"', 'stages:', '  prepare:', '    cmd: python prepare.py', '    deps:', '    - path: raw.csv', '      md5: 11111111111111111111111111111111',
      '    outs:', '    - path: features.parquet', '      md5: a1b2c3d4e5f60718293a4b5c6d7e8f90', '      size: 2048', '',
    ].join('\n'));
    writeFileSync(path.join(dir, 'broken.dvc'), 'outs: [unclosed\n');
    mkdirSync(path.join(dir, 'node_modules'));
    writeFileSync(path.join(dir, 'node_modules', 'x.dvc'), 'outs:\n- md5: ffffffffffffffffffffffffffffffff\n  path: x\n');
    const data = await captureData({ workingDir: dir });
    expect(data.source).toBe('dvc');
    expect(data.dvc).toEqual([
      { path: 'data/images', hash: '3f2c1a9e0b7d4c6a8e5f1b2d3c4a5e6f.dir', file: 'data/images.dvc' },
      { path: 'features.parquet', hash: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', file: 'dvc.lock' },
    ]);
    expect(data.version).toMatch(/^sha256:/);
    expect(Value.Check(ProvenanceSchema, {
      attempt: 1, capturedAt: 1, code: { source: 'none' }, data, command: ['x'], env: {}, seed: 3,
    })).toBe(true);
  });

  it('is none without data files or DVC files', async () => {
    expect(await captureData({ workingDir: tmp() })).toEqual({ source: 'none', files: [], dvc: [] });
  });
});

describe('program lines, environment, seed', () => {
  it('parses tag and data-version lines before metric lines (a numeric data version is not a metric)', () => {
    expect(parseControlLine('tunehive.tag team=fraud detection')).toEqual({ tag: { key: 'team', value: 'fraud detection' } });
    expect(parseControlLine('  tunehive.tag model.kind = rf ')).toEqual({ tag: { key: 'model.kind', value: 'rf' } });
    expect(parseControlLine('tunehive.data_version=3')).toEqual({ dataVersion: '3' });
    expect(parseControlLine('tunehive.tag novalue')).toEqual({ invalid: 'a tag line is `tunehive.tag key=value`' });
    expect(parseControlLine('tunehive.tag b@d=1')).toMatchObject({ invalid: expect.stringContaining('tag key "b@d"') });
    expect(parseControlLine(`tunehive.tag k=${'v'.repeat(5001)}`)).toMatchObject({ invalid: expect.stringContaining('longer than 5000') });
    expect(parseControlLine('epoch=1 accuracy=0.9')).toBeUndefined();
    // What the metric parser alone would have made of it:
    expect(parseMetricLine('tunehive.data_version=3')).toEqual({ values: [{ name: 'tunehive.data_version', value: 3 }] });
  });

  it('records the environment without secrets (names as the logs define them) and scrubs credentials quoted in values', () => {
    const env = recordedEnvironment({
      PATH: '/usr/bin', LR_SCHEDULE: 'cosine', WANDB_API_KEY: 'k', HF_TOKEN: 't', DB_PASSWORD: 'p', AWS_SECRET_ACCESS_KEY: 's',
      DATABASE: 'postgres://app:hunter2@db:5432/x', TUNEHIVE_SEED: '42',
    });
    expect(env).toEqual({ DATABASE: 'postgres://app:[redacted]@db:5432/x', LR_SCHEDULE: 'cosine', PATH: '/usr/bin', TUNEHIVE_SEED: '42' });
  });

  it('derives each trial seed from the study seed and the trial number only: the same every time, different across trials and studies', () => {
    expect(trialSeed(7, 0)).toBe(trialSeed(7, 0));
    const seeds = new Set(Array.from({ length: 1000 }, (_, n) => trialSeed(7, n)));
    expect(seeds.size).toBe(1000);
    expect(trialSeed(8, 0)).not.toBe(trialSeed(7, 0));
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
    // Pinned: the documented function must not change under a rerun of an old trial.
    expect([trialSeed(7, 0), trialSeed(7, 1), trialSeed(0, 0), trialSeed(0xffffffff, 999)]).toMatchInlineSnapshot(`
      [
        588686121,
        1937383562,
        2462723854,
        152641458,
      ]
    `);
  });

  it('says what differs from a rerun record', () => {
    const check = { of: 's1.3', commit: '1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d', dirty: false, codeVersion: '', dataVersion: 'sha256:aaaa', dataSource: 'files', force: false };
    const code = { source: 'git' as const, commit: '4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d1a2b3c', dirty: true };
    const data = { source: 'files' as const, version: 'sha256:bbbb', files: [{ path: 'train.csv', size: 0, sha256: '', error: 'missing' }], dvc: [] };
    expect(rerunDifferences(check, code, data)).toEqual([
      'code: recorded commit 1a2b3c4d5e6f, working directory at 4d5e6f7a8b9c (dirty)',
      'data: recorded files version aaaa, found files version bbbb (train.csv missing)',
    ]);
    expect(rerunDifferences(check, { ...code, commit: check.commit, dirty: false }, { ...data, version: 'sha256:aaaa', files: [] })).toEqual([]);
  });
});
