/**
 * Programs the operating system refuses to start: the process runtime reports each as a
 * start error on `exited` and never throws out of `launch` (an exception there is taken for a
 * lost worker and retried until the trial's retries are gone).
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_ARG_STRLEN } from '../../worker/runtime/launch-check.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import type { LaunchSpec } from '../../worker/runtime/runtime.js';

const rt = new ProcessRuntime();
const spec = (argv: string[], env: Record<string, string> = {}): LaunchSpec => ({ trialId: 't-1', argv, env, checkpointDir: os.tmpdir(), gpus: [] });
const node = process.execPath;

async function startError(s: LaunchSpec): Promise<string> {
  let program;
  expect(() => (program = rt.launch(s))).not.toThrow();
  const exit = await program!.exited;
  expect(exit.code).toBeNull();
  expect(exit.startError).toBeTypeOf('string');
  // Nothing was started, so a stop must not hang or throw either.
  await expect(program!.stop(100)).resolves.toEqual(exit);
  return exit.startError!;
}

describe('process runtime: start errors', () => {
  it('a NUL byte in an argument', async () => {
    const why = await startError(spec([node, '-e', 'console.log(1)', 'a\0b']));
    expect(why).toBe(`cannot start ${JSON.stringify(node)}: argument 3 of the trial command contains a NUL byte, which no program can receive`);
  });

  it('a NUL byte in the program name', async () => {
    expect(await startError(spec(['/bin/ec\0ho']))).toMatch(/argument 0 .* NUL byte/);
  });

  it('a NUL byte in an environment value, and a name with "="', async () => {
    expect(await startError(spec([node, '-e', ''], { SECRET: 'x\0y' }))).toMatch(/environment variable "SECRET" contains a NUL byte/);
    expect(await startError(spec([node, '-e', ''], { 'A=B': 'x' }))).toMatch(/environment variable name "A=B" is not valid/);
  });

  it('one 200 kB argument (over MAX_ARG_STRLEN) is E2BIG, named by its index and size', async () => {
    const why = await startError(spec([node, '-e', '', 'x'.repeat(200_000)]));
    expect(why).toBe(`cannot start ${JSON.stringify(node)}: argument 3 is 200001 bytes; Linux takes at most ${MAX_ARG_STRLEN} bytes per argument or variable (E2BIG)`);
  });

  it('arguments each under the per-argument limit, repeated until the whole list is E2BIG', async () => {
    const arg = 'y'.repeat(100_000);
    const argv = [node, '-e', ''];
    // ARG_MAX is a quarter of the stack limit (2 MiB by default); 64 MiB exceeds any default.
    while (argv.length < 3 + 640) argv.push(arg);
    expect(await startError(spec(argv))).toMatch(/the arguments and environment total \d+ bytes, more than the system allows \(E2BIG/);
  });

  it('a huge environment is E2BIG too', async () => {
    const env: Record<string, string> = {};
    for (let i = 0; i < 640; i++) env[`BIG_${i}`] = 'z'.repeat(100_000);
    expect(await startError(spec([node, '-e', ''], env))).toMatch(/E2BIG/);
    expect(await startError(spec([node, '-e', ''], { ONE: 'z'.repeat(200_000) }))).toMatch(/environment variable "ONE" is \d+ bytes; Linux takes at most/);
  });

  it('a missing program (ENOENT) and one that is not executable (EACCES)', async () => {
    expect(await startError(spec(['/no/such/program']))).toMatch(/^cannot start "\/no\/such\/program": spawn \/no\/such\/program ENOENT/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-eacces-'));
    const file = path.join(dir, 'not-executable.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    expect(await startError(spec([file]))).toMatch(/EACCES/);
  });

  it('an empty command', async () => {
    expect(await startError(spec([]))).toMatch(/the trial command is empty/);
    expect(await startError(spec(['']))).toMatch(/names no program/);
  });

  it('a program that starts is unaffected', async () => {
    const p = rt.launch(spec([node, '-e', 'process.exit(4)', 'x'.repeat(100_000)]));
    expect(await p.exited).toEqual({ code: 4, signal: null });
  });
});
