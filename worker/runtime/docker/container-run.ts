/**
 * One trial's container, from create to remove: create (pulling the image if it is missing),
 * start, follow the logs, wait for the exit, read the verdict, remove. Stop is the engine's stop
 * (SIGTERM, with its own deadline) backed by our own kill after the grace period, so a slow or
 * wedged stop call cannot stretch the grace the agent promised the coordinator.
 */
import { constants as osConstants } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExitInfo, LaunchSpec, RunningProgram } from '../runtime.js';
import { buildCreateBody, containerName, type ContainerSettings } from './create-body.js';
import { DockerLogDemuxer } from './demux.js';
import { type DockerEngineClient, engineMessage } from './engine-client.js';
import { pullImage } from './images.js';
import { launchProblem } from '../launch-check.js';
import { runningImageDigest, type ImageDigest } from './image-digest.js';

export interface RunDeps {
  engine: DockerEngineClient;
  settings: ContainerSettings;
  pull: 'missing' | 'never';
  pullTimeoutMs: number;
  /** How long to wait for the last log lines after the exit before giving up on them. */
  drainTimeoutMs: number;
  warn: (msg: string, fields: Record<string, unknown>) => void;
}

type Phase = 'creating' | 'starting' | 'running' | 'done';

// First name wins where numbers are shared (SIGABRT before its alias SIGIOT).
const SIGNAL_BY_NUMBER = new Map<number, string>();
for (const [name, n] of Object.entries(osConstants.signals)) if (!SIGNAL_BY_NUMBER.has(n)) SIGNAL_BY_NUMBER.set(n, name);

/** The init process (and a shell) report "killed by signal n" as exit code 128 + n. */
export function exitFromStatusCode(status: number | null): ExitInfo {
  if (status !== null && status > 128 && status < 128 + 65) {
    const signal = SIGNAL_BY_NUMBER.get(status - 128);
    if (signal) return { code: null, signal };
  }
  return { code: status, signal: null };
}

export class ContainerRun implements RunningProgram {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly exited: Promise<ExitInfo>;
  /** The digest of the image the engine ran (provenance); undefined when it never ran or is unknown. */
  readonly imageDigest: Promise<ImageDigest | undefined>;
  private settleDigest!: (d: ImageDigest | undefined) => void;
  private settle!: (info: ExitInfo) => void;
  private phase: Phase = 'creating';
  private id: string | null = null;
  private graceMs: number | null = null;
  private stopSent = false;
  private killTimer: NodeJS.Timeout | null = null;
  private logs: IncomingMessage | null = null;
  private logsAbandoned = false;
  /** Cuts a pull short when the trial is stopped before its image has arrived. */
  private readonly pullAbort = new AbortController();

  constructor(private readonly spec: LaunchSpec, private readonly deps: RunDeps) {
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.imageDigest = new Promise((resolve) => {
      this.settleDigest = resolve;
    });
    this.run().catch((err: unknown) => {
      // Only a bug lands here; the program must still be reported as ended.
      this.deps.warn('container run failed unexpectedly', { trialId: spec.trialId, err: String(err) });
      this.finish({ code: null, signal: null, startError: `container runtime error: ${String(err)}` });
    });
  }

  stop(graceMs: number): Promise<ExitInfo> {
    if (this.phase === 'done' || this.graceMs !== null) return this.exited;
    this.graceMs = Math.max(0, graceMs);
    // Before it runs, the flag is enough: run() checks it after create and after start.
    if (this.phase === 'running') this.sendStop();
    else if (this.phase === 'creating') this.pullAbort.abort();
    return this.exited;
  }

  private async run(): Promise<void> {
    const { spec } = this;
    if (!spec.image) return this.finish(startFailure('the container runtime needs an image (trial.image)'));
    const problem = launchProblem(spec);
    if (problem) return this.finish(startFailure(problem));
    const image = spec.image;

    const created = await this.create(image);
    if (typeof created !== 'string') return this.finish(created);
    this.id = created;
    if (this.graceMs !== null) {
      await this.remove();
      return this.finish({ code: null, signal: 'SIGTERM' });
    }

    this.phase = 'starting';
    const started = await this.deps.engine.call('POST', `/containers/${created}/start`).catch((e: unknown) => e as Error);
    if (started instanceof Error || (started.status !== 204 && started.status !== 304)) {
      const why = started instanceof Error ? started.message : engineMessage(started.body) || `HTTP ${started.status}`;
      await this.remove();
      return this.finish(startFailure(`cannot start the container for ${image}: ${why}`));
    }
    this.phase = 'running';
    if (this.graceMs !== null) this.sendStop();
    void runningImageDigest(this.deps.engine, created, image).then(this.settleDigest);

    // Logs (not attach): the engine keeps everything since start, so nothing written before
    // we connect is lost, and it needs no connection upgrade.
    const logsDone = this.followLogs(created);
    const status = await this.waitForExit(created);
    this.clearKillTimer();
    await this.drainLogs(logsDone);
    await this.reportOomKill(created);
    await this.remove();
    this.finish(exitFromStatusCode(status));
  }

  private async create(image: string): Promise<string | ExitInfo> {
    const body = buildCreateBody({ ...this.spec, image }, this.deps.settings);
    const name = containerName(this.spec.trialId, randomBytes(3).toString('hex'));
    const attempt = () => this.deps.engine.call('POST', '/containers/create', { query: { name }, body });
    try {
      let reply = await attempt();
      if (reply.status === 404 && this.deps.pull === 'missing') {
        try {
          await pullImage(this.deps.engine, image, this.deps.pullTimeoutMs, this.pullAbort.signal);
        } catch (e) {
          if (this.graceMs !== null) return { code: null, signal: 'SIGTERM' };
          return startFailure(`image ${image} is not on this node and pulling it failed: ${(e as Error).message}`);
        }
        reply = await attempt();
      }
      if (reply.status === 201) {
        const id = (reply.body as { Id?: unknown }).Id;
        if (typeof id === 'string' && /^[0-9a-zA-Z]+$/.test(id)) return id;
        return startFailure(`the container engine created a container without a usable id for ${image}`);
      }
      const why = engineMessage(reply.body) || `HTTP ${reply.status}`;
      if (reply.status === 404) return startFailure(`image ${image} is not on this node and pulling is off: ${why}`);
      return startFailure(`cannot create a container for ${image}: ${why}`);
    } catch (e) {
      return startFailure((e as Error).message);
    }
  }

  private async followLogs(id: string): Promise<void> {
    try {
      this.logs = await this.deps.engine.stream('GET', `/containers/${id}/logs`, { query: { follow: 1, stdout: 1, stderr: 1 } });
      await pipeline(this.logs, new DockerLogDemuxer({ stdout: this.stdout, stderr: this.stderr }));
    } catch (e) {
      if (!this.logsAbandoned) this.note(`cannot read the container's output: ${(e as Error).message}`);
    }
  }

  private async waitForExit(id: string): Promise<number | null> {
    try {
      const reply = await this.deps.engine.call('POST', `/containers/${id}/wait`, { query: { condition: 'not-running' }, timeoutMs: 0 });
      const body = reply.body as { StatusCode?: unknown; Error?: { Message?: unknown } | null };
      if (reply.status !== 200 || typeof body?.StatusCode !== 'number') {
        this.note(`waiting for the container failed: ${engineMessage(reply.body) || `HTTP ${reply.status}`}`);
        return null;
      }
      const msg = body.Error?.Message;
      if (typeof msg === 'string' && msg !== '') this.note(`the engine reported: ${msg}`);
      return body.StatusCode;
    } catch (e) {
      this.note(`lost the container engine while the trial ran: ${(e as Error).message}`);
      return null;
    }
  }

  private async drainLogs(logsDone: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<'cap'>((resolve) => {
      timer = setTimeout(() => resolve('cap'), this.deps.drainTimeoutMs);
    });
    const outcome = await Promise.race([logsDone.then(() => 'done' as const), cap]);
    clearTimeout(timer);
    if (outcome === 'cap') {
      // Nobody reads, or the engine keeps the stream open: the exit must not wait for output.
      this.logsAbandoned = true;
      this.logs?.destroy();
      await logsDone;
    }
  }

  private async reportOomKill(id: string): Promise<void> {
    try {
      const reply = await this.deps.engine.call('GET', `/containers/${id}/json`);
      const state = (reply.body as { State?: { OOMKilled?: unknown } } | null)?.State;
      if (reply.status === 200 && state?.OOMKilled === true) {
        const limit = this.deps.settings.memoryBytes;
        this.note(`the container ran out of memory and was killed${limit ? ` (limit ${Math.round(limit / 2 ** 20)} MiB)` : ''}`);
      }
    } catch {
      // Only an explanation is lost; the exit code already says it was killed.
    }
  }

  private sendStop(): void {
    if (this.stopSent || this.id === null) return;
    this.stopSent = true;
    const id = this.id;
    const graceMs = this.graceMs ?? 0;
    // Whole seconds, rounded up, so the engine's own SIGKILL never comes before ours.
    const t = Math.ceil(graceMs / 1000);
    this.killTimer = setTimeout(() => void this.kill(id), graceMs);
    this.deps.engine
      .call('POST', `/containers/${id}/stop`, { query: { t }, timeoutMs: graceMs + 30_000 })
      .then((r) => {
        if (r.status !== 204 && r.status !== 304 && r.status !== 404) this.deps.warn('container stop refused', { trialId: this.spec.trialId, status: r.status, message: engineMessage(r.body) });
      })
      .catch((e: unknown) => this.deps.warn('container stop failed', { trialId: this.spec.trialId, err: String(e) }));
  }

  private async kill(id: string): Promise<void> {
    this.killTimer = null;
    if (this.phase === 'done') return;
    try {
      const r = await this.deps.engine.call('POST', `/containers/${id}/kill`, { query: { signal: 'SIGKILL' } });
      // 409: it stopped in the meantime.
      if (r.status !== 204 && r.status !== 409 && r.status !== 404) this.deps.warn('container kill refused', { trialId: this.spec.trialId, status: r.status, message: engineMessage(r.body) });
    } catch (e) {
      this.deps.warn('container kill failed', { trialId: this.spec.trialId, err: String(e) });
    }
  }

  private clearKillTimer(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = null;
  }

  private async remove(): Promise<void> {
    if (this.id === null) return;
    try {
      const r = await this.deps.engine.call('DELETE', `/containers/${this.id}`, { query: { force: true, v: true } });
      if (r.status !== 204 && r.status !== 404) this.deps.warn('container not removed', { trialId: this.spec.trialId, id: this.id, status: r.status, message: engineMessage(r.body) });
    } catch (e) {
      this.deps.warn('container not removed', { trialId: this.spec.trialId, id: this.id, err: String(e) });
    }
  }

  /** Runtime remarks go to the trial's stderr, where the user looks, not only the agent's log. */
  private note(line: string): void {
    if (!this.stderr.writableEnded) this.stderr.write(`tunehive: ${line}\n`);
  }

  private finish(info: ExitInfo): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.clearKillTimer();
    this.stdout.end();
    this.stderr.end();
    this.settleDigest(undefined);
    this.settle(info);
  }
}

function startFailure(startError: string): ExitInfo {
  return { code: null, signal: null, startError };
}
