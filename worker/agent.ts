/**
 * The worker agent: consumes the trial queues of the resource classes (GPU counts) this
 * machine can fit, gives each trial exactly the devices it asked for, and runs it as a session.
 * An explicit state machine (STARTING -> RUNNING -> DRAINING -> STOPPED): on shutdown it stops
 * taking jobs, asks running programs to stop (SIGTERM, grace period), reports them as handed
 * back, and only then closes.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdir, readdir, rm } from 'node:fs/promises';
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
import { keys } from '../shared/redis-keys.js';
import { DEFAULT_PROJECT, PROJECT_NAME, queuePrefix, trialQueueName, type TrialJob } from '../shared/trial-job.js';
import { forgetSavedIdentity, obtainIdentity, type WorkerIdentity } from './worker-credential.js';
import { GpuAllocator } from './gpu/allocator.js';
import { discoverGpus, type GpuSetting, type Hardware } from './gpu/discovery.js';
import { describeHost, deviceIds } from './gpu/hardware.js';
import { WorkerRegistration } from './registration.js';
import { ProcessRuntime } from './runtime/process-runtime.js';
import type { Runtime } from './runtime/runtime.js';
import { CredentialRejected, runTrialSession, type SessionResult } from './trial-session.js';
import { CaptureCache } from './provenance/capture-cache.js';

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
  /** Exchanged once for this worker's credential (TUNEHIVE_JOIN_TOKEN); not needed once one is saved. */
  joinToken?: string;
  /** Save the credential (mode 0600) in the work dir, so a restart needs no join token (default true). */
  saveCredential?: boolean;
  /** A worker joined for every project consumes at most this many projects' queues (default 32). */
  maxProjects?: number;
  /** How often such a worker looks for projects with queued work (default 2000 ms). */
  projectPollMs?: number;
}

export type AgentState = 'STARTING' | 'RUNNING' | 'DRAINING' | 'STOPPED';

/** How long a job this agent cannot place right now waits before it is offered again. */
const GIVE_BACK_MS = 1000;

/** Finished sessions kept on the agent object. */
const COMPLETED_KEPT = 1000;

/** Projects a worker joined for every project consumes by default (each class of each is a BullMQ worker). */
const DEFAULT_MAX_PROJECTS = 32;

export class Agent {
  private id: string;
  private state: AgentState = 'STARTING';
  private readonly shutdown = new AbortController();
  private readonly workers: Worker<TrialJob, SessionResult>[] = [];
  /** The queues this agent consumes, by queue name, with their resource class. */
  private readonly queues = new Map<string, { gpus: number; q: Queue<TrialJob> }>();
  private readonly projectsServed = new Set<string>();
  private readonly client;
  private log: Logger;
  private identity: WorkerIdentity | undefined;
  private projectTimer: NodeJS.Timeout | undefined;
  private warnedProjectCap = false;
  private endedWith: string | undefined;
  private resolveEnded!: (reason: string | undefined) => void;
  /** Resolves when the agent has stopped, with why it stopped by itself (undefined after close()). */
  readonly ended = new Promise<string | undefined>((r) => (this.resolveEnded = r));
  private allocator: GpuAllocator | undefined;
  private registration: WorkerRegistration | undefined;
  private closing?: Promise<void>;
  private started?: Promise<void>;
  private connection: ReturnType<typeof connectRedis> | undefined;
  private consume: ((project: string) => void) | undefined;
  /** Provenance answers (git, DVC, data hashes) shared by this agent's attempts. */
  private readonly captureCache = new CaptureCache();
  hardware: Hardware | undefined;
  /** The latest finished sessions (at most COMPLETED_KEPT), for tests and the CLI's summary. */
  readonly completed: SessionResult[] = [];

  constructor(private readonly o: AgentOptions) {
    this.id = o.workerId ?? `${os.hostname()}-${randomBytes(3).toString('hex')}`;
    // Each running session listens for the shutdown (and stops listening when it ends): as many
    // listeners as trials run at once, which is more than the default warning threshold of 10.
    setMaxListeners(0, this.shutdown.signal);
    this.log = o.log.child({ workerId: this.id });
    this.client = trialServiceClient(o.coordinator, { 'grpc.keepalive_time_ms': 20_000, ...grpcClientOptions(o.tls) }, {
      credential: () => this.identity?.credential, channelCredentials: grpcClientCredentials(o.tls),
    });
  }

  /** The id the coordinator knows this worker by (it may differ from the asked one after a join). */
  get workerId(): string {
    return this.id;
  }

  /** The projects this worker serves ('*': every project). */
  get projects(): string[] {
    return this.identity?.projects ?? [];
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
    await mkdir(o.workDir, { recursive: true });
    this.identity = await obtainIdentity({
      client: this.client, workDir: o.workDir, workerId: this.id, explicitId: o.workerId !== undefined, hardware: hardwareMsg, log: this.log,
      persist: o.saveCredential ?? true, signal: this.shutdown.signal, ...(o.joinToken ? { joinToken: o.joinToken } : {}),
    });
    this.id = this.identity.workerId;
    this.log = o.log.child({ workerId: this.id });
    const connection = connectRedis(o.redisUrl, `tunehive-worker-${this.id}`);
    this.connection = connection;

    /** Starts consuming one project's queues (one BullMQ worker per resource class). */
    const consume = (project: string) => {
      if (this.projectsServed.has(project) || !PROJECT_NAME.test(project) || this.state === 'DRAINING' || this.state === 'STOPPED') return;
      this.projectsServed.add(project);
      for (const gpus of classes) {
        const name = trialQueueName(project, gpus);
        this.queues.set(name, { gpus, q: new Queue<TrialJob>(name, { connection, prefix: queuePrefix(o.prefix) }) });
        const worker = new Worker<TrialJob, SessionResult>(
          name,
          async (job: Job<TrialJob>, token?: string) => {
            const devicesForTrial = await this.place(job, gpus);
            if (!devicesForTrial) {
              // Not now (devices busy, or reserved for a bigger class): back to the queue for anyone.
              await job.moveToDelayed(Date.now() + GIVE_BACK_MS, token);
              throw new DelayedError();
            }
            try {
              const result = await runTrialSession({ ...job.data, gpus }, devicesForTrial, {
                client: this.client, runtime, workerId: this.id, workDir: o.workDir, hardware: hardwareMsg, log: this.log,
                heartbeatMs: o.heartbeatMs ?? 2000, graceMs: o.graceMs ?? 10_000, delivery: { jobId: job.id ?? '', token: token ?? '' },
                ...(o.maxLineBytes ? { maxLineBytes: o.maxLineBytes } : {}), ...(o.metricWindow ? { window: o.metricWindow } : {}),
                ...(o.giveUpMs ? { giveUpMs: o.giveUpMs } : {}), captureCache: this.captureCache,
              }, this.shutdown.signal);
              this.completed.push(result);
              // An agent runs for months: what it keeps per trial must not grow with the trials.
              if (this.completed.length > COMPLETED_KEPT) this.completed.splice(0, this.completed.length - COMPLETED_KEPT);
              if (result.credentialRejected) this.stopRejected('the coordinator refused this worker\'s credential during a trial');
              return result;
            } catch (err) {
              if (err instanceof CredentialRejected) this.stopRejected(err.message);
              throw err;
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
        if (this.state === 'RUNNING') void worker.run().catch((e: unknown) => this.log.error({ err: e }, 'worker loop failed'));
      }
      this.log.info({ project, classes }, 'consuming the project\'s trial queues');
    };
    this.consume = consume;
    const everyProject = this.identity.projects.includes('*');
    // A worker for every project takes the default project's work at once, the rest as found.
    for (const p of everyProject ? [DEFAULT_PROJECT] : this.identity.projects) consume(p);

    this.registration = new WorkerRegistration(connection, o.prefix, this.workerId, () => ({
      hardware: hardwareMsg, slots: o.slots, gpus: devices.length, freeGpus: allocator.free().length, freeSlots: allocator.freeCpuSlots(),
      running: allocator.running, runtime: runtime.name, state: this.state, projects: this.identity?.projects ?? [],
    }));
    await this.registration.start();
    this.state = 'RUNNING';
    for (const w of this.workers) void w.run().catch((err: unknown) => this.log.error({ err }, 'worker loop failed'));
    if (everyProject) {
      await this.discoverProjects();
      const poll = () => {
        this.projectTimer = setTimeout(() => void this.discoverProjects().finally(() => { if (this.state === 'RUNNING') poll(); }), o.projectPollMs ?? 2000);
      };
      poll();
    }
    this.log.info({ classes, gpus: devices, slots: o.slots, projects: this.identity.projects, runtime: runtime.name }, 'agent taking trials');
  }

  /**
   * A worker joined for every project consumes the queues of the projects that have had work
   * queued (the coordinator scores them in `queuedProjects`), newest first, up to `maxProjects`.
   */
  private async discoverProjects(): Promise<void> {
    const cap = this.o.maxProjects ?? DEFAULT_MAX_PROJECTS;
    let projects: string[];
    try {
      projects = await this.connection!.zrevrange(keys.queuedProjects(this.o.prefix), 0, cap * 4);
    } catch {
      return; // Redis away: the next poll tries again.
    }
    for (const p of projects) {
      if (this.projectsServed.has(p)) continue;
      if (this.projectsServed.size >= cap) {
        if (!this.warnedProjectCap) this.log.warn({ maxProjects: cap }, 'more projects have queued work than this worker consumes (maxProjects); the rest are left to other workers');
        this.warnedProjectCap = true;
        return;
      }
      this.consume?.(p);
    }
  }

  /** Set once the coordinator refused the credential: nothing this agent sends is accepted any more. */
  private credentialDead = false;

  /**
   * The credential was revoked (or expired): stop taking jobs (the one in hand goes back to the
   * queue) and forget the saved credential, so a restart must join again with a join token.
   */
  private stopRejected(reason: string): void {
    if (this.credentialDead && this.endedWith) return;
    this.credentialDead = true;
    this.endedWith = `credential refused: ${reason}`;
    this.log.error({ reason }, 'the coordinator refused this worker\'s credential (revoked?); stopping. Join again with a join token to come back');
    void forgetSavedIdentity(this.o.workDir).catch(() => undefined);
    void this.close();
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
      const waiting = new Set<number>([gpus]);
      for (const { gpus: c, q } of this.queues.values()) if (!waiting.has(c) && (await q.getWaitingCount()) > 0) waiting.add(c);
      if (!allocator.takeableClasses([...waiting]).includes(gpus)) return null;
    }
    return allocator.tryAcquire(job.data.trialId, gpus);
  }

  /** Graceful: running trials are stopped and handed back. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.started?.catch(() => undefined);
      this.state = 'DRAINING';
      clearTimeout(this.projectTimer);
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
      await Promise.all([...this.queues.values()].map((e) => e.q.close()));
      await this.connection?.quit().catch(() => this.connection?.disconnect());
      this.client.close();
      this.state = 'STOPPED';
      this.resolveEnded(this.endedWith);
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
