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

/** Branch headers (`# branch.oid`, `# branch.head`) fit in this; one byte past them says "dirty". */
const STATUS_BYTES = 4096;

export async function gitCode(dir: string, o: GitOptions = {}): Promise<GitCode | undefined> {
  const git = o.git ?? 'git';
  const env = { ...process.env, ...GIT_ENV };
  const run = (args: string[], maxBytes = 4096) => boundedExec(git, args, { cwd: dir, timeoutMs: o.timeoutMs ?? 5000, maxBytes, env });
  // One git for the commit, the branch and the dirty flag (it was three, and a fourth for the
  // remote: four processes per capture); no ahead/behind count, which walks history.
  const status = await run(['status', '--porcelain=v2', '--branch', '--no-ahead-behind', '--untracked-files=no'], STATUS_BYTES);
  if (status.code !== 0 && !status.truncated) return undefined;
  const lines = status.stdout.split('\n');
  const header = (name: string) => lines.find((l) => l.startsWith(`# branch.${name} `))?.slice(`# branch.${name} `.length);
  const commit = header('oid') ?? '';
  // `(initial)`: a branch without commits has no version to record.
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) return undefined;
  // A change line, or output cut after the headers (their lines come first).
  const changed = lines.some((l) => l !== '' && !l.startsWith('# '));
  const out: GitCode = { commit, dirty: changed || status.truncated };
  const b = header('head');
  if (b !== undefined && b !== '' && b !== '(detached)') out.branch = b.slice(0, 250);
  const remote = await run(['config', '--get', 'remote.origin.url']);
  const r = remote.stdout.trim();
  if (remote.code === 0 && r !== '' && !remote.truncated) out.remote = remoteWithoutCredentials(r).slice(0, 1000);
  return out;
}
