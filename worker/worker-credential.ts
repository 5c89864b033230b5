/**
 * The agent's own credential. Obtained once by exchanging a join token (`Join`), kept in memory,
 * and saved (mode 0600) in the work dir so a restarted agent needs no join token again. The
 * join token is used once and never written anywhere.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { HardwareMsg, JoinReply, JoinRequest } from '../shared/proto.js';

export interface WorkerIdentity { workerId: string; credential: string; projects: string[] }

export const CREDENTIAL_FILE = 'worker-credential.json';

type JoinClient = { join(req: JoinRequest, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: JoinReply) => void): void };

/** Join refusals that no retry heals (a bad, expired or used-up token; a bad id). */
const PERMANENT = new Set<number>([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.INVALID_ARGUMENT, grpc.status.FAILED_PRECONDITION]);

export class JoinRefused extends Error {
  override name = 'JoinRefused';
}

function join(client: grpc.Client, req: JoinRequest, timeoutMs: number): Promise<JoinReply> {
  return new Promise((resolve, reject) => {
    (client as unknown as JoinClient).join(req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

export async function readSavedIdentity(workDir: string): Promise<WorkerIdentity | undefined> {
  try {
    const raw = JSON.parse(await readFile(path.join(workDir, CREDENTIAL_FILE), 'utf8')) as Partial<WorkerIdentity>;
    if (typeof raw.workerId === 'string' && typeof raw.credential === 'string' && Array.isArray(raw.projects)) {
      return { workerId: raw.workerId, credential: raw.credential, projects: raw.projects.map(String) };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${path.join(workDir, CREDENTIAL_FILE)}: ${(err as Error).message}`);
  }
  return undefined;
}

async function save(workDir: string, id: WorkerIdentity): Promise<void> {
  const file = path.join(workDir, CREDENTIAL_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  // Created 0600 (not chmod-ed after): no moment where another user could read it.
  await writeFile(tmp, JSON.stringify(id), { mode: 0o600, flag: 'w' });
  await rename(tmp, file);
}

/** A credential the coordinator refused is of no use again: the next start must join anew. */
export async function forgetSavedIdentity(workDir: string): Promise<void> {
  await rm(path.join(workDir, CREDENTIAL_FILE), { force: true });
}

/**
 * The saved identity (when it is for the asked worker id, or none was asked), else a join with
 * the join token, retried while the coordinator is unreachable (up to `giveUpMs`).
 */
export async function obtainIdentity(o: {
  client: grpc.Client; workDir: string; workerId: string; explicitId: boolean; joinToken?: string; hardware?: HardwareMsg; log: Logger;
  persist: boolean; giveUpMs?: number; signal?: AbortSignal;
}): Promise<WorkerIdentity> {
  if (o.persist) {
    const saved = await readSavedIdentity(o.workDir);
    if (saved && (!o.explicitId || saved.workerId === o.workerId)) return saved;
  }
  if (!o.joinToken) {
    throw new JoinRefused('this worker has no credential yet: give it a join token in TUNEHIVE_JOIN_TOKEN (or --join-token), e.g. the coordinator\'s TUNEHIVE_WORKER_JOIN_TOKEN or one from `tunehive token create --kind worker-join`');
  }
  const deadline = Date.now() + (o.giveUpMs ?? 10 * 60_000);
  let delay = 200;
  for (;;) {
    try {
      const r = await join(o.client, { joinToken: o.joinToken, workerId: o.workerId, ...(o.hardware ? { hardware: o.hardware } : {}) }, 10_000);
      const id: WorkerIdentity = { workerId: r.workerId, credential: r.credential, projects: r.projects };
      if (o.persist) await save(o.workDir, id);
      if (r.workerId !== o.workerId) o.log.warn({ asked: o.workerId, workerId: r.workerId }, 'the worker id was taken; the coordinator gave this worker another');
      return id;
    } catch (err) {
      const e = err as grpc.ServiceError;
      if (PERMANENT.has(e.code)) throw new JoinRefused(`the coordinator refused to join this worker: ${e.details || e.message}`);
      if (Date.now() + delay > deadline || o.signal?.aborted) throw new Error(`could not join: the coordinator is unreachable (${e.details || e.message})`);
      o.log.warn({ err: e.details || e.message, retryInMs: delay }, 'coordinator unreachable; joining again shortly');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
