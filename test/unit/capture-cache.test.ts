/**
 * The provenance answers an agent shares between attempts (worker/provenance/capture-cache.ts),
 * on real parts: a git checkout made with the real git binary behind a wrapper that counts its
 * runs, DVC files and data files on disk.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, gitCheckout } from '../helpers/git-repo.js';
import { captureCode, captureData } from '../../worker/provenance/capture.js';
import { CaptureCache } from '../../worker/provenance/capture-cache.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'th-capcache-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const checkout = () => gitCheckout(tmp(), 'main');

/** A git that appends a line to `log` on every run, then is the real git. */
function countingGit(): { bin: string; runs: () => number } {
  const dir = tmp();
  const log = path.join(dir, 'runs');
  const bin = path.join(dir, 'git');
  writeFileSync(bin, `#!/bin/sh\necho run >> '${log}'\nexec git "$@"\n`);
  chmodSync(bin, 0o755);
  return { bin, runs: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

describe('CaptureCache', () => {
  it('gives attempts that start within the window one git capture, and captures again after it (a new commit is seen)', async () => {
    const dir = checkout();
    const counting = countingGit();
    let now = 1_000_000;
    const cache = new CaptureCache({ freshMs: 1000, now: () => now });
    const first = await Promise.all(Array.from({ length: 8 }, () => captureCode({ workingDir: dir, git: { git: counting.bin }, cache })));
    const runsForOne = counting.runs();
    expect(runsForOne).toBeGreaterThanOrEqual(2);
    expect(new Set(first.map((c) => c.commit))).toEqual(new Set([git(dir, 'rev-parse', 'HEAD')]));
    now += 1000;
    await captureCode({ workingDir: dir, git: { git: counting.bin }, cache });
    expect(counting.runs()).toBe(runsForOne);

    writeFileSync(path.join(dir, 'train.py'), 'print("changed")\n');
    git(dir, 'commit', '-qam', 'second');
    now += 1;
    const after = await captureCode({ workingDir: dir, git: { git: counting.bin }, cache });
    expect(counting.runs()).toBe(2 * runsForOne);
    expect(after).toMatchObject({ source: 'git', commit: git(dir, 'rev-parse', 'HEAD'), dirty: false });
    // Without a cache every capture reads the disk.
    await captureCode({ workingDir: dir, git: { git: counting.bin } });
    expect(counting.runs()).toBe(3 * runsForOne);
  });

  it('keys captures by directory: another checkout is captured on its own', async () => {
    const a = checkout();
    const b = checkout();
    writeFileSync(path.join(b, 'train.py'), 'dirty\n');
    const cache = new CaptureCache();
    const [ca, cb] = await Promise.all([captureCode({ workingDir: a, cache }), captureCode({ workingDir: b, cache })]);
    expect(ca).toMatchObject({ dirty: false, workdir: a });
    expect(cb).toMatchObject({ dirty: true, workdir: b });
  });

  it('shares the DVC walk within the window and sees a new .dvc file after it', async () => {
    const dir = tmp();
    let now = 0;
    const cache = new CaptureCache({ freshMs: 1000, now: () => now });
    expect((await captureData({ workingDir: dir, cache })).source).toBe('none');
    writeFileSync(path.join(dir, 'data.dvc'), 'outs:\n- md5: 3f2c1a9e0b7d4c6a8e5f1b2d3c4a5e6f\n  path: data\n');
    now = 500;
    expect((await captureData({ workingDir: dir, cache })).source).toBe('none');
    now = 1501;
    const later = await captureData({ workingDir: dir, cache });
    expect(later.source).toBe('dvc');
    expect(later.dvc).toEqual([{ path: 'data', hash: '3f2c1a9e0b7d4c6a8e5f1b2d3c4a5e6f', file: 'data.dvc' }]);
  });

  it('keeps a data file\'s hash while the file is unchanged, and hashes it again once it changes (even with the same size and mtime)', async () => {
    const dir = tmp();
    const file = path.join(dir, 'train.csv');
    writeFileSync(file, 'a,b\n1,2\n');
    const cache = new CaptureCache();
    const first = await captureData({ workingDir: dir, dataFiles: ['train.csv'], cache });
    const sha = (s: string) => execFileSync('sha256sum', [], { input: s, encoding: 'utf8' }).split(' ')[0];
    expect(first.files[0]).toMatchObject({ path: 'train.csv', sha256: sha('a,b\n1,2\n') });
    // Replaced behind the cache's back with the same length; mtime put back: ctime still moves.
    const { mtime, atime } = statSync(file);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, 'a,b\n3,4\n');
    utimesSync(file, atime, mtime);
    const second = await captureData({ workingDir: dir, dataFiles: ['train.csv'], cache });
    expect(second.files[0]!.sha256).toBe(sha('a,b\n3,4\n'));
    expect(second.version).not.toBe(first.version);
    // Unchanged: the kept hash, the same record.
    expect(await captureData({ workingDir: dir, dataFiles: ['train.csv'], cache })).toEqual(second);
  });

  it('does not keep a capture that failed', async () => {
    const cache = new CaptureCache();
    await expect(cache.shared('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await new Promise((r) => setImmediate(r));
    expect(await cache.shared('k', () => Promise.resolve(7))).toBe(7);
  });
});
