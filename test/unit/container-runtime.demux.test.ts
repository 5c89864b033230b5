import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { DockerLogDemuxer, dockerFrame } from '../../worker/runtime/docker/demux.js';

async function demux(chunks: Buffer[]): Promise<{ out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  await pipeline(Readable.from(chunks), new DockerLogDemuxer({ stdout, stderr }));
  return { out, err };
}

const stream = Buffer.concat([
  dockerFrame(1, 'epoch=1 loss=0.5\n'),
  dockerFrame(2, 'Traceback (most recent call last):\n'),
  dockerFrame(1, ''),
  dockerFrame(1, 'épоch=2 ✓\n'), // multi-byte characters split across chunks must survive
  dockerFrame(2, 'boom\n'),
]);

describe('DockerLogDemuxer', () => {
  it('splits frames whatever the chunking', async () => {
    const expected = { out: 'epoch=1 loss=0.5\népоch=2 ✓\n', err: 'Traceback (most recent call last):\nboom\n' };
    expect(await demux([stream])).toEqual(expected);
    expect(await demux([...stream].map((b) => Buffer.from([b])))).toEqual(expected); // byte by byte
    for (const cut of [1, 7, 8, 9, 30, stream.length - 1]) {
      expect(await demux([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
  });

  it('passes a TTY (unframed) stream through to stdout', async () => {
    expect(await demux([Buffer.from('plain text\n'), Buffer.from('more\n')])).toEqual({ out: 'plain text\nmore\n', err: '' });
  });

  it('keeps the part of a frame cut off at the end', async () => {
    const cut = dockerFrame(2, 'half of a line').subarray(0, 12);
    expect(await demux([dockerFrame(1, 'ok\n'), cut])).toEqual({ out: 'ok\n', err: 'half' });
  });

  it('fails on a corrupt header after valid frames', async () => {
    await expect(demux([dockerFrame(1, 'ok\n'), Buffer.from('garbage!')])).rejects.toThrow(/corrupt Docker log frame/);
  });

  it('holds the source back while a reader is slow', async () => {
    const stdout = new PassThrough({ highWaterMark: 16 });
    const stderr = new PassThrough();
    const d = new DockerLogDemuxer({ stdout, stderr });
    const big = dockerFrame(1, 'x'.repeat(1000));
    let finished = false;
    const done = pipeline(Readable.from([big, dockerFrame(1, 'tail\n')]), d).then(() => (finished = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(finished).toBe(false); // nobody read stdout yet
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    await done;
    expect(out).toBe(`${'x'.repeat(1000)}tail\n`);
  });
});
