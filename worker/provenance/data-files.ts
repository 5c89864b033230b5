/**
 * The data version from `trial.dataFiles`: the SHA-256 of each file, streamed (a 50 GB file
 * costs a 64 KiB buffer, not 50 GB), at most `maxFiles` files and `maxBytes` bytes in all. A
 * file that is missing, unreadable, not a regular file or past the byte budget is recorded
 * with an empty hash and the reason (`error`), never a crash; it still changes the version,
 * so a rerun with the file back is told the data differs.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { Provenance } from '../../shared/run-model.js';
import type { CaptureCache } from './capture-cache.js';

export type DataFile = Provenance['data']['files'][number];

export interface HashLimits { maxFiles: number; maxBytes: number }
/** Hashing is cut short when the attempt ends first (a huge file must not hold up the exit). */
export const STOPPED = 'not hashed: the attempt ended before it was';

export const DEFAULT_HASH_LIMITS: HashLimits = { maxFiles: 1000, maxBytes: 64 * 1024 ** 3 };

export async function hashDataFiles(paths: readonly string[], cwd: string, limits: HashLimits = DEFAULT_HASH_LIMITS, signal?: AbortSignal, cache?: CaptureCache): Promise<DataFile[]> {
  const out: DataFile[] = [];
  let budget = limits.maxBytes;
  for (const p of paths.slice(0, limits.maxFiles)) {
    const full = path.resolve(cwd, p);
    const entry = (error: string, size = 0): DataFile => ({ path: p, size, sha256: '', error });
    if (signal?.aborted) {
      out.push(entry(STOPPED));
      continue;
    }
    let size: number;
    let before: Stats;
    try {
      const s = before = await stat(full);
      if (!s.isFile()) {
        out.push(entry('not a regular file'));
        continue;
      }
      size = s.size;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.push(entry(code === 'ENOENT' ? 'missing' : `unreadable (${code ?? 'error'})`));
      continue;
    }
    if (size > budget) {
      out.push(entry(`not hashed: past the ${limits.maxBytes} bytes hashed per attempt`, size));
      continue;
    }
    try {
      // The byte budget counts a kept hash too: what a record says must not depend on the cache.
      let sha = cache?.fileHash(full, before);
      if (!sha) {
        sha = await sha256File(full, signal);
        if (cache) cache.keepFileHash(full, before, await stat(full), sha);
      }
      budget -= sha.bytes;
      out.push({ path: p, size: sha.bytes, sha256: sha.hex });
    } catch (err) {
      out.push(entry(signal?.aborted ? STOPPED : `unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`, size));
    }
  }
  return out;
}

async function sha256File(file: string, signal?: AbortSignal): Promise<{ hex: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024, ...(signal ? { signal } : {}) })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { hex: hash.digest('hex'), bytes };
}

/**
 * One version for a set of hashes: SHA-256 over `path NUL hash-or-error LF`, sorted by path, so
 * the order in the spec does not matter and a missing file differs from any content.
 */
export function combinedVersion(entries: ReadonlyArray<{ path: string; hash: string }>): string {
  const h = createHash('sha256');
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(`${e.path}\0${e.hash}\n`);
  return `sha256:${h.digest('hex')}`;
}
