/**
 * `--run-as USER`: the process runtime starts trial programs as another, unprivileged user, so
 * a trial cannot read the agent's memory, its /proc/PID/environ or its files (a 0600 credential
 * file). The user is looked up without a shell (/etc/passwd, then `id` through execFile for
 * NSS/LDAP users); the trial's own folder is handed to it before each start.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface RunAsUser { name: string; uid: number; gid: number; home: string }

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

export class RunAsError extends Error {}

export function lookupUser(name: string, passwd = '/etc/passwd'): RunAsUser {
  if (!USER_NAME.test(name)) throw new RunAsError(`--run-as: ${JSON.stringify(name.slice(0, 64))} is not a user name`);
  let found: RunAsUser | undefined;
  try {
    for (const line of readFileSync(passwd, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 7) found = { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
    }
  } catch {
    // no readable passwd file: ask id(1) below
  }
  if (!found) {
    try {
      const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      found = { name, uid: id('-u'), gid: id('-g'), home: '/' };
    } catch {
      throw new RunAsError(`--run-as: no user ${JSON.stringify(name)} on this machine (create one, e.g. useradd --system --no-create-home tunehive-trial)`);
    }
  }
  if (!Number.isInteger(found.uid) || !Number.isInteger(found.gid)) throw new RunAsError(`--run-as: cannot read the uid/gid of ${name}`);
  if (found.uid === 0) throw new RunAsError('--run-as: the user must be unprivileged (not uid 0)');
  const me = process.getuid?.();
  if (me !== undefined && me !== 0 && me !== found.uid) {
    throw new RunAsError(`--run-as ${name}: the agent runs as uid ${me} and cannot start programs as another user; run the agent as root (or with CAP_SETUID and CAP_SETGID)`);
  }
  return found;
}

/**
 * Gives the trial's folder (the checkpoint folder's parent) to the user, and lets it traverse
 * the agent's two folders above it (`<work-dir>/trials` and `<work-dir>`: o+x only, so it
 * cannot list them or open the agent's files there). Folders further up are not the agent's to
 * change: one the user cannot traverse is an error that says so.
 */
export function prepareTrialFolder(checkpointDir: string, user: RunAsUser): string {
  const trialDir = path.dirname(checkpointDir);
  const own = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    chownSync(p, user.uid, user.gid);
    if (st.isDirectory()) for (const n of readdirSync(p)) own(path.join(p, n));
  };
  own(trialDir);
  chmodSync(trialDir, 0o700);
  const me = process.getuid?.();
  const trials = path.dirname(trialDir);
  for (const dir of [trials, path.dirname(trials)]) {
    const st = statSync(dir);
    if (st.uid === me && (st.mode & 0o001) === 0) chmodSync(dir, (st.mode & 0o7777) | 0o001);
  }
  for (let dir = path.dirname(path.dirname(trials)); ; dir = path.dirname(dir)) {
    const st = statSync(dir);
    const traversable = (st.mode & 0o001) !== 0 || (st.uid === user.uid && (st.mode & 0o100) !== 0) || (st.gid === user.gid && (st.mode & 0o010) !== 0);
    if (!traversable) {
      throw new RunAsError(`user ${user.name} cannot reach the trial folder: ${dir} is mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; put --work-dir under folders others may traverse (e.g. /var/lib/tunehive), or chmod o+x ${dir}`);
    }
    if (path.dirname(dir) === dir) break;
  }
  return trialDir;
}

/** The user's variables; HOME is the trial folder when the user has no home of its own. */
export function userEnvironment(user: RunAsUser, trialDir: string): Record<string, string> {
  const home = user.home && user.home !== '/' && existsSync(user.home) ? user.home : trialDir;
  return { HOME: home, USER: user.name, LOGNAME: user.name };
}
