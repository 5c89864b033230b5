/** The agent's trial folders on a real file system: spares are recycled only when exactly as prepared. */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrialFolders } from '../../worker/trial-folders.js';

const roots: string[] = [];
const root = () => {
  const r = path.join(mkdtempSync(path.join(tmpdir(), 'th-folders-')), 'trials');
  roots.push(path.dirname(r));
  return r;
};
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});
const entries = (dir: string) => readdirSync(dir).sort();
const empty = (trialDir: string) => {
  expect(entries(trialDir)).toEqual(['artifacts', 'checkpoint']);
  expect(entries(path.join(trialDir, 'checkpoint'))).toEqual([]);
  expect(entries(path.join(trialDir, 'artifacts'))).toEqual([]);
};

describe('TrialFolders', () => {
  it('makes empty folders (and trials/ with the first), keeps a released one as a spare and gives it to the next trial', async () => {
    const trials = root();
    const folders = new TrialFolders(trials, 2);
    const a = path.join(trials, 't-a');
    await folders.prepare(a);
    empty(a);
    await folders.release(a);
    expect(existsSync(a)).toBe(false);
    expect(entries(trials)).toEqual(['.spare-0']);
    const b = path.join(trials, 't-b');
    await folders.prepare(b);
    empty(b);
    expect(entries(trials)).toEqual(['t-b']);
  });

  it('removes a folder that is not as prepared: files left, a changed mode, another folder inside', async () => {
    const trials = root();
    const folders = new TrialFolders(trials, 8);
    const cases: Array<(dir: string) => void> = [
      (d) => writeFileSync(path.join(d, 'checkpoint', 'model.pt'), 'x'),
      (d) => writeFileSync(path.join(d, 'artifacts', 'plot.png'), 'x'),
      (d) => chmodSync(path.join(d, 'checkpoint'), 0o777),
      (d) => mkdirSync(path.join(d, 'extra')),
    ];
    for (const [i, spoil] of cases.entries()) {
      const dir = path.join(trials, `t-${i}`);
      await folders.prepare(dir);
      spoil(dir);
      await folders.release(dir);
      expect(existsSync(dir)).toBe(false);
    }
    expect(entries(trials)).toEqual([]);
  });

  it('keeps at most `keep` spares, and drain removes them', async () => {
    const trials = root();
    const folders = new TrialFolders(trials, 1);
    const dirs = ['t-1', 't-2', 't-3'].map((n) => path.join(trials, n));
    for (const d of dirs) await folders.prepare(d);
    for (const d of dirs) await folders.release(d);
    expect(entries(trials)).toEqual(['.spare-0']);
    await folders.drain();
    expect(entries(trials)).toEqual([]);
  });

  it('an earlier attempt\'s leftovers never reach the program: a spare does not replace them, fresh folders do', async () => {
    const trials = root();
    const folders = new TrialFolders(trials, 2);
    const warm = path.join(trials, 't-warm');
    await folders.prepare(warm);
    await folders.release(warm);
    const t = path.join(trials, 't-again');
    mkdirSync(path.join(t, 'checkpoint'), { recursive: true });
    writeFileSync(path.join(t, 'checkpoint', 'stale.pt'), 'newer than any upload');
    await folders.prepare(t);
    empty(t);
    expect(entries(trials)).toEqual(['t-again']);
  });
});
