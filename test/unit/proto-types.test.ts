/**
 * shared/generated holds the gRPC message types generated from proto/tunehive/v1/trials.proto
 * by proto-loader-gen-types (`npm run proto:types`). Re-generating them into a temporary folder
 * must give the committed files byte for byte: a .proto edited without re-generating fails here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const COMMITTED = 'shared/generated';

function files(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full, base) : [path.relative(base, full)];
  }).sort();
}

/** The generator's arguments exactly as the npm script gives them, with another output folder. */
function generatorArgs(outDir: string): string[] {
  const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts['proto:types']!;
  const command = script.split('&&').map((s) => s.trim()).find((s) => s.startsWith('proto-loader-gen-types'))!;
  const args = command.split(/\s+/).slice(1);
  const o = args.indexOf('-O');
  expect(args[o + 1]).toBe(COMMITTED);
  args[o + 1] = outDir;
  return args;
}

describe('generated gRPC types', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'tunehive-proto-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('are up to date with the .proto', () => {
    execFileSync(path.resolve('node_modules/.bin/proto-loader-gen-types'), generatorArgs(tmp), { stdio: 'pipe' });
    const fresh = files(tmp);
    expect(fresh.length).toBeGreaterThan(5);
    expect(files(COMMITTED)).toEqual(fresh);
    for (const f of fresh) expect(readFileSync(path.join(COMMITTED, f), 'utf8'), f).toBe(readFileSync(path.join(tmp, f), 'utf8'));
  });

  it('are generated with the options the loader uses (numbers for longs, enum names, defaults)', () => {
    const args = generatorArgs(tmp);
    expect(args).toEqual(expect.arrayContaining(['--longs=Number', '--enums=String', '--defaults']));
    expect(args).not.toContain('--keepCase');
    const loader = readFileSync('shared/proto.ts', 'utf8');
    expect(loader).toMatch(/longs: Number, enums: String, defaults: true, oneofs: false, keepCase: false/);
  });
});
