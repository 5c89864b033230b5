/**
 * The producer side of the trial queues. One job per trial attempt-to-be: the job id is
 * `<trialId>-r<attempt>`, so re-adding a job for the same QUEUED trial (after a coordinator
 * restart) is a no-op, and a trial handed back for a retry gets a fresh job. Jobs go into the
 * queue of their study's project and GPU class (`trials-<project>-g<N>`); enqueues also score
 * the project in `queuedProjects` (at most once a second), where agents joined for all projects find it.
 */
import { timingSafeEqual } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { keys } from '../../shared/redis-keys.js';
import { jobIdFor, queuePrefix, trialQueueName, type TrialJob } from '../../shared/trial-job.js';

/** The project of a study, for callers that know only its id (a study's project never changes). */
export type ProjectResolver = (studyId: string) => Promise<string>;

const CACHED_PROJECTS = 10_000;
const ANNOUNCE_MS = 1000;

const JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: true,
  // Infrastructure failures (coordinator unreachable) are retried by BullMQ; the trial's own
  // failures never reach here, they are reported and counted by the coordinator.
  attempts: 30,
  backoff: { type: 'fixed', delay: 2000 },
};

export class TrialQueue {
  private readonly queues = new Map<string, { project: string; gpus: number; q: Queue<TrialJob> }>();
  private readonly projects = new Map<string, string>();
  /** When this replica last scored each project in queuedProjects. */
  private readonly announced = new Map<string, number>();
  private closing?: Promise<void>;

  constructor(private readonly connection: Redis, private readonly prefix: string, private readonly resolveProject: ProjectResolver = async () => 'default') {}

  private queue(project: string, gpus: number): Queue<TrialJob> {
    const name = trialQueueName(project, gpus);
    let entry = this.queues.get(name);
    if (!entry) this.queues.set(name, (entry = { project, gpus, q: new Queue<TrialJob>(name, { connection: this.connection, prefix: queuePrefix(this.prefix) }) }));
    return entry.q;
  }

  /** The project of a trial's study (from the job, this replica's cache, or the resolver). */
  private async projectOf(studyId: string, known?: string): Promise<string> {
    const project = known ?? this.projects.get(studyId) ?? (await this.resolveProject(studyId));
    if (!this.projects.has(studyId)) {
      if (this.projects.size >= CACHED_PROJECTS) this.projects.delete(this.projects.keys().next().value!);
      this.projects.set(studyId, project);
    }
    return project;
  }

  static jobId(trialId: string, attempt: number): string {
    return jobIdFor(trialId, attempt);
  }

  /** Adds the job (a no-op when it exists) and returns its id. */
  async enqueue(job: TrialJob, attempt: number): Promise<string> {
    return (await this.enqueueMany([{ job, attempt }]))[0]!;
  }

  /**
   * Adds jobs (each a no-op when it exists) in one round trip per queue, and returns their ids
   * in order. Jobs of one queue are added in order.
   */
  async enqueueMany(items: ReadonlyArray<{ job: TrialJob; attempt: number }>): Promise<string[]> {
    const byQueue = new Map<Queue<TrialJob>, { project: string; jobs: Array<{ name: string; data: TrialJob; opts: JobsOptions }> }>();
    const ids: string[] = [];
    for (const { job, attempt } of items) {
      const jobId = TrialQueue.jobId(job.trialId, attempt);
      ids.push(jobId);
      const project = await this.projectOf(job.studyId, job.project);
      const q = this.queue(project, job.gpus);
      let entry = byQueue.get(q);
      if (!entry) byQueue.set(q, (entry = { project, jobs: [] }));
      entry.jobs.push({ name: 'trial', data: { ...job, project }, opts: { ...JOB_OPTIONS, jobId } });
    }
    await Promise.all([...byQueue].map(([q, e]) => (e.jobs.length === 1 ? q.add(e.jobs[0]!.name, e.jobs[0]!.data, e.jobs[0]!.opts) : q.addBulk(e.jobs))));
    await this.announce(new Set([...byQueue.values()].map((e) => e.project)));
    return ids;
  }

  /**
   * Scores the projects in `queuedProjects` (agents joined for every project poll it every few
   * seconds), at most once a second per project from this replica: the score is only "recently".
   */
  private async announce(projects: Set<string>): Promise<void> {
    const now = Date.now();
    const due = [...projects].filter((p) => now - (this.announced.get(p) ?? 0) >= ANNOUNCE_MS);
    if (due.length === 0) return;
    for (const p of due) {
      if (this.announced.size >= CACHED_PROJECTS) this.announced.delete(this.announced.keys().next().value!);
      this.announced.set(p, now);
    }
    await this.connection.zadd(keys.queuedProjects(this.prefix), ...due.flatMap((p) => [now, p]));
  }

  /** The name of the queue that delivers a study's trials of a class (for lock checks). */
  async queueName(studyId: string, gpus: number): Promise<string> {
    return trialQueueName(await this.projectOf(studyId), gpus);
  }

  /**
   * Whether `token` is the lock of the job now (BullMQ sets `<queue>:<jobId>:lock` to the token
   * of the worker it handed the job to, and keeps it only while that worker renews it): proof
   * that the caller is the worker the queue delivered the job to.
   */
  async holds(studyId: string, gpus: number, jobId: string, token: string): Promise<boolean> {
    const lock = await this.connection.get(keys.jobLock(queuePrefix(this.prefix), await this.queueName(studyId, gpus), jobId));
    if (lock === null) return false;
    const a = Buffer.from(lock);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Whether a job still exists to deliver a trial (waiting, active, delayed or being retried). */
  async isLive(gpus: number, jobId: string): Promise<boolean> {
    const studyId = jobId.split('.')[0]!;
    const job = await this.queue(await this.projectOf(studyId), gpus).getJob(jobId);
    if (!job) return false;
    const state = await job.getState();
    return state !== 'completed' && state !== 'failed' && state !== 'unknown';
  }

  async remove(gpus: number, trialId: string, attempt: number): Promise<void> {
    const studyId = trialId.split('.')[0]!;
    // A job already taken by a worker is locked and cannot be removed; the worker is then told to skip it.
    await this.queue(await this.projectOf(studyId), gpus).remove(TrialQueue.jobId(trialId, attempt)).catch(() => 0);
  }

  /**
   * Removes jobs (a deleted study's) in batches; returns how many were removed. A job a worker
   * holds is locked and stays until that worker completes it (and removeOnComplete drops it).
   */
  async removeJobs(gpus: number, jobIds: string[], batch = 20): Promise<number> {
    let removed = 0;
    for (let i = 0; i < jobIds.length; i += batch) {
      // BullMQ's remove answers 1 for a job that is not there at all: only jobs found count.
      const done = await Promise.all(jobIds.slice(i, i + batch).map(async (id) => {
        const q = this.queue(await this.projectOf(id.split('.')[0]!), gpus);
        return (await q.getJob(id)) ? q.remove(id) : 0;
      }).map((p) => p.catch(() => 0)));
      removed += done.reduce<number>((a, b) => a + b, 0);
    }
    return removed;
  }

  /** Jobs waiting for a worker, per resource class, over the projects this coordinator has used (for /metrics). */
  async depth(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const { gpus, q } of this.queues.values()) out.set(gpus, (out.get(gpus) ?? 0) + (await q.getWaitingCount()));
    return out;
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.queues.values()].map((e) => e.q.close())).then(() => undefined);
    return this.closing;
  }
}
