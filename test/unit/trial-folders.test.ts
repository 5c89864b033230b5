/** The agent's trial folders on a real file system: every attempt gets fresh, empty ones. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeFolders } from '../../worker/trial-folders.js';

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

describe('makeFolders', () => {
  it('makes empty folders, and trials/ with the first', async () => {
    const trials = root();
    expect(existsSync(trials)).toBe(false);
    const t = path.join(trials, 's1.0');
    await makeFolders(t);
    empty(t);
  });

  it("an earlier attempt's leftovers never reach the program: the folder is made afresh", async () => {
    const t = path.join(root(), 's1.1');
    mkdirSync(path.join(t, 'checkpoint'), { recursive: true });
    writeFileSync(path.join(t, 'checkpoint', 'stale.pt'), 'newer than any upload');
    mkdirSync(path.join(t, 'other'));
    await makeFolders(t);
    empty(t);
  });
});
