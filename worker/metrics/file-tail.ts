/**
 * Follows a file a trial program writes its metrics to (Katib's File collector), while the
 * program runs: polls it, reads what was appended since the last read and hands the bytes on
 * (a LineSplitter bounds the lines). What the file held before the program started is skipped
 * (Katib's paths are fixed, such as /var/log/katib/metrics.log, and a previous trial on this
 * machine may have left one); a file replaced or truncated by the program is read from its
 * start again. Polling rather than fs.watch: watch events are not delivered on every file
 * system (network mounts, some containers), a poll is.
 */
import { open, stat } from 'node:fs/promises';

const CHUNK = 64 * 1024;
/** Bytes read per poll: a program writing faster is caught up over the next polls. */
const MAX_PER_POLL = 4 * 1024 * 1024;

export class FileTail {
  private offset = 0;
  private ino = -1;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly file: string, private readonly onData: (chunk: Buffer) => void, private readonly intervalMs = 100) {}

  /** Records where the file stands now (its old content is skipped) and starts polling. */
  async start(): Promise<void> {
    const s = await stat(this.file).catch(() => undefined);
    if (s) {
      this.offset = s.size;
      this.ino = s.ino;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.reading = this.readNew().then(() => undefined, () => undefined).finally(() => this.schedule());
    }, this.intervalMs);
  }

  /** Stops polling after one last read of everything the file holds (the program has exited). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.reading;
    for (let i = 0; i < 1_000_000; i++) if (!(await this.readNew())) break;
  }

  /** Stops polling at once (an attempt that ends abnormally). */
  cancel(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Reads up to MAX_PER_POLL new bytes; true when more may be waiting. */
  private async readNew(): Promise<boolean> {
    let fh;
    try {
      fh = await open(this.file, 'r');
    } catch {
      return false;
    }
    try {
      const s = await fh.stat();
      if (s.ino !== this.ino || s.size < this.offset) {
        // A new file at the path, or the old one cut short: its content is the program's.
        if (this.ino !== -1 || s.size < this.offset) this.offset = 0;
        this.ino = s.ino;
      }
      const end = Math.min(s.size, this.offset + MAX_PER_POLL);
      const buf = Buffer.allocUnsafe(CHUNK);
      while (this.offset < end) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - this.offset), this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.onData(Buffer.from(buf.subarray(0, bytesRead)));
      }
      return end < s.size;
    } finally {
      await fh.close();
    }
  }
}

/**
 * Trials on this agent that follow the same file take turns: Katib's paths are fixed (every
 * trial of an experiment writes /var/log/katib/metrics.log), and two programs appending to one
 * file at once would each be credited with the other's reports. A pod had a file of its own.
 */
const claims = new Map<string, Promise<void>>();

export async function claimFile(file: string, abort?: AbortSignal): Promise<() => void> {
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const before = claims.get(file);
  const tail = before ? before.then(() => mine) : mine;
  claims.set(file, tail);
  const done = () => {
    release();
    if (claims.get(file) === tail) claims.delete(file);
  };
  if (before && !abort?.aborted) {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => abort?.addEventListener('abort', (onAbort = () => resolve()), { once: true }));
    await Promise.race([before, aborted]);
    if (onAbort) abort?.removeEventListener('abort', onAbort);
  }
  return done;
}
