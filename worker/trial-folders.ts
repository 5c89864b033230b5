/**
 * An attempt's folders on the agent: `trials/<trialId>/checkpoint` and `.../artifacts`, empty
 * when the program starts, gone once the finish is recorded.
 *
 * Making and removing three folders per trial was the agent's costliest file-system work: each
 * call is a trip to the thread pool every trial of the agent shares, and on a disk mounted with
 * `discard` removing a folder waits for the device (about 5 ms per trial here, 0.6 ms of CPU).
 * So a finished trial's folder that is exactly as it was prepared (the two sub-folders, both
 * empty, this agent's user and the mode it was made with) is renamed aside as a spare, and the
 * next attempt renames a spare into place: two calls instead of about ten. Anything else (files
 * left, a folder handed to a `--run-as` user, a changed mode) is removed as before. Spares live
 * under `trials/` (`.spare-N`, a name no trial id has), so the sweep at the agent's start
 * removes them with any orphan; the agent removes them when it closes.
 */
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export const SUBFOLDERS = ['checkpoint', 'artifacts'] as const;

export class TrialFolders {
  private readonly spares: string[] = [];
  private seq = 0;
  /** The mode of a folder as this agent makes it (learnt from the first one made). */
  private mode: number | undefined;

  /** `root`: the agent's `trials` folder; `keep`: spares kept at most (the trials that run at once). */
  constructor(private readonly root: string, private readonly keep: number) {}

  /** Empty checkpoint and artifact folders in `trialDir` for an attempt. */
  async prepare(trialDir: string): Promise<void> {
    const spare = this.spares.pop();
    if (spare) {
      try {
        // Onto an absent or empty folder only: what an earlier attempt left makes this fail.
        await rename(spare, trialDir);
        return;
      } catch {
        await rm(spare, { recursive: true, force: true });
      }
    }
    await makeFolders(trialDir);
    this.mode ??= (await lstat(trialDir)).mode & 0o7777;
  }

  /** After the finish is recorded: the folder is removed, or kept as a spare when it is as prepared. */
  async release(trialDir: string): Promise<void> {
    if (this.spares.length < this.keep && (await this.asPrepared(trialDir))) {
      const spare = path.join(this.root, `.spare-${this.seq++}`);
      try {
        await rename(trialDir, spare);
        this.spares.push(spare);
        return;
      } catch {
        // fall through: removed like any other
      }
    }
    await rm(trialDir, { recursive: true, force: true });
  }

  /** Removes the spares (the agent is closing). */
  async drain(): Promise<void> {
    await Promise.all(this.spares.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }

  private async asPrepared(trialDir: string): Promise<boolean> {
    if (this.mode === undefined) return false;
    const me = process.getuid?.();
    try {
      const names = await readdir(trialDir);
      if (names.length !== SUBFOLDERS.length || !SUBFOLDERS.every((n) => names.includes(n))) return false;
      for (const dir of [trialDir, ...SUBFOLDERS.map((n) => path.join(trialDir, n))]) {
        const st = await lstat(dir);
        if (!st.isDirectory() || (me !== undefined && st.uid !== me) || (st.mode & 0o7777) !== this.mode) return false;
        if (dir !== trialDir && (await readdir(dir)).length > 0) return false;
      }
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Makes the folders, empty. The last attempt on this machine removed the trial's folder when it
 * finished, so it is usually absent: three mkdirs and no removal.
 */
export async function makeFolders(trialDir: string): Promise<void> {
  try {
    await mkdir(trialDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      // Whatever an earlier attempt left here may be newer than any complete upload.
      await rm(trialDir, { recursive: true, force: true });
      await mkdir(trialDir);
    } else if (code === 'ENOENT') {
      // The first trial of this work dir: `trials/` is made with it.
      await mkdir(trialDir, { recursive: true });
    } else {
      throw err;
    }
  }
  await Promise.all(SUBFOLDERS.map((n) => mkdir(path.join(trialDir, n))));
}
