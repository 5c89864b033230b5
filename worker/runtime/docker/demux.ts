/**
 * Splits Docker's multiplexed log stream (containers created without a TTY) into stdout and
 * stderr. Each frame is an 8-byte header, [stream, 0, 0, 0, size as uint32 big-endian], then
 * `size` bytes; stream 1 is stdout, 2 stderr (0 stdin echo, 3 an engine error on attach).
 * Frames arrive split across and packed into HTTP chunks in any way, so bytes are buffered
 * until a frame is whole. A stream that does not start with a valid header was produced with a
 * TTY and is passed through raw to stdout.
 */
import { Writable } from 'node:stream';

const HEADER = 8;

export interface DemuxTargets {
  stdout: Writable;
  stderr: Writable;
}

export class DockerLogDemuxer extends Writable {
  private pending: Buffer = Buffer.alloc(0);
  private raw = false;
  private sawFrame = false;

  constructor(private readonly targets: DemuxTargets) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.raw) return this.forward([[this.targets.stdout, chunk]], done);
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Array<[Writable, Buffer]> = [];
    while (this.pending.length >= HEADER) {
      const type = this.pending[0] as number;
      if (type > 3 || this.pending[1] !== 0 || this.pending[2] !== 0 || this.pending[3] !== 0) {
        if (!this.sawFrame) {
          this.raw = true;
          out.push([this.targets.stdout, this.pending]);
          this.pending = Buffer.alloc(0);
          break;
        }
        return done(new Error(`corrupt Docker log frame header ${this.pending.subarray(0, HEADER).toString('hex')}`));
      }
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < HEADER + size) break;
      this.sawFrame = true;
      const payload = this.pending.subarray(HEADER, HEADER + size);
      this.pending = this.pending.subarray(HEADER + size);
      if (size > 0) out.push([type === 2 || type === 3 ? this.targets.stderr : this.targets.stdout, payload]);
    }
    this.forward(out, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    // A cut-off last frame (the engine died mid-write): keep what arrived rather than lose it.
    if (this.pending.length > HEADER) {
      const type = this.pending[0];
      const rest = this.pending.subarray(HEADER);
      this.pending = Buffer.alloc(0);
      return this.forward([[type === 2 || type === 3 ? this.targets.stderr : this.targets.stdout, rest]], done);
    }
    done();
  }

  /** Writes in order and holds the source back (backpressure) until slow readers drain. */
  private forward(items: Array<[Writable, Buffer]>, done: (err?: Error | null) => void): void {
    const blocked = new Set<Writable>();
    for (const [target, data] of items) {
      if (target.writableEnded || target.destroyed) continue;
      if (!target.write(data)) blocked.add(target);
    }
    if (blocked.size === 0) return done();
    let left = blocked.size;
    for (const t of blocked) {
      const go = () => {
        t.off('drain', go);
        t.off('close', go);
        if (--left === 0) done();
      };
      t.on('drain', go);
      t.on('close', go);
    }
  }
}

/** Builds one frame: for tests and fakes of the engine. */
export function dockerFrame(stream: 1 | 2, data: string | Buffer): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const header = Buffer.alloc(HEADER);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
