/**
 * The `container` runtime: runs a trial in a container through a Docker-compatible engine API
 * (Docker Engine API v1.43; Podman's compatible service works too) on this machine.
 *
 * Why the Docker Engine API and not Kubernetes pods: the agent already is the scheduler for
 * its machine. It has discovered the GPUs, holds them in its allocator and owns the trial's
 * checkpoint folder; a container on the local engine gets exactly those devices and that
 * folder, starts in about a second, and dies with the node. A pod per trial would go through
 * the cluster scheduler, which knows nothing of the GPUs the agent's DaemonSet pod already
 * holds (it would count them twice or place the pod on another node), would need the agent to
 * hold RBAC rights to create pods cluster-wide, and would add scheduling latency to every
 * trial. The price: the agent needs the engine's socket, which is root-equivalent on that
 * node, so this runtime is opt-in; in Kubernetes the default `process` runtime in the worker
 * pod is the one to use.
 *
 * GPUs go to the engine as a DeviceRequest with exactly the allocator's device ids; the
 * checkpoint folder is bind-mounted at the same path (or /tunehive/checkpoint); the program's
 * argv becomes Cmd (exec form, no shell). Output is read from the logs endpoint and split into
 * the RunningProgram's stdout and stderr.
 */
import { hostname } from 'node:os';
import type { LaunchSpec, RunningProgram, Runtime } from './runtime.js';
import { ContainerRun } from './docker/container-run.js';
import { MANAGED_LABEL, type ContainerSettings } from './docker/create-body.js';
import { DockerEngineClient, endpointFromEnv, engineMessage, type EngineEndpoint } from './docker/engine-client.js';

/** Container settings (see ContainerSettings; /dev/shm defaults to 1 GiB: Docker's 64 MiB breaks PyTorch DataLoader workers), plus the engine's. */
export interface ContainerRuntimeOptions extends Partial<Omit<ContainerSettings, 'labels'>> {
  /** A client, an endpoint, or (default) DOCKER_HOST from `env`, else /var/run/docker.sock. */
  engine?: DockerEngineClient | EngineEndpoint;
  env?: Record<string, string | undefined>;
  apiVersion?: string;
  /** Tags this agent's containers, so a restarted agent can remove what its previous life left. */
  agentId?: string;
  /** `missing` (default): pull an image the node lacks, then create again. */
  pull?: 'missing' | 'never';
  pullTimeoutMs?: number;
  requestTimeoutMs?: number;
  drainTimeoutMs?: number;
  /** pino-compatible; warnings are also written to the trial's stderr where they concern it. */
  logger?: { warn(obj: Record<string, unknown>, msg: string): void };
}

export const AGENT_LABEL = 'tunehive.agent';

export class ContainerRuntime implements Runtime {
  readonly name = 'container';
  readonly engine: DockerEngineClient;
  private readonly agentId: string;
  private readonly deps: ConstructorParameters<typeof ContainerRun>[1];

  /** Validates every setting now, so a bad one fails the agent's start, not a trial. */
  constructor(opts: ContainerRuntimeOptions = {}) {
    const positive = (name: string, v: number | undefined) => {
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new RangeError(`container runtime: ${name} must be a positive number (got ${v})`);
    };
    positive('memoryBytes', opts.memoryBytes);
    positive('cpus', opts.cpus);
    positive('shmSizeBytes', opts.shmSizeBytes);
    if (opts.memoryBytes !== undefined && opts.memoryBytes < 6 * 2 ** 20) throw new RangeError('container runtime: memoryBytes below the engine minimum of 6 MiB');
    this.engine =
      opts.engine instanceof DockerEngineClient
        ? opts.engine
        : new DockerEngineClient({ endpoint: opts.engine ?? endpointFromEnv(opts.env ?? process.env), apiVersion: opts.apiVersion, timeoutMs: opts.requestTimeoutMs });
    this.agentId = opts.agentId ?? hostname();
    const settings: ContainerSettings = {
      checkpointMount: opts.checkpointMount ?? 'same-path',
      shmSizeBytes: opts.shmSizeBytes ?? 2 ** 30,
      labels: { [AGENT_LABEL]: this.agentId },
    };
    if (opts.memoryBytes !== undefined) settings.memoryBytes = opts.memoryBytes;
    if (opts.cpus !== undefined) settings.cpus = opts.cpus;
    if (opts.network) settings.network = opts.network;
    if (opts.user) settings.user = opts.user;
    if (opts.deviceIdMap) settings.deviceIdMap = { ...opts.deviceIdMap };
    const logger = opts.logger;
    this.deps = {
      engine: this.engine,
      settings,
      pull: opts.pull ?? 'missing',
      pullTimeoutMs: opts.pullTimeoutMs ?? 30 * 60_000,
      drainTimeoutMs: opts.drainTimeoutMs ?? 10_000,
      warn: (msg, fields) => logger?.warn(fields, msg),
    };
  }

  launch(spec: LaunchSpec): RunningProgram {
    return new ContainerRun(spec, this.deps);
  }

  /**
   * Removes containers this agent id started in an earlier life (the agent crashed or was
   * killed before it could remove them): they would keep holding GPUs the new allocator
   * believes free. Call once at start-up, before taking trials.
   */
  async removeLeftovers(): Promise<number> {
    const filters = JSON.stringify({ label: [`${MANAGED_LABEL}=true`, `${AGENT_LABEL}=${this.agentId}`] });
    const reply = await this.engine.call('GET', '/containers/json', { query: { all: true, filters } });
    if (reply.status !== 200 || !Array.isArray(reply.body)) throw new Error(`cannot list containers: ${engineMessage(reply.body) || `HTTP ${reply.status}`}`);
    let removed = 0;
    for (const c of reply.body as Array<{ Id?: unknown }>) {
      if (typeof c.Id !== 'string') continue;
      const r = await this.engine.call('DELETE', `/containers/${c.Id}`, { query: { force: true, v: true } });
      if (r.status === 204 || r.status === 404) removed++;
    }
    return removed;
  }
}
