/** The checkpoint folder writer both ends of a transfer use: a torn or tampered folder is refused. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointFolderWriter, listCheckpointFiles, safeRelativePath } from '../../shared/checkpoint-files.js';

const sha = (...parts: string[]) => createHash('sha256').update(parts.join('')).digest('hex');
const dir = () => mkdtempSync(path.join(os.tmpdir(), 'tunehive-ckf-'));

describe('checkpoint folder writer', () => {
  it('writes every announced file, empty ones included, and lists them back', async () => {
    const d = dir();
    const w = new CheckpointFolderWriter(d, [{ path: 'a/model.bin', size: 5 }, { path: 'empty', size: 0 }, { path: 'z.json', size: 2 }]);
    await w.write(0, Buffer.from('hel'));
    await w.write(0, Buffer.from('lo'));
    await w.write(2, Buffer.from('{}'));
    await w.finish(sha('hello', '{}'));
    expect(readFileSync(path.join(d, 'a/model.bin'), 'utf8')).toBe('hello');
    expect(existsSync(path.join(d, 'empty'))).toBe(true);
    expect(await listCheckpointFiles(d)).toEqual([{ path: 'a/model.bin', size: 5 }, { path: 'empty', size: 0 }, { path: 'z.json', size: 2 }]);
  });

  it('refuses a short file, a wrong checksum, a missing checksum and chunks out of order', async () => {
    const short = new CheckpointFolderWriter(dir(), [{ path: 'm', size: 4 }]);
    await short.write(0, Buffer.from('abc'));
    await expect(short.finish(sha('abc'))).rejects.toThrow('file m: 3 of 4 bytes arrived');
    const tampered = new CheckpointFolderWriter(dir(), [{ path: 'm', size: 3 }]);
    await tampered.write(0, Buffer.from('abd'));
    await expect(tampered.finish(sha('abc'))).rejects.toThrow(/checksum mismatch/);
    const unsigned = new CheckpointFolderWriter(dir(), [{ path: 'm', size: 1 }]);
    await unsigned.write(0, Buffer.from('x'));
    await expect(unsigned.finish(undefined)).rejects.toThrow(/without its checksum/);
    const order = new CheckpointFolderWriter(dir(), [{ path: 'a', size: 1 }, { path: 'b', size: 1 }]);
    await order.write(1, Buffer.from('b'));
    await expect(order.write(0, Buffer.from('a'))).rejects.toThrow(/out of order/);
    order.abort();
    const big = new CheckpointFolderWriter(dir(), [{ path: 'a', size: 1 }]);
    await expect(big.write(0, Buffer.from('ab'))).rejects.toThrow(/larger than announced/);
    big.abort();
  });

  it('never writes outside its folder', () => {
    for (const p of ['../etc/passwd', '/abs', 'a/../../b', 'a//b', '', 'a\\b']) expect(safeRelativePath(p)).toBeUndefined();
    expect(() => new CheckpointFolderWriter(dir(), [{ path: '../escape', size: 1 }])).toThrow(/unsafe checkpoint path/);
  });
});
