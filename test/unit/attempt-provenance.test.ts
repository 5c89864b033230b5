/**
 * The worker's per-attempt provenance: sent once captured, again when the program names its
 * data version (which wins) or the engine names the image digest; tag lines relayed once per
 * change and bounded. Real capture (a real folder and file), a recording sink.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { Provenance } from '../../shared/run-model.js';
import { AttemptProvenance, MAX_SENDS } from '../../worker/provenance/attempt-provenance.js';

const dir = mkdtempSync(path.join(tmpdir(), 'th-ap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(path.join(dir, 'd.csv'), 'x\n');

function make() {
  const sent: Provenance[] = [];
  const tags: Array<Record<string, string>> = [];
  const ap = new AttemptProvenance(
    { attempt: 2, seed: 9, command: ['train'], env: { PATH: '/bin', HF_TOKEN: 'x' }, runtime: 'container', workingDir: dir, dataFiles: ['d.csv'], image: 'trainer:1', workerId: 'w7' },
    { provenance: (j) => sent.push(JSON.parse(j) as Provenance), tags: (t) => tags.push(t) }, pino({ level: 'silent' }),
  );
  return { ap, sent, tags };
}

describe('AttemptProvenance', () => {
  it('sends the record once captured, then again for the program data version (which wins) and the image digest', async () => {
    const { ap, sent } = make();
    await ap.start();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ attempt: 2, seed: 9, workerId: 'w7', env: { PATH: '/bin' }, image: { reference: 'trainer:1' }, data: { source: 'files' } });
    expect(sent[0]!.env.HF_TOKEN).toBeUndefined();
    ap.started(1234);
    ap.control({ dataVersion: 'ds-2024-05' });
    ap.control({ dataVersion: 'ds-2024-05' });
    ap.setImageDigest(`sha256:${'e'.repeat(64)}`, `trainer@sha256:${'e'.repeat(64)}`);
    await ap.settle();
    expect(sent).toHaveLength(3);
    expect(sent[2]!.data).toMatchObject({ source: 'program', version: 'ds-2024-05', files: [{ path: 'd.csv', size: 2 }] });
    expect(sent[2]!.image).toEqual({ reference: 'trainer:1', digest: `sha256:${'e'.repeat(64)}`, pinned: `trainer@sha256:${'e'.repeat(64)}` });
    expect(sent[2]!.startedAt).toBe(1234);
  });

  it('relays a tag once per change, and stops at the tag and send caps', async () => {
    const { ap, tags } = make();
    ap.control({ tag: { key: 'a', value: '1' } });
    ap.control({ tag: { key: 'a', value: '1' } });
    ap.control({ tag: { key: 'a', value: '2' } });
    expect(tags).toEqual([{ a: '1' }, { a: '2' }]);
    // Tunehive's namespace is not the program's (the coordinator would fail the trial for it).
    ap.control({ tag: { key: 'tunehive.lifecycle_stage', value: 'deleted' } });
    expect(tags).toEqual([{ a: '1' }, { a: '2' }]);
    for (let i = 0; i < 300; i++) ap.control({ tag: { key: `k${i}`, value: 'v' } });
    // 200 distinct keys per run: 'a' and 199 more.
    expect(new Set(tags.flatMap((t) => Object.keys(t))).size).toBe(200);
    for (let i = 0; i < 2000; i++) ap.control({ tag: { key: 'a', value: String(i) } });
    expect(tags.length).toBe(MAX_SENDS.tags);
  });
});

describe('AttemptProvenance.settle', () => {
  it('cuts hashing short once the attempt has ended, recording the file as not hashed rather than holding up the exit', async () => {
    writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(32 * 1024 * 1024, 1));
    const sent: Provenance[] = [];
    const ap = new AttemptProvenance(
      { attempt: 1, seed: 1, command: ['t'], env: {}, runtime: 'process', workingDir: dir, dataFiles: ['big.bin'] },
      { provenance: (j) => sent.push(JSON.parse(j) as Provenance), tags: () => {} }, pino({ level: 'silent' }),
    );
    void ap.start();
    await ap.settle(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.data.files).toEqual([{ path: 'big.bin', size: expect.any(Number), sha256: '', error: 'not hashed: the attempt ended before it was' }]);
  });
});
