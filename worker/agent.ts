/**
 * The worker agent: consumes the trial queues of the resource classes (GPU counts) this
 * machine can fit, gives each trial exactly the devices it asked for, and runs it as a session.
 * An explicit state machine (STARTING -> RUNNING -> DRAINING -> STOPPED): on shutdown it stops
 * taking jobs, asks running programs to stop (SIGTERM, grace period), reports them as handed
 * back, and only then closes.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { connectRedis } from '../shared/redis.js';
import { trialServiceClient, type HardwareMsg } from '../shared/proto.js';
import { TunehiveError } from '../shared/errors.js';
import { grpcClientCredentials, grpcClientOptions, type ClientTls } from '../shared/tls.js';
import { probeCoordinator } from './coordinator-probe.js';
import { CommandPolicy } from './policy/command-policy.js';
import { PolicyRuntime } from './policy/policy-runtime.js';
import { queuePrefix, trialQueueName, type TrialJob } from '../shared/trial-job.js';
import { TrialTemplates } from './trial-templates.js';
import { GpuAllocator } from './gpu/allocator.js';
import { discoverGpus, type GpuSetting, type Hardware } from './gpu/discovery.js';
import { describeHost, deviceIds } from './gpu/hardware.js';
import { WorkerRegistration } from './registration.js';
import { ProcessRuntime } from './runtime/process-runtime.js';
import type { Runtime } from './runtime/runtime.js';
import { runTrialSession, type SessionResult } from './trial-session.js';

export interface AgentOptions {
  redisUrl: string;
  prefix: string;
  coordinator: string;
  /** Trials without GPUs that may run at once. */
  slots: number;
  workDir: string;
  log: Logger;
  workerId?: string;
  runtime?: Runtime;
  /** Which GPUs to use: nvidia-smi (auto, the default), none, a declared count, or indices. */
  gpus?: GpuSetting;
  heartbeatMs?: number;
  graceMs?: number;
  /** BullMQ lock: a dead worker's job is re-delivered after about this long. */
  lockMs?: number;
  /** Output lines are cut at this many bytes; the rest is dropped and counted (default 1 MiB). */
  maxLineBytes?: number;
  /** Unacknowledged metric batches per trial before its output stops being read (default 16). */
  metricWindow?: number;
  /** A trial's stream is given up (and the job re-delivered) after this long without progress. */
  giveUpMs?: number;
  /** What this worker agrees to run (programs, images, environment names); the default denies loader/interpreter hooks. */
  policy?: CommandPolicy;
  /** gRPC over TLS: the CA that signed the coordinator's certificate, and a client certificate if it asks for one. */
  tls?: ClientTls;
}

export type AgentState = 'STARTING' | 'RUNNING' | 'DRAINING' | 'STOPPED';

/** How long a job this agent cannot place right now waits before it is offered again. */
const GIVE_BACK_MS = 1000;

export class Agent {
  readonly workerId: string;
  private state: AgentState = 'STARTING';
  private readonly shutdown = new AbortController();
  private readonly workers: Worker<TrialJob, SessionResult>[] = [];
  private readonly queues = new Map<number, Queue<TrialJob>>();
  private readonly client;
  private readonly log: Logger;
  private allocator: GpuAllocator | undefined;
  private registration: WorkerRegistration | undefined;
  private closing?: Promise<void>;
  private started?: Promise<void>;
  private connection: ReturnType<typeof connectRedis> | undefined;
  private templates: TrialTemplates | undefined;
  hardware: Hardware | undefined;
  /** Finished sessions, for tests and the CLI's summary. */
  readonly completed: SessionResult[] = [];

  constructor(private readonly o: AgentOptions) {
    this.workerId = o.workerId ?? `${os.hostname()}-${randomBytes(3).toString('hex')}`;
    this.log = o.log.child({ workerId: this.workerId });
    this.client = trialServiceClient(o.coordinator, { 'grpc.keepalive_time_ms': 20_000, ...grpcClientOptions(o.tls) }, grpcClientCredentials(o.tls));
  }

  get status(): AgentState {
    return this.state;
  }

  /** Discovers the GPUs, registers, and starts consuming the queues of every class that fits. */
  start(): Promise<void> {
    this.started ??= this.startNow();
    return this.started;
  }

  private async startNow(): Promise<void> {
    const o = this.o;
    const probe = await probeCoordinator(o.coordinator, o.tls);
    if (!probe.ok && probe.fatal) throw new TunehiveError('TH_ERR_CONFIG_TLS', probe.reason);
    if (!probe.ok) this.log.info({ reason: probe.reason }, 'coordinator not reachable yet; trials wait for it');
    await this.sweepTrialFolders();
    this.hardware = await discoverGpus({ setting: o.gpus ?? { kind: 'auto' } });
    if (this.hardware.reason) this.log.info({ reason: this.hardware.reason }, 'GPU discovery');
    const devices = deviceIds(this.hardware);
    const allocator = new GpuAllocator(devices, { cpuSlots: o.slots });
    this.allocator = allocator;
    const hardwareMsg = toHardwareMsg(this.hardware);
    const runtime = new PolicyRuntime(o.runtime ?? new ProcessRuntime(), o.policy ?? new CommandPolicy());
    const lockMs = o.lockMs ?? 10_000;
    const classes = [...(o.slots > 0 ? [0] : []), ...devices.map((_, i) => i + 1)];
    const connection = connectRedis(o.redisUrl, `tunehive-worker-${this.workerId}`);
    this.connection = connection;
    this.templates = new TrialTemplates(connection, o.prefix);

    for (const gpus of classes) {
      this.queues.set(gpus, new Queue<TrialJob>(trialQueueName(gpus), { connection, prefix: queuePrefix(o.prefix) }));
      const worker = new Worker<TrialJob, SessionResult>(
        trialQueueName(gpus),
        async (job: Job<TrialJob>, token?: string) => {
          const devicesForTrial = await this.place(job, gpus);
          if (!devicesForTrial) {
            // Not now (devices busy, or reserved for a bigger class): back to the queue for anyone.
            await job.moveToDelayed(Date.now() + GIVE_BACK_MS, token);
            throw new DelayedError();
          }
          try {
            const run = await this.templates!.resolve(job.data);
            if (!run) {
              this.log.info({ trialId: job.data.trialId }, 'trial skipped: its study is gone');
              return { state: 'SKIPPED', attempt: 0 };
            }
            const result = await runTrialSession(run, devicesForTrial, {
              client: this.client, runtime, workerId: this.workerId, workDir: o.workDir, hardware: hardwareMsg, log: this.log,
              heartbeatMs: o.heartbeatMs ?? 2000, graceMs: o.graceMs ?? 10_000,
              ...(o.maxLineBytes ? { maxLineBytes: o.maxLineBytes } : {}), ...(o.metricWindow ? { window: o.metricWindow } : {}),
              ...(o.giveUpMs ? { giveUpMs: o.giveUpMs } : {}),
            }, this.shutdown.signal);
            this.completed.push(result);
            return result;
          } finally {
            allocator.release(job.data.trialId);
            this.registration?.refreshSoon();
          }
        },
        {
          connection,
          prefix: queuePrefix(o.prefix),
          concurrency: gpus === 0 ? o.slots : Math.floor(devices.length / gpus),
          lockDuration: lockMs,
          stalledInterval: Math.max(1000, Math.floor(lockMs / 2)),
          // Re-delivery after a worker dies is how a trial resumes elsewhere; the coordinator
          // counts lost attempts against the study's maxRetries, so BullMQ must not give up first.
          maxStalledCount: 1000,
          autorun: false,
        },
      );
      // A Redis outage raises an error per retry: log the first, then one a minute while it lasts.
      let lastErrorLog = 0;
      worker.on('error', (err) => {
        if (Date.now() - lastErrorLog < 60_000) return;
        lastErrorLog = Date.now();
        this.log.error({ err: err.message }, 'queue error (is Redis reachable at the --redis URL?); retrying');
      });
      this.workers.push(worker);
    }

    this.registration = new WorkerRegistration(connection, o.prefix, this.workerId, () => ({
      hardware: hardwareMsg, slots: o.slots, gpus: devices.length, freeGpus: allocator.free().length, freeSlots: allocator.freeCpuSlots(),
      running: allocator.running, runtime: runtime.name, state: this.state,
    }));
    await this.registration.start();
    this.state = 'RUNNING';
    for (const w of this.workers) void w.run().catch((err: unknown) => this.log.error({ err }, 'worker loop failed'));
    this.log.info({ classes, gpus: devices, slots: o.slots }, 'agent taking trials');
  }

  /**
   * Before taking any job this agent runs no trial: every trial folder left in its work dir (an
   * agent killed mid-trial) is an orphan. Sessions restore from the coordinator, never from these.
   */
  private async sweepTrialFolders(): Promise<void> {
    const root = path.join(this.o.workDir, 'trials');
    let names: string[];
    try {
      names = await readdir(root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await Promise.all(names.map((n) => rm(path.join(root, n), { recursive: true, force: true })));
    if (names.length > 0) this.log.info({ folders: names.length, root }, 'removed trial folders left by an earlier run');
  }

  /** The devices for this job now, or null when it should wait (fairness between classes). */
  private async place(job: Job<TrialJob>, gpus: number): Promise<string[] | null> {
    const allocator = this.allocator!;
    if (gpus > 0) {
      const waiting: number[] = [gpus];
      for (const [c, q] of this.queues) if (c !== gpus && (await q.getWaitingCount()) > 0) waiting.push(c);
      if (!allocator.takeableClasses(waiting).includes(gpus)) return null;
    }
    return allocator.tryAcquire(job.data.trialId, gpus);
  }

  /** Graceful: running trials are stopped and handed back. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.started?.catch(() => undefined);
      this.state = 'DRAINING';
      this.shutdown.abort();
      // Running trials get their grace period to checkpoint and report; a dead Redis must not
      // hold the agent forever after that.
      const deadline = (this.o.graceMs ?? 10_000) + 15_000;
      let timer: NodeJS.Timeout | undefined;
      const all = Promise.all(this.workers.map((w) => w.close()));
      await Promise.race([
        all,
        new Promise<void>((resolve) => { timer = setTimeout(() => { for (const w of this.workers) void w.close(true); resolve(); }, deadline); }),
      ]);
      clearTimeout(timer);
      await this.registration?.stop();
      await Promise.all([...this.queues.values()].map((q) => q.close()));
      await this.connection?.quit().catch(() => this.connection?.disconnect());
      this.client.close();
      this.state = 'STOPPED';
    })();
    return this.closing;
  }
}

/** The machine as the protocol describes it (provenance of every attempt). */
export function toHardwareMsg(hw: Hardware): HardwareMsg {
  const host = describeHost();
  return {
    hostname: host.hostname, nodeName: host.nodeName ?? host.hostname, driverVersion: hw.driverVersion ?? '', cudaVersion: hw.cudaVersion ?? '',
    cpuCount: host.cpuCount, cpuModel: host.cpuModel, memoryBytes: host.memoryMiB * 1024 * 1024,
    gpus: hw.gpus.map((g) => ({ index: g.index, uuid: g.uuid ?? '', name: g.name ?? '', memoryMib: g.memoryMiB ?? 0 })),
  };
}
