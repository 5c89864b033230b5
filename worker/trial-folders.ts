/**
 * An attempt's folders on the agent: `trials/<trialId>/checkpoint` and `.../artifacts`, empty
 * when the program starts, removed once the finish is recorded.
 *
 * A finished trial's folder is never handed to another trial, even when it looks untouched: a
 * process that outlived its program (one in a session of its own escapes the group kill) may
 * still hold it as its working directory and write into it later, and those writes would land
 * in the next trial's checkpoint. Removed, the folder makes such writes fail.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

export const SUBFOLDERS = ['checkpoint', 'artifacts'] as const;

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
