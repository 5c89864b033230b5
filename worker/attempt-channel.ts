/**
 * The worker's end of one trial attempt's gRPC stream, made reliable: metric batches carry
 * per-attempt sequence numbers and are kept until acknowledged; when the stream breaks
 * (coordinator restart, network), it re-connects with backoff, re-joins the same attempt
 * (`resumeAttempt`) and replays what was not acknowledged. The coordinator de-duplicates, so
 * metrics are delivered at least once and stored exactly once.
 *
 * Bounded: at most `window` batches are unacknowledged at a time (the session stops reading
 * the program's output while the window is full), and a stream that keeps failing is given up
 * after `giveUpMs` counted from the first break without progress. Errors the coordinator marks
 * as permanent end the attempt at once.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { toColumns } from '../shared/metric-columns.js';
import type { CommandAction, CoordinatorMessage, HardwareMsg, MetricPoint, RerunCheckMsg, TrialTemplateMsg, WorkerMessage } from '../shared/proto.js';

type Duplex = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage>;
type Finished = NonNullable<WorkerMessage['finished']>;

/**
 * Statuses with which the coordinator says "this cannot heal": re-joining would only repeat
 * the failure (and, before this rule, burn 58 re-joins in 15 s on one bad batch).
 */
const PERMANENT = new Set<number>([
  grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED, grpc.status.NOT_FOUND, grpc.status.FAILED_PRECONDITION, grpc.status.PERMISSION_DENIED,
  // The worker's credential is gone (revoked, expired): no re-join can heal that.
  grpc.status.UNAUTHENTICATED,
]);

export const DEFAULT_WINDOW = 16;

export interface ChannelOptions {
  client: grpc.Client;
  trialId: string;
  workerId: string;
  /** The queue job that delivered the trial and its lock token: a fresh start's proof of delivery. */
  jobId?: string;
  jobToken?: string;
  hardware?: HardwareMsg;
  log: Logger;
  /** Give up re-connecting after this long without progress (then the job is retried by the queue). */
  giveUpMs?: number;
  /** Unacknowledged metric batches allowed at once. */
  window?: number;
  /** First and largest delay between re-connects. */
  backoffMs?: { first: number; max: number };
  /**
   * A stream that stays joined this long without breaking counts as progress even when the
   * program reports nothing (a silent program must not inherit the give-up clock of an old blip).
   */
  stableMs?: number;
}

/** What the coordinator gave the attempt for MLflow tracking (passed to the program as MLFLOW_* variables). */
export interface MlflowEnv { trackingUri: string; token: string; runId: string; experimentId: string }

export type StartResult =
  | {
    run: true; attempt: number; checkpointId: string; checkpointStep: number; budget: number; attemptSecret: string; template?: TrialTemplateMsg; paramsJson: string;
    seed: number; rerunCheck?: RerunCheckMsg; mlflow?: MlflowEnv;
  }
  | { run: false; reason: string; code?: grpc.status };

export class AttemptChannel extends EventEmitter<{ command: [CommandAction, string]; window: [] }> {
  /** Sent in every Started of this delivery, so a re-sent Started gets the same attempt back. */
  readonly deliveryId = randomUUID();
  private call: Duplex | undefined;
  private attempt = 0;
  private seq = 0;
  private readonly unacked = new Map<number, MetricPoint[]>();
  private finished: Finished | undefined;
  private waitStart: ((r: StartResult) => void) | undefined;
  private waitFinish: ((state: string) => void) | undefined;
  private closed = false;
  private readonly backoff: { first: number; max: number };
  private backoffMs: number;
  /** Whether the current stream's `started` was answered RUN (see write). */
  private joined = false;
  /** The current stream's coordinator reads metric batches as columns (its StartReply said so). */
  private packed = false;
  /** Set when the attempt can no longer report (superseded, ended, or coordinator unreachable): nothing will be acknowledged. */
  private ended: string | undefined;
  private endReason = '';
  private finishAcked = false;
  private ackWaiters: Array<{ seq: number; resolve: () => void }> = [];
  private brokenSince = 0;
  private stableTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private warnedDropped = false;
  /** The attempt's secret from its StartReply: proves re-joins and checkpoint transfers. */
  private secret = '';
  /** The gRPC status that ended the attempt for good (UNAUTHENTICATED: the worker's credential is dead). */
  endedCode: grpc.status | undefined;
  /** The latest provenance and every tag sent: not acknowledged, so sent again on each re-join (storing them is idempotent). */
  private provenanceJson: string | undefined;
  private readonly tags = new Map<string, string>();
  /** Streams opened after the first (re-joins and re-sent starts), for logs and tests. */
  reconnects = 0;

  constructor(private readonly o: ChannelOptions) {
    super();
    this.backoff = o.backoffMs ?? { first: 200, max: 5000 };
    this.backoffMs = this.backoff.first;
  }

  /** Opens the stream and asks to start a new attempt; retries while the coordinator is unreachable. */
  async start(): Promise<StartResult> {
    return this.connect(0);
  }

  get currentAttempt(): number {
    return this.attempt;
  }

  get attemptSecret(): string {
    return this.secret;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Why the attempt ended without the coordinator's acknowledgement ('' while it has not). */
  get endedReason(): string {
    return this.endReason;
  }

  /** Batches sent and not yet acknowledged. */
  get inFlight(): number {
    return this.unacked.size;
  }

  /** The caller should stop producing batches until `window` is emitted. */
  get windowFull(): boolean {
    return !this.ended && this.unacked.size >= (this.o.window ?? DEFAULT_WINDOW);
  }

  sendMetrics(points: MetricPoint[]): void {
    // Nothing will ever acknowledge them: keeping them would only grow memory.
    if (points.length === 0 || this.ended) return;
    const seq = ++this.seq;
    this.unacked.set(seq, points);
    this.writeMetrics(seq, points);
  }

  /** As columns to a coordinator that said it reads them (decided per stream: a re-join may reach another one). */
  private writeMetrics(seq: number, points: MetricPoint[]): void {
    this.write({ metrics: this.packed ? { attempt: this.attempt, seq, points: [], columns: toColumns(points) } : { attempt: this.attempt, seq, points } });
  }

  /** Resolves once every batch up to `seq` is stored by the coordinator. */
  waitForAck(seq = this.seq): Promise<void> {
    if (this.ended || ![...this.unacked.keys()].some((s) => s <= seq)) return Promise.resolve();
    return new Promise((resolve) => this.ackWaiters.push({ seq, resolve }));
  }

  /** The attempt's provenance (a later one replaces it on the run). */
  sendProvenance(json: string): void {
    if (this.ended) return;
    this.provenanceJson = json;
    this.write({ provenance: { attempt: this.attempt, provenanceJson: json } });
  }

  /** Tags from the program; the caller bounds how many distinct keys it sends. */
  sendTags(tags: Record<string, string>): void {
    if (this.ended) return;
    for (const [k, v] of Object.entries(tags)) this.tags.set(k, v);
    this.write({ tags: { attempt: this.attempt, tags } });
  }

  heartbeat(): void {
    this.write({ heartbeat: { attempt: this.attempt } });
  }

  /** Reports the exit and resolves with the trial's state once the coordinator has recorded it. */
  finish(f: Omit<Finished, 'attempt' | 'lastSeq'>): Promise<string> {
    this.finished = { ...f, attempt: this.attempt, lastSeq: this.seq };
    if (this.ended) return Promise.resolve(this.ended);
    return new Promise<string>((resolve) => {
      this.waitFinish = resolve;
      this.write({ finished: this.finished! });
    });
  }

  /** No more acknowledgements will come: release everyone waiting for one. */
  private end(state: string, reason: string): void {
    this.ended = state;
    this.endReason = reason;
    this.unacked.clear();
    for (const w of this.ackWaiters.splice(0)) w.resolve();
    this.waitFinish?.(state);
    this.waitFinish = undefined;
    this.emit('window');
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.stableTimer);
    clearTimeout(this.retryTimer);
    this.call?.end();
    this.call = undefined;
  }

  /**
   * Writes on the current stream once it has joined the attempt. Before the join nothing but
   * `started` may go out: the coordinator de-duplicates on ascending seq, so a new batch
   * overtaking a replayed one would make the replay look like a duplicate and lose it.
   */
  private write(m: WorkerMessage): void {
    const call = this.call;
    if (call && this.joined && !call.writableEnded && !call.destroyed) call.write(m);
  }

  private connect(resumeAttempt: number): Promise<StartResult> {
    return new Promise<StartResult>((resolve) => {
      this.waitStart = resolve;
      this.open(resumeAttempt);
    });
  }

  /** Real progress: only this resets the give-up clock and the backoff (a granted re-join is not progress). */
  private progressed(): void {
    this.brokenSince = 0;
    this.backoffMs = this.backoff.first;
  }

  private open(resumeAttempt: number): void {
    if (this.closed || this.ended) return;
    const call = (this.o.client as unknown as { runTrial(): Duplex }).runTrial();
    this.call = call;
    this.joined = false;
    let broken = false;
    const onBreak = (err?: grpc.ServiceError) => {
      if (broken || this.call !== call) return;
      broken = true;
      this.call = undefined;
      this.joined = false;
      clearTimeout(this.stableTimer);
      // After the finish is acknowledged the coordinator ends the stream: that is the normal end.
      if (this.closed || this.finishAcked || this.ended) return;
      if (err && PERMANENT.has(err.code)) {
        const reason = err.details || err.message;
        this.o.log.error({ code: grpc.status[err.code], reason }, 'the coordinator ended the attempt for good; stopping the program without a retry');
        this.endedCode = err.code;
        this.waitStart?.({ run: false, reason, code: err.code });
        this.waitStart = undefined;
        this.end('ENDED', reason);
        this.emit('command', 'ACTION_STOP', reason);
        return;
      }
      const now = Date.now();
      this.brokenSince ||= now;
      const deadline = this.brokenSince + (this.o.giveUpMs ?? 10 * 60_000);
      if (now >= deadline) {
        this.o.log.error({ err: err?.message, reconnects: this.reconnects }, 'coordinator unreachable for too long; giving the trial back to the queue');
        this.waitStart?.({ run: false, reason: 'coordinator unreachable' });
        this.waitStart = undefined;
        this.end('UNREACHABLE', 'coordinator unreachable');
        this.emit('command', 'ACTION_STOP', 'coordinator unreachable');
        return;
      }
      // The last try lands on the deadline, so giving up happens on time, not a backoff later.
      const delay = Math.min(this.backoffMs, deadline - now);
      this.backoffMs = Math.min(this.backoffMs * 2, this.backoff.max);
      this.o.log.warn({ err: err?.message, retryInMs: delay }, 'trial stream broken; re-connecting');
      this.retryTimer = setTimeout(() => {
        this.reconnects++;
        this.open(this.attempt);
      }, delay);
      this.retryTimer.unref();
    };
    call.on('data', (m: CoordinatorMessage) => {
      if (this.call === call) this.onMessage(m);
    });
    call.on('error', (err: grpc.ServiceError) => onBreak(err));
    call.on('end', () => onBreak());
    call.write({
      started: {
        trialId: this.o.trialId, workerId: this.o.workerId, resumeAttempt, deliveryId: this.deliveryId, ...(this.o.hardware ? { hardware: this.o.hardware } : {}),
        // A fresh start proves the delivery; a re-join proves the attempt.
        ...(resumeAttempt === 0 ? { jobId: this.o.jobId ?? '', jobToken: this.o.jobToken ?? '' } : { attemptSecret: this.secret }),
      },
    });
  }

  private onMessage(m: CoordinatorMessage): void {
    if (m.startReply) {
      const wasRejoin = this.attempt > 0;
      if (m.startReply.action === 'ACTION_RUN') {
        this.attempt = m.startReply.attempt;
        if (m.startReply.attemptSecret) this.secret = m.startReply.attemptSecret;
        this.joined = true;
        clearTimeout(this.stableTimer);
        this.stableTimer = setTimeout(() => this.progressed(), this.o.stableMs ?? 30_000);
        this.stableTimer.unref();
        // Joined (again): send everything not yet acknowledged, in seq order, then the exit if known.
        this.packed = m.startReply.packedMetrics === true;
        for (const [seq, points] of [...this.unacked].sort((a, b) => a[0] - b[0])) this.writeMetrics(seq, points);
        if (wasRejoin && this.provenanceJson) this.write({ provenance: { attempt: this.attempt, provenanceJson: this.provenanceJson } });
        if (wasRejoin && this.tags.size > 0) this.write({ tags: { attempt: this.attempt, tags: Object.fromEntries(this.tags) } });
        if (this.finished) this.write({ finished: { ...this.finished, attempt: this.attempt } });
        const r = m.startReply;
        this.waitStart?.({
          run: true, attempt: this.attempt, checkpointId: r.checkpointId ?? '', checkpointStep: r.checkpointStep ?? 0, budget: r.budget ?? 0,
          attemptSecret: this.secret, paramsJson: r.paramsJson ?? '', ...(r.template ? { template: r.template } : {}),
          seed: r.seed ?? 0, ...(r.rerunCheck?.of ? { rerunCheck: r.rerunCheck } : {}),
          ...(r.mlflowTrackingUri && r.mlflowTrackingToken ? { mlflow: { trackingUri: r.mlflowTrackingUri, token: r.mlflowTrackingToken, runId: r.mlflowRunId ?? '', experimentId: r.mlflowExperimentId ?? '' } } : {}),
        });
      } else {
        this.waitStart?.({ run: false, reason: m.startReply.reason });
        if (wasRejoin) {
          // This attempt was taken over or ended while we were away: stop the program.
          this.end('SUPERSEDED', m.startReply.reason);
          this.emit('command', 'ACTION_STOP', m.startReply.reason);
        }
      }
      this.waitStart = undefined;
    } else if (m.ack) {
      this.progressed();
      const wasFull = this.windowFull;
      for (const seq of this.unacked.keys()) if (seq <= m.ack.seq) this.unacked.delete(seq);
      const oldest = Math.min(...this.unacked.keys());
      this.ackWaiters = this.ackWaiters.filter((w) => (w.seq < oldest ? (w.resolve(), false) : true));
      if ((m.ack.droppedPoints ?? 0) > 0 && !this.warnedDropped) {
        // Not an error: the trial reached its metric-point cap (spec limits.maxMetricPoints).
        this.warnedDropped = true;
        this.o.log.warn({ droppedPoints: m.ack.droppedPoints, seq: m.ack.seq }, 'the trial reached its metric-point cap (limits.maxMetricPoints); later points are dropped by the coordinator');
      }
      if (wasFull && !this.windowFull) this.emit('window');
    } else if (m.command) {
      this.emit('command', m.command.action, m.command.reason);
    } else if (m.finishAck) {
      this.progressed();
      this.finishAcked = true;
      this.waitFinish?.(m.finishAck.state);
      this.waitFinish = undefined;
    }
  }
}
