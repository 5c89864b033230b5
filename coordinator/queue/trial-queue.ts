/**
 * The producer side of the trial queue. One job per trial attempt-to-be: the job id is
 * `<trialId>-r<attempt>`, so re-adding a job for the same QUEUED trial (after a coordinator
 * restart) is a no-op, and a trial handed back for a retry gets a fresh job.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { queuePrefix, trialQueueName, type TrialJob } from '../../shared/trial-job.js';

export class TrialQueue {
  private readonly queues = new Map<number, Queue<TrialJob>>();
  private closing?: Promise<void>;

  constructor(private readonly connection: Redis, private readonly prefix: string) {}

  private queue(gpus: number): Queue<TrialJob> {
    let q = this.queues.get(gpus);
    if (!q) this.queues.set(gpus, (q = new Queue<TrialJob>(trialQueueName(gpus), { connection: this.connection, prefix: queuePrefix(this.prefix) })));
    return q;
  }

  static jobId(trialId: string, attempt: number): string {
    return `${trialId}-r${attempt}`;
  }

  /** Adds the job (a no-op when it exists) and returns its id. */
  async enqueue(job: TrialJob, attempt: number): Promise<string> {
    const jobId = TrialQueue.jobId(job.trialId, attempt);
    await this.queue(job.gpus).add('trial', job, {
      jobId,
      removeOnComplete: true,
      removeOnFail: true,
      // Infrastructure failures (coordinator unreachable) are retried by BullMQ; the trial's own
      // failures never reach here, they are reported and counted by the coordinator.
      attempts: 30,
      backoff: { type: 'fixed', delay: 2000 },
    });
    return jobId;
  }

  /** Whether a job still exists to deliver a trial (waiting, active, delayed or being retried). */
  async isLive(gpus: number, jobId: string): Promise<boolean> {
    const job = await this.queue(gpus).getJob(jobId);
    if (!job) return false;
    const state = await job.getState();
    return state !== 'completed' && state !== 'failed' && state !== 'unknown';
  }

  async remove(gpus: number, trialId: string, attempt: number): Promise<void> {
    // A job already taken by a worker is locked and cannot be removed; the worker is then told to skip it.
    await this.queue(gpus).remove(TrialQueue.jobId(trialId, attempt)).catch(() => 0);
  }

  /**
   * Removes jobs (a deleted study's) in batches; returns how many were removed. A job a worker
   * holds is locked and stays until that worker completes it (and removeOnComplete drops it).
   */
  async removeJobs(gpus: number, jobIds: string[], batch = 20): Promise<number> {
    const q = this.queue(gpus);
    let removed = 0;
    for (let i = 0; i < jobIds.length; i += batch) {
      // BullMQ's remove answers 1 for a job that is not there at all: only jobs found count.
      const done = await Promise.all(jobIds.slice(i, i + batch).map(async (id) => ((await q.getJob(id)) ? q.remove(id) : 0)).map((p) => p.catch(() => 0)));
      removed += done.reduce<number>((a, b) => a + b, 0);
    }
    return removed;
  }

  /** Jobs waiting for a worker, per resource class this coordinator has used (for /metrics). */
  async depth(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const [gpus, q] of this.queues) out.set(gpus, await q.getWaitingCount());
    return out;
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.queues.values()].map((q) => q.close())).then(() => undefined);
    return this.closing;
  }
}
