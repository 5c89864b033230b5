/**
 * The code version of a trial's working directory when it is a git checkout: HEAD's commit,
 * the branch (absent when detached), whether tracked files differ from HEAD (untracked files do
 * not count, as in MLflow: build outputs and data would make every checkout dirty), and the
 * `origin` remote without credentials. Git runs as argv with a timeout and bounded output; no
 * git binary, a directory that is no checkout, or a git that fails is `undefined`, not an error.
 */
import { boundedExec } from './bounded-exec.js';
import { remoteWithoutCredentials } from './remote-url.js';

export interface GitCode { commit: string; branch?: string; dirty: boolean; remote?: string }

export interface GitOptions { git?: string; timeoutMs?: number }

// Read-only: no optional locks (a program running git in the same checkout must not find
// index.lock taken), no pager, no prompt for credentials, untranslated output.
const GIT_ENV = { GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C' };

export async function gitCode(dir: string, o: GitOptions = {}): Promise<GitCode | undefined> {
  const git = o.git ?? 'git';
  const env = { ...process.env, ...GIT_ENV };
  const run = (args: string[], maxBytes = 4096) => boundedExec(git, args, { cwd: dir, timeoutMs: o.timeoutMs ?? 5000, maxBytes, env });
  const head = await run(['rev-parse', '--verify', '-q', 'HEAD']);
  const commit = head.stdout.trim();
  if (head.code !== 0 || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return undefined;
  const [branch, status, remote] = await Promise.all([
    run(['symbolic-ref', '--short', '-q', 'HEAD']),
    // One byte of output is enough to know it is dirty: the rest is not kept.
    run(['status', '--porcelain', '--untracked-files=no'], 1),
    run(['config', '--get', 'remote.origin.url']),
  ]);
  if (status.code !== 0 && !status.truncated) return undefined;
  const out: GitCode = { commit, dirty: status.stdout.length > 0 || status.truncated };
  const b = branch.stdout.trim();
  if (branch.code === 0 && b !== '' && !branch.truncated) out.branch = b.slice(0, 250);
  const r = remote.stdout.trim();
  if (remote.code === 0 && r !== '' && !remote.truncated) out.remote = remoteWithoutCredentials(r).slice(0, 1000);
  return out;
}
