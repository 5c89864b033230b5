/**
 * Runs a helper program (git) for provenance capture: argv only (never a shell), a timeout,
 * and at most `maxBytes` of stdout kept (the rest is drained and dropped, so a huge answer costs
 * no memory and the child never blocks on a full pipe). Never throws: a missing binary, a
 * timeout or a non-zero exit is an answer the caller turns into "not captured".
 */
import { spawn } from 'node:child_process';

export interface ExecResult {
  /** Exit code; null when it could not be started, timed out or was killed. */
  code: number | null;
  stdout: string;
  /** stdout went past maxBytes (stdout holds the first maxBytes). */
  truncated: boolean;
  /** Why it did not run to an exit: `ENOENT` (no such program), `timeout`, or the spawn error. */
  failure?: string;
}

export function boundedExec(file: string, args: readonly string[], o: { cwd: string; timeoutMs: number; maxBytes: number; env?: NodeJS.ProcessEnv }): Promise<ExecResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    let failure: string | undefined;
    let settled = false;
    const done = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code: failure ? null : code, stdout: Buffer.concat(chunks).toString('utf8'), truncated, ...(failure ? { failure } : {}) });
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(file, [...args], { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'ignore'], shell: false });
    } catch (err) {
      failure = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      resolve({ code: null, stdout: '', truncated: false, failure });
      return;
    }
    const timer = setTimeout(() => {
      failure = 'timeout';
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      if (kept >= o.maxBytes) {
        truncated = true;
        return;
      }
      const part = c.subarray(0, o.maxBytes - kept);
      if (part.length < c.length) truncated = true;
      chunks.push(part);
      kept += part.length;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err.code ?? err.message;
      done(null);
    });
    child.on('close', (code) => done(code));
  });
}
