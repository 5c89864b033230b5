/**
 * Checkpoint folders on disk, the same way at both ends of a transfer: the one rule for paths
 * inside a checkpoint, the listing of a folder, and the writer that turns a stream of chunks
 * into a folder whose sizes and SHA-256 are checked before anyone may use it.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface CheckpointFileInfo { path: string; size: number }

/** Relative, '/'-separated, no '..' and not absolute: a checkpoint can never write outside its folder. */
export function safeRelativePath(p: string): string | undefined {
  if (p === '' || p.includes('\0') || p.startsWith('/') || p.includes('\\')) return undefined;
  const parts = p.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return parts.join(path.sep);
}

/** A listed file with what identifies its content without reading it. */
export interface CheckpointEntry extends CheckpointFileInfo { mtimeMs: number; ino: number; dev: number }

/**
 * Every regular file below `root` (symbolic links are never followed nor listed), sorted; a
 * program's temp files (`*.tmp`) are not part of a checkpoint. A missing root is an empty
 * folder; any other error fails the listing (a checkpoint missing files must never be made).
 * With `limit`, the listing stops once it holds more than that many files.
 */
export async function listCheckpointEntries(root: string, limit = Infinity): Promise<CheckpointEntry[]> {
  const out: CheckpointEntry[] = [];
  const walk = async (rel: string) => {
    let entries;
    try {
      entries = await readdir(path.join(root, rel), { withFileTypes: true });
    } catch (err) {
      if (rel === '' && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new CheckpointTransferError(`cannot list ${rel || 'the checkpoint folder'}: ${(err as Error).message}`);
    }
    for (const e of entries) {
      if (out.length > limit) return;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.endsWith('.tmp') || e.name.startsWith('.tmp')) continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        const st = await lstat(path.join(root, r));
        out.push({ path: r, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev });
      }
    }
  };
  await walk('');
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every regular file below `root` with its size, sorted (see listCheckpointEntries). */
export async function listCheckpointFiles(root: string): Promise<CheckpointFileInfo[]> {
  return (await listCheckpointEntries(root)).map(({ path: p, size }) => ({ path: p, size }));
}

export class CheckpointTransferError extends Error {}

/**
 * Writes the announced files into `dir` from chunks that arrive in file order. `finish` checks
 * every size and the SHA-256 over all bytes; the caller renames `dir` into place only then.
 */
export class CheckpointFolderWriter {
  private readonly hash = createHash('sha256');
  private readonly written: number[];
  private readonly rels: string[];
  private current = -1;
  private out: ReturnType<typeof createWriteStream> | undefined;

  constructor(private readonly dir: string, private readonly files: CheckpointFileInfo[]) {
    this.written = files.map(() => 0);
    this.rels = files.map((f) => {
      const rel = safeRelativePath(f.path);
      if (!rel) throw new CheckpointTransferError(`unsafe checkpoint path ${JSON.stringify(f.path)}`);
      return rel;
    });
  }

  async write(fileIndex: number, data: Buffer): Promise<void> {
    if (fileIndex < this.current || fileIndex >= this.files.length) throw new CheckpointTransferError(`chunk for file ${fileIndex} out of order`);
    // Files with no bytes get no chunks: create every file up to this one.
    while (this.current < fileIndex) await this.open(this.current + 1);
    this.written[fileIndex]! += data.length;
    if (this.written[fileIndex]! > this.files[fileIndex]!.size) throw new CheckpointTransferError(`file ${this.files[fileIndex]!.path} is larger than announced`);
    this.hash.update(data);
    if (!this.out!.write(data)) await once(this.out!, 'drain');
  }

  async finish(expectedSha256: string | undefined): Promise<void> {
    while (this.current < this.files.length - 1) await this.open(this.current + 1);
    await this.close();
    if (!expectedSha256) throw new CheckpointTransferError('the transfer ended without its checksum');
    this.files.forEach((f, i) => {
      if (this.written[i] !== f.size) throw new CheckpointTransferError(`file ${f.path}: ${this.written[i]} of ${f.size} bytes arrived`);
    });
    const actual = this.hash.digest('hex');
    if (actual !== expectedSha256) throw new CheckpointTransferError(`checksum mismatch (got ${actual.slice(0, 12)}…, expected ${expectedSha256.slice(0, 12)}…)`);
  }

  /** Releases the open file after a failure (the caller removes `dir`). */
  abort(): void {
    this.out?.destroy();
    this.out = undefined;
  }

  private async open(i: number): Promise<void> {
    await this.close();
    const target = path.join(this.dir, this.rels[i]!);
    await mkdir(path.dirname(target), { recursive: true });
    this.out = createWriteStream(target);
    this.current = i;
  }

  private async close(): Promise<void> {
    if (this.out) {
      this.out.end();
      await once(this.out, 'close');
      this.out = undefined;
    }
  }
}
