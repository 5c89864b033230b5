/** A throw-away git checkout for provenance tests: git with no global or system config, one commit of a train.py. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const gitEnv = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' };

export const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, encoding: 'utf8', env: gitEnv }).trim();

/** Makes `dir` a repository on `branch` with train.py committed; returns `dir`. */
export function gitCheckout(dir: string, branch = 'main'): string {
  git(dir, 'init', '-q', '-b', branch);
  git(dir, 'config', 'user.email', 't@example.com');
  git(dir, 'config', 'user.name', 'T');
  git(dir, 'config', 'commit.gpgsign', 'false');
  writeFileSync(path.join(dir, 'train.py'), 'print("epoch=1 accuracy=0.5")\n');
  git(dir, 'add', 'train.py');
  git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}
