/**
 * Every runtime through one suite: the process runtime for real, and the container runtime
 * against a FAKE Docker engine (fake-docker-engine.ts: no engine runs here; it execs the Cmd as a
 * real child process). argv reaches the program without a shell, the environment is visible,
 * stdout and stderr are read apart, exit codes and signals are reported, stop() is SIGTERM then
 * SIGKILL after the grace period, `exited` never rejects and `launch` never throws: a program
 * that cannot start is a start error.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerRuntime } from '../../worker/runtime/container-runtime.js';
import { ProcessRuntime } from '../../worker/runtime/process-runtime.js';
import { SimulatedRuntime } from '../../worker/runtime/simulated-runtime.js';
import type { LaunchSpec, RunningProgram, Runtime } from '../../worker/runtime/runtime.js';
import { waitFor } from '../helpers/env.js';
import { FakeDockerEngine } from './fake-docker-engine.js';

const node = process.execPath;
const spec = (argv: string[], env: Record<string, string> = {}): LaunchSpec => ({ trialId: 'rt-1', argv, env, checkpointDir: os.tmpdir(), gpus: [], image: 'trainer:1' });

/** Everything a stream carries, readable at any time; `done` once it has ended. */
function reader(r: Readable) {
  const state = { text: '', ended: false };
  r.setEncoding('utf8');
  r.on('data', (d: string) => (state.text += d));
  const done = new Promise<string>((resolve) => r.on('end', () => { state.ended = true; resolve(state.text); }));
  return Object.assign(state, { done });
}

function run(rt: Runtime, s: LaunchSpec) {
  let program!: RunningProgram;
  expect(() => (program = rt.launch(s))).not.toThrow();
  return { program, out: reader(program.stdout), err: reader(program.stderr) };
}

interface Harness { name: string; start(): Promise<Runtime>; stop(): Promise<void> }
let engine: FakeDockerEngine | undefined;
const HARNESSES: Harness[] = [
  { name: 'process', start: async () => new ProcessRuntime(), stop: async () => {} },
  {
    name: 'container (fake engine)',
    start: async () => {
      engine = new FakeDockerEngine();
      const port = await engine.listen();
      return new ContainerRuntime({ env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` }, agentId: 'conformance', pull: 'never', drainTimeoutMs: 2000 });
    },
    stop: async () => engine?.close(),
  },
];

describe.each(HARNESSES.map((h) => [h.name, h] as const))('runtime %s', (_, h) => {
  let rt: Runtime;
  beforeAll(async () => { rt = await h.start(); });
  afterAll(async () => h.stop());

  it('passes argv to the program as is, with no shell', async () => {
    const args = ['$(touch /tmp/tunehive-pwned)', '; rm -rf / #', '*', "it's \"quoted\"", '', '  spaced  ', '${HOME}', 'é日本'];
    const { program, out } = run(rt, spec([node, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', ...args]));
    expect(await program.exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(await out.done)).toEqual(args);
  });

  it('gives the program its environment', async () => {
    const env = { TRIAL_FOO: 'bar baz', TRIAL_JSON: '{"lr":0.01}', TRIAL_EMPTY: '' };
    const { program, out } = run(rt, spec([node, '-e', 'const e = process.env; console.log(JSON.stringify([e.TRIAL_FOO, e.TRIAL_JSON, e.TRIAL_EMPTY]))'], env));
    await program.exited;
    expect(JSON.parse(await out.done)).toEqual(['bar baz', '{"lr":0.01}', '']);
  });

  it('names the image digest it ran (container runtimes; provenance), or none (process)', async () => {
    const { program } = run(rt, spec([node, '-e', 'setTimeout(() => {}, 200)']));
    const digest = await program.imageDigest;
    await program.exited;
    // The fake engine's inspect answers RepoDigests trainer@sha256:ddd...; the process runtime runs no image.
    expect(digest).toEqual(h.name.startsWith('container') ? { digest: `sha256:${'d'.repeat(64)}`, pinned: `trainer@sha256:${'d'.repeat(64)}` } : undefined);
  });

  it('keeps stdout and stderr apart, a MiB of output included, and reports the exit code', async () => {
    const { program, out, err } = run(rt, spec([node, '-e', 'process.stdout.write("o".repeat(1 << 20) + "\\n"); console.error("to stderr"); console.log("last line"); process.exitCode = 7']));
    expect(await program.exited).toEqual({ code: 7, signal: null });
    const stdout = await out.done;
    expect(stdout).toBe(`${'o'.repeat(1 << 20)}\nlast line\n`);
    expect(await err.done).toBe('to stderr\n');
  });

  it('reports a program killed by a signal', async () => {
    const { program } = run(rt, spec([node, '-e', 'process.kill(process.pid, "SIGKILL")']));
    expect(await program.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('stop(): SIGTERM first, which a program may answer by exiting cleanly', async () => {
    const { program, out } = run(rt, spec([node, '-e', 'process.on("SIGTERM", () => { console.log("saving"); process.exit(0) }); console.log("ready"); setInterval(() => {}, 1000)']));
    await waitFor(() => out.text.includes('ready'), 10_000, 'the program to start');
    expect(await program.stop(20_000)).toEqual({ code: 0, signal: null });
    expect(await out.done).toBe('ready\nsaving\n');
  });

  it('stop(): SIGKILL once the grace period is over, for a program that ignores SIGTERM', async () => {
    const { program, out } = run(rt, spec([node, '-e', 'process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("ready"); setInterval(() => {}, 1000)']));
    await waitFor(() => out.text.includes('ready'), 10_000, 'the program to start');
    const t0 = Date.now();
    const exit = await program.stop(400);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    // Not before the grace period: the program had its chance (it saw SIGTERM).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    expect(await out.done).toContain('ignoring SIGTERM');
    // Asked again, or awaited again: the same answer, never a rejection.
    await expect(program.stop(400)).resolves.toEqual(exit);
    await expect(program.exited).resolves.toEqual(exit);
  });

  it('stop() right after launch, before the program runs, still ends it', async () => {
    const { program, out, err } = run(rt, spec([node, '-e', 'setInterval(() => {}, 1000)']));
    expect(await program.stop(300)).toEqual({ code: null, signal: 'SIGTERM' });
    await Promise.all([out.done, err.done]);
  });

  const startErrors: Array<[string, LaunchSpec, RegExp]> = [
    ['a NUL byte in an argument', spec([node, '-e', '', 'a\0b']), /argument 3 of the trial command contains a NUL byte/],
    ['a NUL byte in an environment value', spec([node, '-e', ''], { TRIAL_X: 'a\0b' }), /environment variable "TRIAL_X" contains a NUL byte/],
    ['a 200 kB argument (E2BIG)', spec([node, '-e', '', 'x'.repeat(200_000)]), /E2BIG|argument list too long/],
    ['a missing program (ENOENT)', spec(['/no/such/program']), /ENOENT|no such file/],
    ['an empty command', spec([]), /the trial command is empty/],
  ];
  it.each(startErrors)('reports a start error, never throws: %s', async (_, s, why) => {
    const { program, out, err } = run(rt, s);
    const exit = await program.exited;
    expect(exit.code).toBeNull();
    expect(exit.startError).toMatch(why);
    await expect(program.stop(100)).resolves.toEqual(exit);
    await Promise.all([out.done, err.done]); // the session's readers end too
  });

  it('reports a start error for a file that is not executable (EACCES)', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'tunehive-rt-')), 'train.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    const { program } = run(rt, spec([file]));
    expect((await program.exited).startError).toMatch(/EACCES|permission denied/);
  });

  it.runIf(h.name.startsWith('container'))('went through the engine and left no container running', async () => {
    expect(engine!.requests).toContain('POST /containers/create');
    await waitFor(() => engine!.live === 0, 5000, 'every container to be gone');
  });
});

/**
 * The simulated runtime runs no program, so the argv/environment/signal cases above do not
 * apply; it keeps the rest of the contract: `launch` never throws, `exited` never rejects, both
 * streams end, stop() ends it, and what it prints is metric lines from the trial's params.
 */
describe('runtime simulated (no process)', () => {
  const rt: Runtime = new SimulatedRuntime();
  const params = (p: Record<string, unknown>, env: Record<string, string> = {}) => spec(['/no/such/program'], { TUNEHIVE_PARAMS: JSON.stringify(p), ...env });

  it('is named "simulated", gives no working directory (nothing to version) and starts no process', async () => {
    expect(rt.name).toBe('simulated');
    expect(rt.context?.(params({}))).toEqual({ env: { TUNEHIVE_PARAMS: '{}' } });
    // argv names a program that does not exist: a real runtime would report ENOENT.
    const { program, out, err } = run(rt, params({ x: 1 }));
    expect(await program.exited).toEqual({ code: 0, signal: null });
    expect(await out.done).toBe('score=1\n');
    expect(await err.done).toBe('');
  });

  it('prints one line per step from the params, the objective reached on the last one, with extra points per line', async () => {
    const { program, out } = run(rt, params({ lr: 0.5, layers: 3, opt: 'adam', bn: true }, { SIMULATED_METRIC: 'loss', SIMULATED_STEPS: '4', SIMULATED_POINTS: '2' }));
    expect(await program.exited).toEqual({ code: 0, signal: null });
    expect((await out.done).split('\n')).toEqual(['loss=1.125 loss_2=3.125', 'loss=2.25 loss_2=4.25', 'loss=3.375 loss_2=5.375', 'loss=4.5 loss_2=6.5', '']);
  });

  it('takes the wall time it is given (SIMULATED_MS), then exits 0', async () => {
    const t0 = Date.now();
    const { program, out } = run(rt, params({ x: 2 }, { SIMULATED_STEPS: '3', SIMULATED_MS: '300' }));
    expect(await program.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect((await out.done).trim().split('\n')).toHaveLength(3);
  });

  it('waits for its reader (backpressure), never buffering a long trial whole', async () => {
    const launched = rt.launch(params({ x: 1 }, { SIMULATED_STEPS: '100000' }));
    await new Promise((r) => setTimeout(r, 200));
    // Nobody reads: it stops at the stream's high-water mark, far short of 100,000 lines.
    expect(launched.stdout.readableLength).toBeLessThan(64 * 1024);
    expect(await launched.stop(100)).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('stop(): ends a running trial at once, like a program with the default SIGTERM handler; asked again, the same answer', async () => {
    const { program, out, err } = run(rt, params({ x: 1 }, { SIMULATED_STEPS: '10', SIMULATED_MS: '60000' }));
    await waitFor(() => out.text.includes('score='), 5000, 'the first line');
    expect(await program.stop(10_000)).toEqual({ code: null, signal: 'SIGTERM' });
    await expect(program.stop(10)).resolves.toEqual({ code: null, signal: 'SIGTERM' });
    await expect(program.exited).resolves.toEqual({ code: null, signal: 'SIGTERM' });
    await Promise.all([out.done, err.done]);
    expect(out.text.split('\n').length).toBeLessThan(11);
  });

  it('stop() right after launch, before the first line, still ends it', async () => {
    const { program, out, err } = run(rt, params({ x: 1 }, { SIMULATED_STEPS: '5' }));
    expect(await program.stop(300)).toEqual({ code: null, signal: 'SIGTERM' });
    await Promise.all([out.done, err.done]);
    expect(out.text).toBe('');
  });

  it.each([
    ['SIMULATED_STEPS', 'many', /SIMULATED_STEPS must be an integer from 0 to 10000000/],
    ['SIMULATED_STEPS', '99999999999', /SIMULATED_STEPS must be an integer/],
    ['SIMULATED_POINTS', '0', /SIMULATED_POINTS must be an integer from 1 to 100/],
    ['SIMULATED_MS', '-5', /SIMULATED_MS must be an integer from 0/],
    ['SIMULATED_METRIC', 'a b', /SIMULATED_METRIC must be a metric name/],
  ])('refuses %s=%s as a start error, never a throw', async (name, value, why) => {
    const { program, out, err } = run(rt, params({ x: 1 }, { [name]: value }));
    const exit = await program.exited;
    expect(exit.code).toBeNull();
    expect(exit.startError).toMatch(/^cannot start the simulated trial: /);
    expect(exit.startError).toMatch(why);
    await expect(program.stop(100)).resolves.toEqual(exit);
    await Promise.all([out.done, err.done]);
  });

  it('treats params it cannot read as an objective of 0', async () => {
    const { program, out } = run(rt, spec(['x'], { TUNEHIVE_PARAMS: 'not json' }));
    await program.exited;
    expect(await out.done).toBe('score=0\n');
  });
});
