/**
 * The worker agent: a BullMQ consumer with `slots` concurrency that runs each trial job as a
 * session. An explicit state machine (STARTING -> RUNNING -> DRAINING -> STOPPED): on shutdown
 * it stops taking jobs, asks running programs to stop (SIGTERM, grace period), reports them
 * as handed back, and only then closes.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { connectRedis } from '../shared/redis.js';
import { trialServiceClient, type HardwareMsg } from '../shared/proto.js';
import { TRIAL_QUEUE, queuePrefix, type TrialJob } from '../shared/trial-job.js';
import { ProcessRuntime } from './runtime/process-runtime.js';
import type { Runtime } from './runtime/runtime.js';
import { runTrialSession, type SessionResult } from './trial-session.js';

export interface AgentOptions {
  redisUrl: string;
  prefix: string;
  coordinator: string;
  slots: number;
  workDir: string;
  log: Logger;
  workerId?: string;
  runtime?: Runtime;
  hardware?: HardwareMsg;
  heartbeatMs?: number;
  graceMs?: number;
  /** BullMQ lock: a dead worker's job is re-delivered after about this long. */
  lockMs?: number;
}

export type AgentState = 'STARTING' | 'RUNNING' | 'DRAINING' | 'STOPPED';

export class Agent {
  readonly workerId: string;
  private state: AgentState = 'STARTING';
  private readonly shutdown = new AbortController();
  private readonly worker: Worker<TrialJob, SessionResult>;
  private readonly client;
  private closing?: Promise<void>;
  /** Finished sessions, for tests and the CLI's summary. */
  readonly completed: SessionResult[] = [];

  constructor(private readonly o: AgentOptions) {
    this.workerId = o.workerId ?? `${os.hostname()}-${randomBytes(3).toString('hex')}`;
    const log = o.log.child({ workerId: this.workerId });
    this.client = trialServiceClient(o.coordinator, { 'grpc.keepalive_time_ms': 20_000 });
    const runtime = o.runtime ?? new ProcessRuntime();
    const hardware = o.hardware ?? hostHardware();
    const lockMs = o.lockMs ?? 10_000;
    this.worker = new Worker<TrialJob, SessionResult>(
      TRIAL_QUEUE,
      async (job: Job<TrialJob>) => {
        const result = await runTrialSession(job.data, [], {
          client: this.client, runtime, workerId: this.workerId, workDir: o.workDir, hardware, log,
          heartbeatMs: o.heartbeatMs ?? 2000, graceMs: o.graceMs ?? 10_000,
        }, this.shutdown.signal);
        this.completed.push(result);
        return result;
      },
      {
        connection: connectRedis(o.redisUrl, `tunehive-worker-${this.workerId}`),
        prefix: queuePrefix(o.prefix),
        concurrency: o.slots,
        lockDuration: lockMs,
        stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
        // Re-delivery after a worker dies is how a trial resumes elsewhere; the coordinator
        // counts attempts against the study's maxRetries, so BullMQ must not give up first.
        maxStalledCount: 1000,
        autorun: false,
      },
    );
    // A Redis outage raises an error per retry: log the first, then one a minute while it lasts.
    let lastErrorLog = 0;
    this.worker.on('error', (err) => {
      if (Date.now() - lastErrorLog < 60_000) return;
      lastErrorLog = Date.now();
      log.error({ err: err.message }, `queue error (is Redis reachable at the --redis URL?); retrying`);
    });
  }

  get status(): AgentState {
    return this.state;
  }

  start(): void {
    this.state = 'RUNNING';
    void this.worker.run().catch((err: unknown) => this.o.log.error({ err }, 'worker loop failed'));
  }

  /** Graceful: running trials are stopped and handed back. `force` skips the hand-back (tests). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'DRAINING';
      this.shutdown.abort();
      // Running trials get their grace period to checkpoint and report; a dead Redis must not
      // hold the agent forever after that.
      const deadline = (this.o.graceMs ?? 10_000) + 15_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.worker.close(),
        new Promise<void>((resolve) => { timer = setTimeout(() => { void this.worker.close(true); resolve(); }, deadline); }),
      ]);
      clearTimeout(timer);
      this.client.close();
      this.state = 'STOPPED';
    })();
    return this.closing;
  }
}

/** What a CPU-only agent can say about itself; GPU discovery adds the devices. */
export function hostHardware(): HardwareMsg {
  return {
    hostname: os.hostname(), nodeName: process.env.NODE_NAME ?? os.hostname(), gpus: [], driverVersion: '', cudaVersion: '',
    cpuCount: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '', memoryBytes: os.totalmem(),
  };
}
