/**
 * Splits a program's output byte stream into lines of at most `maxBytes` bytes. The part of a
 * line beyond the cap is dropped as it arrives and counted, never buffered: a program printing
 * 600 MiB without a newline must cost the agent no more than the cap (readline kept the whole
 * line and crashed the agent with "Invalid string length").
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private held = 0;
  /** Bytes dropped from the line being read. */
  private dropping = 0;
  truncatedLines = 0;
  droppedBytes = 0;
  /** The most bytes ever held for one line (for tests and diagnostics). */
  maxHeld = 0;

  constructor(private readonly maxBytes: number, private readonly onLine: (line: string, truncated: boolean) => void) {
    if (!(maxBytes >= 1)) throw new Error(`line cap must be at least 1 byte (got ${maxBytes})`);
  }

  /**
   * Feeds a chunk. When `blocked` answers true after a line, splitting stops there and the
   * unread rest of the chunk is returned, to be pushed again once the reader may go on.
   */
  push(chunk: Buffer | string, blocked?: () => boolean): Buffer | undefined {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      if (nl !== -1 && this.held === 0 && this.dropping === 0 && nl - start <= this.maxBytes) {
        // The whole line is inside this chunk (nearly every line): decoded where it lies,
        // without the copy and concatenation a line spread over chunks needs.
        const line = buf.toString('utf8', start, nl);
        this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line, false);
      } else {
        this.take(buf, start, nl === -1 ? buf.length : nl);
        if (nl === -1) return undefined;
        this.emitLine();
      }
      start = nl + 1;
      if (start < buf.length && blocked?.()) return buf.subarray(start);
    }
    return undefined;
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.held > 0 || this.dropping > 0) this.emitLine();
  }

  private take(buf: Buffer, start: number, end: number): void {
    const n = Math.min(this.maxBytes - this.held, end - start);
    if (n > 0) {
      // A copy: a view would keep the whole (up to 64 KiB) chunk alive for a few bytes.
      this.parts.push(Buffer.from(buf.subarray(start, start + n)));
      this.held += n;
      this.maxHeld = Math.max(this.maxHeld, this.held);
    }
    this.dropping += end - start - Math.max(n, 0);
  }

  private emitLine(): void {
    let line = Buffer.concat(this.parts, this.held).toString('utf8');
    const truncated = this.dropping > 0;
    if (truncated) {
      this.truncatedLines++;
      this.droppedBytes += this.dropping;
    }
    this.parts = [];
    this.held = 0;
    this.dropping = 0;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.onLine(line, truncated);
  }
}
