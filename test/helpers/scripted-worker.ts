/**
 * Hand-written workers over real gRPC for protocol tests: each joins with the test join token
 * (its own credential), and a fresh start carries a proof of delivery. The delivery is made the
 * way BullMQ makes it for a worker (the job's lock key set to a token only the holder knows),
 * because these tests drive the coordinator with no agent taking jobs.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { RedisClient } from '../../shared/redis.js';
import { keys, parseTrialId } from '../../shared/redis-keys.js';
import { trialServiceClient, type CoordinatorMessage, type JoinReply, type JoinRequest, type WorkerMessage } from '../../shared/proto.js';
import { queuePrefix, trialQueueName } from '../../shared/trial-job.js';
import type { RedisStudyStore } from '../../coordinator/store/study-store.js';
import { TEST_JOIN_TOKEN, waitFor } from './env.js';

type Duplex = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage>;

export interface ScriptedStream {
  send(m: WorkerMessage): void;
  /** The first reply matching `pred` not taken yet (waits up to 5 s). */
  next(pred: (m: CoordinatorMessage) => boolean): Promise<CoordinatorMessage>;
  /** Resolves with the status that ended the stream. */
  ended: Promise<grpc.ServiceError | undefined>;
  inbox: CoordinatorMessage[];
  end(): void;
}

export function openStream(client: grpc.Client): ScriptedStream {
  const call = (client as unknown as { runTrial(): Duplex }).runTrial();
  const inbox: CoordinatorMessage[] = [];
  call.on('data', (m: CoordinatorMessage) => inbox.push(m));
  const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
    call.on('error', (e: grpc.ServiceError) => resolve(e));
    call.on('end', () => resolve(undefined));
  });
  return {
    inbox, ended,
    send: (m) => call.write(m),
    next: async (pred) => waitFor(() => {
      const i = inbox.findIndex(pred);
      return i >= 0 ? inbox.splice(i, 1)[0] : undefined;
    }, 5000, 'a reply'),
    end: () => call.end(),
  };
}

export function joinWith(client: grpc.Client, req: JoinRequest): Promise<JoinReply> {
  return new Promise((resolve, reject) => {
    (client as unknown as { join(r: JoinRequest, cb: (e: grpc.ServiceError | null, r?: JoinReply) => void): void }).join(req, (e, r) => (e ? reject(e) : resolve(r!)));
  });
}

/** A client that sends `credential` (or nothing) on every call. */
export const clientWith = (address: string, credential?: string) => trialServiceClient(address, {}, { credential: () => credential });

export class ScriptedFleet {
  private readonly clients = new Map<string, { client: grpc.Client; credential: string }>();

  constructor(private readonly address: string, private readonly store: RedisStudyStore, private readonly joinToken = TEST_JOIN_TOKEN) {}

  private get redis(): RedisClient {
    return this.store.redis;
  }

  /** The worker's joined client (one join per worker id). */
  async client(workerId: string): Promise<grpc.Client> {
    return (await this.member(workerId)).client;
  }

  async credential(workerId: string): Promise<string> {
    return (await this.member(workerId)).credential;
  }

  private async member(workerId: string): Promise<{ client: grpc.Client; credential: string }> {
    let m = this.clients.get(workerId);
    if (!m) {
      const bare = clientWith(this.address);
      const r = await joinWith(bare, { joinToken: this.joinToken, workerId });
      bare.close();
      if (r.workerId !== workerId) throw new Error(`worker id ${workerId} was taken (got ${r.workerId})`);
      m = { client: clientWith(this.address, r.credential), credential: r.credential };
      this.clients.set(workerId, m);
    }
    return m;
  }

  async open(workerId: string): Promise<ScriptedStream> {
    return openStream(await this.client(workerId));
  }

  /**
   * Takes the trial's current queue job as BullMQ hands it to a worker: its lock set to a fresh
   * token (what a re-delivery after a stall does too).
   */
  async deliver(trialId: string, o: { gpus?: number; project?: string } = {}): Promise<{ jobId: string; jobToken: string }> {
    const ids = parseTrialId(trialId)!;
    const jobId = await waitFor(async () => (await this.store.getTrial(ids.studyId, ids.number))?.jobId, 5000, `the job of ${trialId}`);
    const jobToken = `${randomUUID()}:1`;
    await this.redis.set(keys.jobLock(queuePrefix(this.store.prefix), trialQueueName(o.project ?? 'default', o.gpus ?? 0), jobId), jobToken, 'PX', 120_000);
    return { jobId, jobToken };
  }

  /** A fresh Started with a proof of delivery (a new delivery each call unless `delivery` is given). */
  async started(trialId: string, workerId: string, o: { deliveryId?: string; delivery?: { jobId: string; jobToken: string } } = {}): Promise<WorkerMessage> {
    const d = o.delivery ?? (await this.deliver(trialId));
    return { started: { trialId, workerId, resumeAttempt: 0, ...d, ...(o.deliveryId ? { deliveryId: o.deliveryId } : {}) } };
  }

  /** A re-join of `attempt` with its secret. */
  static rejoin(trialId: string, workerId: string, attempt: number, attemptSecret: string): WorkerMessage {
    return { started: { trialId, workerId, resumeAttempt: attempt, attemptSecret } };
  }

  close(): void {
    for (const m of this.clients.values()) m.client.close();
  }
}
