/**
 * Where artifact bytes live: a flat space of objects named by '/'-separated keys (a run's
 * artifacts under `runs/<experimentId>/<runId>/`, checkpoints under `checkpoints/` when they
 * share the store). The contract every implementation passes (test/conformance/artifact-store):
 * `put` takes a stream with its declared size (and SHA-256, when known) and checks both while
 * the bytes arrive; nothing is visible under the key until every byte matched, and a failed
 * put leaves the previous object as it was. Which artifacts a run has, with their checksums, is
 * recorded in Redis (artifact-index.ts), not here.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { TunehiveError } from '../../shared/errors.js';
import { artifactPathProblem } from '../../shared/artifact-path.js';

export interface ObjectInfo { key: string; size: number }
/** Inclusive byte offsets, as in HTTP's Range. */
export interface ByteRange { start: number; end: number }

export interface PutExpectation {
  size: number;
  /** Hex SHA-256 of the bytes; a function when it is only known after the last byte (a stream's trailer). */
  sha256?: string | (() => string | undefined);
}

export interface ArtifactStore {
  /** Stores the bytes under `key` once they match `expect`; resolves to what was stored. */
  put(key: string, body: AsyncIterable<Buffer>, expect: PutExpectation): Promise<{ size: number; sha256: string }>;
  /** The object's bytes (or a range of them); TH_ERR_ARTIFACT_NOT_FOUND when there is none. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<{ size: number } | undefined>;
  /** Every object whose key starts with `prefix` (a plain string prefix), in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** The names of the "folders" directly below `prefix` (which ends with '/' or is ''). */
  folders(prefix: string): Promise<string[]>;
  /** Removes the object `prefix` and every object below `prefix/`; idempotent; resolves to how many went. */
  deletePrefix(prefix: string): Promise<number>;
  close?(): Promise<void> | void;
}

/** Keys are built by the coordinator from checked parts; a bad one here is a bug or an attack, refused either way. */
export function checkKey(key: string): string {
  const problem = artifactPathProblem(key);
  if (problem) throw new TunehiveError('TH_ERR_ARTIFACT_PATH', `object key ${JSON.stringify(key.slice(0, 200))} ${problem}`, [{ field: 'path', reason: problem }]);
  return key;
}

/** A folder prefix: '' (everything) or a checked key followed by '/'. */
export function checkFolderPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  if (!prefix.endsWith('/')) throw new TunehiveError('TH_ERR_ARTIFACT_PATH', `folder prefix ${JSON.stringify(prefix.slice(0, 200))} must end with "/"`);
  checkKey(prefix.slice(0, -1));
  return prefix;
}

export const checksumError = (message: string) => new TunehiveError('TH_ERR_ARTIFACT_CHECKSUM', message, [{ field: '(body)', reason: message }]);

/**
 * Passes the bytes through, counting and hashing them: bytes beyond the declared size end the
 * stream at once, and after the last one the size and the SHA-256 are checked, so a consumer
 * that commits only once the iteration ended never commits a mismatch.
 */
export async function* verifiedBytes(body: AsyncIterable<Buffer>, expect: PutExpectation, done: (r: { size: number; sha256: string }) => void): AsyncIterable<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > expect.size) throw checksumError(`more bytes arrived than the ${expect.size} declared`);
    hash.update(chunk);
    yield chunk;
  }
  if (size !== expect.size) throw checksumError(`${size} of ${expect.size} declared bytes arrived`);
  const actual = hash.digest('hex');
  const wanted = typeof expect.sha256 === 'function' ? expect.sha256() : expect.sha256;
  if (typeof expect.sha256 === 'function' && !wanted) throw checksumError('the transfer ended without its checksum');
  if (wanted !== undefined && wanted.toLowerCase() !== actual) {
    throw checksumError(`checksum mismatch (got ${actual.slice(0, 12)}…, expected ${wanted.slice(0, 12)}…)`);
  }
  done({ size, sha256: actual });
}

export const notFound = (key: string) => new TunehiveError('TH_ERR_ARTIFACT_NOT_FOUND', `no artifact ${JSON.stringify(key.slice(0, 300))}`, [{ field: 'path', reason: 'no such artifact' }]);
