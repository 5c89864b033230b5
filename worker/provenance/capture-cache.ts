/**
 * What provenance capture reads from disk, shared by the attempts of one agent. Without it a
 * burst of short trials in one checkout ran four git processes and walked the tree for DVC
 * files per trial: four of the five processes a `/bin/echo` trial cost were git's.
 *
 * * A working directory's git state and DVC hashes are captured at most once per `freshMs`
 *   (1 s): an attempt that starts within that time of a capture (still running or done) gets
 *   its answer. Capture already ran beside the program, so a record was never more exact than
 *   "around the start"; this bounds how far around. A rerun's check bypasses the cache (it
 *   compares against the record before anything runs, so it reads the disk itself).
 * * A data file's SHA-256 is kept while the file is the same one, unchanged: same device,
 *   inode, size, mtime and ctime (ctime moves on every write, even one that restores mtime).
 *   A file changed while it was hashed is not kept.
 */
export interface FileIdentity { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }

export const CODE_FRESH_MS = 1000;
/** Bounds: directories (each a key per kind of capture) and file hashes kept. */
const MAX_CAPTURES = 256;
const MAX_FILE_HASHES = 10_000;

const identityKey = (file: string, s: FileIdentity) => `${file}\0${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;

export class CaptureCache {
  private readonly captures = new Map<string, { at: number; value: Promise<unknown> }>();
  private readonly hashes = new Map<string, { hex: string; bytes: number }>();
  private readonly freshMs: number;
  private readonly now: () => number;

  constructor(o: { freshMs?: number; now?: () => number } = {}) {
    this.freshMs = o.freshMs ?? CODE_FRESH_MS;
    this.now = o.now ?? Date.now;
  }

  /** `capture()`'s answer for `key`, from a capture started at most `freshMs` ago when there is one. */
  shared<T>(key: string, capture: () => Promise<T>): Promise<T> {
    const now = this.now();
    const hit = this.captures.get(key);
    if (hit && now - hit.at <= this.freshMs) return hit.value as Promise<T>;
    const value = capture();
    // Re-inserted last: the first key of the map is the least recently captured.
    this.captures.delete(key);
    this.captures.set(key, { at: now, value });
    if (this.captures.size > MAX_CAPTURES) this.captures.delete(this.captures.keys().next().value!);
    value.catch(() => {
      if (this.captures.get(key)?.value === value) this.captures.delete(key);
    });
    return value;
  }

  /** The hash of `file` when it was hashed as this same, unchanged file. */
  fileHash(file: string, s: FileIdentity): { hex: string; bytes: number } | undefined {
    const key = identityKey(file, s);
    const hit = this.hashes.get(key);
    if (hit) {
      this.hashes.delete(key);
      this.hashes.set(key, hit);
    }
    return hit;
  }

  /** Keeps a hash, unless the file changed between `before` (its stat when hashing began) and `after`. */
  keepFileHash(file: string, before: FileIdentity, after: FileIdentity, hash: { hex: string; bytes: number }): void {
    const key = identityKey(file, before);
    if (key !== identityKey(file, after) || hash.bytes !== before.size) return;
    this.hashes.set(key, hash);
    if (this.hashes.size > MAX_FILE_HASHES) this.hashes.delete(this.hashes.keys().next().value!);
  }
}
