/**
 * The worker's end of one trial attempt's gRPC stream, made reliable: metric batches carry
 * per-attempt sequence numbers and are kept until acknowledged; when the stream breaks
 * (coordinator restart, network), it re-connects with backoff, re-joins the same attempt
 * (`resumeAttempt`) and replays what was not acknowledged. The coordinator de-duplicates, so
 * metrics are delivered at least once and stored exactly once.
 */
import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CommandAction, CoordinatorMessage, HardwareMsg, MetricPoint, WorkerMessage } from '../shared/proto.js';

type Duplex = grpc.ClientDuplexStream<WorkerMessage, CoordinatorMessage>;
type Finished = NonNullable<WorkerMessage['finished']>;

export interface ChannelOptions {
  client: grpc.Client;
  trialId: string;
  workerId: string;
  hardware?: HardwareMsg;
  log: Logger;
  /** Give up re-connecting after this long (then the job is retried by the queue). */
  giveUpMs?: number;
}

export type StartResult = { run: true; attempt: number; checkpointId: string; checkpointStep: number; budget: number } | { run: false; reason: string };

export class AttemptChannel extends EventEmitter<{ command: [CommandAction, string] }> {
  private call: Duplex | undefined;
  private attempt = 0;
  private seq = 0;
  private readonly unacked = new Map<number, MetricPoint[]>();
  private finished: Finished | undefined;
  private waitStart: ((r: StartResult) => void) | undefined;
  private waitFinish: ((state: string) => void) | undefined;
  private closed = false;
  private backoffMs = 200;
  /** Whether the current stream's `started` was answered RUN (see write). */
  private joined = false;
  /** Set when the attempt can no longer report (superseded or coordinator unreachable): nothing will be acknowledged. */
  private ended: string | undefined;
  private ackWaiters: Array<{ seq: number; resolve: () => void }> = [];
  private brokenSince = 0;

  constructor(private readonly o: ChannelOptions) {
    super();
  }

  /** Opens the stream and asks to start a new attempt; retries while the coordinator is unreachable. */
  async start(): Promise<StartResult> {
    return this.connect(0);
  }

  get currentAttempt(): number {
    return this.attempt;
  }

  get lastSeq(): number {
    return this.seq;
  }

  sendMetrics(points: MetricPoint[]): void {
    if (points.length === 0) return;
    const seq = ++this.seq;
    this.unacked.set(seq, points);
    this.write({ metrics: { attempt: this.attempt, seq, points } });
  }

  /** Resolves once every batch up to `seq` is stored by the coordinator. */
  waitForAck(seq = this.seq): Promise<void> {
    if (this.ended || ![...this.unacked.keys()].some((s) => s <= seq)) return Promise.resolve();
    return new Promise((resolve) => this.ackWaiters.push({ seq, resolve }));
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
  private end(state: string): void {
    this.ended = state;
    for (const w of this.ackWaiters.splice(0)) w.resolve();
    this.waitFinish?.(state);
    this.waitFinish = undefined;
  }

  close(): void {
    this.closed = true;
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

  private open(resumeAttempt: number): void {
    if (this.closed) return;
    const call = (this.o.client as unknown as { runTrial(): Duplex }).runTrial();
    this.call = call;
    this.joined = false;
    let broken = false;
    const onBreak = (err?: Error) => {
      if (broken || this.call !== call) return;
      broken = true;
      this.call = undefined;
      if (this.closed) return;
      this.brokenSince ||= Date.now();
      if (Date.now() - this.brokenSince > (this.o.giveUpMs ?? 10 * 60_000)) {
        this.o.log.error({ err }, 'coordinator unreachable for too long; giving the trial back to the queue');
        this.waitStart?.({ run: false, reason: 'coordinator unreachable' });
        this.end('UNREACHABLE');
        this.emit('command', 'ACTION_STOP', 'coordinator unreachable');
        return;
      }
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, 5000);
      this.o.log.warn({ err: err?.message, retryInMs: delay }, 'trial stream broken; re-connecting');
      setTimeout(() => this.open(this.attempt), delay).unref();
    };
    call.on('data', (m: CoordinatorMessage) => this.onMessage(m));
    call.on('error', (err) => onBreak(err));
    call.on('end', () => onBreak());
    call.write({ started: { trialId: this.o.trialId, workerId: this.o.workerId, resumeAttempt, ...(this.o.hardware ? { hardware: this.o.hardware } : {}) } });
  }

  private onMessage(m: CoordinatorMessage): void {
    if (m.startReply) {
      this.brokenSince = 0;
      this.backoffMs = 200;
      const wasRejoin = this.attempt > 0;
      if (m.startReply.action === 'ACTION_RUN') {
        this.attempt = m.startReply.attempt;
        this.joined = true;
        // Joined (again): send everything not yet acknowledged, in seq order, then the exit if known.
        for (const [seq, points] of [...this.unacked].sort((a, b) => a[0] - b[0])) this.write({ metrics: { attempt: this.attempt, seq, points } });
        if (this.finished) this.write({ finished: { ...this.finished, attempt: this.attempt } });
        const r = m.startReply;
        this.waitStart?.({ run: true, attempt: this.attempt, checkpointId: r.checkpointId ?? '', checkpointStep: r.checkpointStep ?? 0, budget: r.budget ?? 0 });
      } else {
        this.waitStart?.({ run: false, reason: m.startReply.reason });
        if (wasRejoin) {
          // This attempt was taken over or ended while we were away: stop the program.
          this.end('SUPERSEDED');
          this.emit('command', 'ACTION_STOP', m.startReply.reason);
        }
      }
      this.waitStart = undefined;
    } else if (m.ack) {
      for (const seq of this.unacked.keys()) if (seq <= m.ack.seq) this.unacked.delete(seq);
      const oldest = Math.min(...this.unacked.keys());
      this.ackWaiters = this.ackWaiters.filter((w) => (w.seq < oldest ? (w.resolve(), false) : true));
    } else if (m.command) {
      this.emit('command', m.command.action, m.command.reason);
    } else if (m.finishAck) {
      this.waitFinish?.(m.finishAck.state);
      this.waitFinish = undefined;
    }
  }
}
