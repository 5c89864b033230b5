/** Worker agents as real child processes (the `tunehive worker` command), so tests can kill -9 them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEST_ADMIN_TOKEN, TEST_JOIN_TOKEN } from './tokens.js';

export function spawnWorker(o: { redisUrl: string; prefix: string; coordinator: string; id: string; slots?: number; extra?: string[]; env?: Record<string, string>; workDir?: string; cwd?: string }): ChildProcess {
  const workDir = o.workDir ?? mkdtempSync(path.join(os.tmpdir(), `tunehive-${o.id}-`));
  const child = spawn(process.execPath, [
    path.resolve('bin/tunehive.mjs'), 'worker', '--prefix', o.prefix, '--coordinator', o.coordinator,
    '--slots', String(o.slots ?? 1), '--id', o.id, '--work-dir', workDir, '--lock-ms', '2000', '--heartbeat-ms', '500', '--grace-ms', '3000', ...(o.extra ?? []),
  // The URL carries a password: by environment, never in argv (the CLI refuses that).
  ], { stdio: ['ignore', 'ignore', process.env.TEST_LOG_LEVEL ? 'inherit' : 'ignore'], env: { ...process.env, REDIS_URL: o.redisUrl, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', TUNEHIVE_JOIN_TOKEN: TEST_JOIN_TOKEN, ...o.env }, ...(o.cwd ? { cwd: o.cwd } : {}) });
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function killAll(children: ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(children.map(exited));
}

/** The digits trainer, slowed down so a test can act mid-trial; it checkpoints every epoch. */
export const slowTrainer = (epochs: number) => ({
  command: [process.execPath, '--import', 'tsx', path.resolve('examples/digits/train.ts'), '--lr', '${params.lr}', '--hidden', '32', '--epochs', String(epochs), '--batch-size', '32', '--l2', '1e-4'],
  env: { TUNEHIVE_EPOCH_DELAY_MS: '400' },
});

/** A coordinator as a child process (`tunehive coordinator`), so tests can kill -9 it. */
export function spawnCoordinator(o: { redisUrl: string; prefix: string; httpPort: number; grpcPort: number; checkpointDir: string; extra?: string[] }): ChildProcess {
  return spawn(process.execPath, [
    path.resolve('bin/tunehive.mjs'), 'coordinator', '--prefix', o.prefix, '--http-port', String(o.httpPort), '--grpc-port', String(o.grpcPort),
    '--checkpoint-dir', o.checkpointDir, '--lease-ms', '3000', '--reconcile-ms', '500', ...(o.extra ?? []),
  ], { stdio: ['ignore', 'ignore', process.env.TEST_LOG_LEVEL ? 'inherit' : 'ignore'], env: { ...process.env, REDIS_URL: o.redisUrl, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', TUNEHIVE_ADMIN_TOKEN: TEST_ADMIN_TOKEN, TUNEHIVE_WORKER_JOIN_TOKEN: TEST_JOIN_TOKEN } });
}

/** Resolves once an HTTP endpoint answers (a started server), or throws at the deadline. */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs the tunehive CLI to its exit and gives what a person would see. `env` is added to the
 * test's environment (a name set to undefined is removed); stdin gets `stdin`, then ends.
 */
export function runCli(args: string[], o: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...o.env };
    for (const [k, v] of Object.entries(o.env ?? {})) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [path.resolve('bin/tunehive.mjs'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], cwd: o.cwd ?? process.cwd() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.stdin ?? '');
  });
}
