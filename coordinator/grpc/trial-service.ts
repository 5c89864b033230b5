/**
 * The coordinator's end of the worker protocol: one bidirectional stream per trial attempt.
 * Messages of a stream are handled strictly in order (a promise chain), and every state
 * change goes through one atomic store script, so repeated or late messages change nothing.
 * Every stream belongs to an authenticated worker (its credential is checked before the first
 * message), and an attempt only to the worker that proved the job's delivery when it started it
 * (and re-joins with the attempt's secret): see ARCHITECTURE.md, "Worker authentication".
 */
import { DEFAULT_TRIAL_LIMITS } from '../../shared/study-spec.js';
import type * as grpc from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { CoordinatorMessage, FinishOutcome as WireOutcome, JoinReply, JoinRequest, TrialStream, TrialTemplateMsg, WorkerMessage } from '../../shared/proto.js';
import type { StudySpec } from '../../shared/study-spec.js';
import { JOB_ID, projectOf } from '../../shared/trial-job.js';
import { mayServe, type WorkerAuth, type WorkerPrincipal } from '../auth/worker-auth.js';
import type { TrialQueue } from '../queue/trial-queue.js';
import { parseTrialId } from '../../shared/redis-keys.js';
import { TunehiveError, type ErrorCode } from '../../shared/errors.js';
import { UnrecoverableError, blameTrial, checkBatch, checkFinished, checkStarted, maxMetricPoints, programTimes } from '../../shared/wire-limits.js';
import { fromColumns } from '../../shared/metric-columns.js';
import type { FinishOutcome } from '../store/study-store.js';
import type { StudyStore } from '../store/study-store-contract.js';
import type { StudyRunner } from '../runner/study-runner.js';
import type { TrialCommands } from '../runner/trial-commands.js';
import { createReportHandler } from '../stopping/decider.js';
import type { RunStore } from '../runs/run-store-contract.js';
import { checkProvenanceReport, checkTagReport } from '../runs/provenance-report.js';
import { rerunDifferences } from '../../shared/rerun-check.js';
import { RERUN_DIFFERENCES_TAG } from '../runs/rerun.js';
import { RUN_LIMITS } from '../../shared/run-model.js';
import { trialSeed } from '../../shared/seed.js';
import type { RunTokens } from '../mlflow/run-tokens.js';

export interface TrialServiceDeps {
  store: StudyStore;
  runner: StudyRunner;
  commands: TrialCommands;
  /** Who is calling: every call but Join needs a live worker credential. */
  auth: WorkerAuth;
  /** Where a fresh start's proof of delivery (the job's lock) is checked. */
  queue: TrialQueue;
  /** Where provenance and program tags are stored (without one they are checked and dropped). */
  runs?: Pick<RunStore, 'setProvenance' | 'setTags'>;
  log: Logger;
  /** Counts metric points accepted and early-stopping decisions (for /metrics). */
  onPoints?: (n: number) => void;
  onDecision?: (decision: 'PRUNED' | 'PAUSED') => void;
  /**
   * Messages of one stream waiting on its promise chain before the stream is paused (HTTP/2
   * flow control then holds the worker): bounds the coordinator's memory while Redis is slow.
   */
  maxQueuedPerStream?: number;
  /** Live figures of every stream together (for tests and /metrics). */
  stats?: StreamStats;
  /** MLflow tracking for trial programs: each granted fresh attempt gets a run token (coordinator/mlflow/run-tokens.ts). */
  runTokens?: RunTokens;
}

export interface StreamStats {
  /** Messages received and not yet handled, over all streams. */
  queued: number;
  /** The highest `queued` seen on any one stream. */
  maxQueuedOnAStream: number;
  /** Times a stream was paused because its queue was full. */
  pauses: number;
}

/** How each code ends a stream (FAILED_PRECONDITION for the rest): none is retried by the worker. */
const GRPC_STATUS: Partial<Record<ErrorCode, grpcStatus>> = {
  TH_ERR_WIRE_INVALID: grpcStatus.INVALID_ARGUMENT,
  TH_ERR_WIRE_TOO_LARGE: grpcStatus.RESOURCE_EXHAUSTED,
  TH_ERR_TRIAL_NOT_FOUND: grpcStatus.NOT_FOUND,
  TH_ERR_STUDY_NOT_FOUND: grpcStatus.NOT_FOUND,
  TH_ERR_WORKER_UNAUTHENTICATED: grpcStatus.UNAUTHENTICATED,
  TH_ERR_WORKER_FORBIDDEN: grpcStatus.PERMISSION_DENIED,
  TH_ERR_WORKER_NOT_FOUND: grpcStatus.NOT_FOUND,
  TH_ERR_AUTH_RATE_LIMITED: grpcStatus.RESOURCE_EXHAUSTED,
};

/** The gRPC status of an error that ends a call: UNAVAILABLE (retry) unless it is one of ours. */
export function grpcErrorOf(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof TunehiveError) return { code: GRPC_STATUS[err.code] ?? grpcStatus.FAILED_PRECONDITION, details: `${err.code}: ${err.message}` };
  return { code: grpcStatus.UNAVAILABLE, details: err instanceof Error ? err.message : String(err) };
}

const forbidden = (why: string) => new TunehiveError('TH_ERR_WORKER_FORBIDDEN', why);

/** What a worker runs for a study: its template and quotas, as the StartReply carries them. */
export function templateOf(spec: StudySpec): TrialTemplateMsg {
  const t = spec.trial!;
  const l = spec.limits;
  return {
    command: t.command, env: t.env, timeoutSeconds: t.timeoutSeconds ?? 0, image: t.image ?? '',
    codeVersion: t.codeVersion ?? '', dataFiles: t.dataFiles ?? [],
    ...(l ? { limits: { maxMetricPoints: l.maxMetricPoints, maxCheckpointBytes: l.maxCheckpointBytes, maxCheckpointFiles: l.maxCheckpointFiles,
      // Specs stored before artifact quotas existed have none: the defaults.
      maxArtifactBytes: l.maxArtifactBytes ?? DEFAULT_TRIAL_LIMITS.maxArtifactBytes, maxArtifactFiles: l.maxArtifactFiles ?? DEFAULT_TRIAL_LIMITS.maxArtifactFiles } } : {}),
    ...(t.metricsCollector ? { metricsCollector: { kind: t.metricsCollector.kind, path: t.metricsCollector.path ?? '', format: t.metricsCollector.format, filters: t.metricsCollector.filters ?? [], metrics: t.metricsCollector.metrics } } : {}),
  };
}

/** The store hands out one parsed spec per study (immutable): its template is built once too. */
const templates = new WeakMap<StudySpec, TrialTemplateMsg>();
function cachedTemplateOf(spec: StudySpec): TrialTemplateMsg {
  let t = templates.get(spec);
  if (!t) templates.set(spec, (t = templateOf(spec)));
  return t;
}

/** Redis refusals that pass by themselves (a restart loading its data, a failover, memory freed). */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|READONLY|CLUSTERDOWN|OOM|NOSCRIPT)\b/;

interface StreamState {
  studyId: string;
  number: number;
  trialId: string;
  attempt: number;
  spec: StudySpec;
  /** The worker the attempt belongs to (its credential started or re-joined it). */
  worker: WorkerPrincipal;
  unregister: () => void;
  /** An early-stopping decision was made for this attempt (the first one stands). */
  decided?: boolean;
  /** The trial's metric point cap was reached (logged once per stream). */
  dropping?: boolean;
  /** Provenance and tag reports of this attempt on this stream (capped: provenance-report.ts). */
  provenanceReports: number;
  tagReports: number;
  /** The attempt's run token (revoked when the attempt ends here). */
  runTokenId?: string;
}

/** The seed a trial gets (TUNEHIVE_SEED): a rerun's is the original's. */
export function seedOf(spec: StudySpec, number: number): number {
  return spec.rerun ? spec.rerun.seed : trialSeed(spec.algorithm.seed, number);
}

/** What a rerun's worker must find before it starts the program (StartReply.rerun_check). */
export function rerunCheckOf(spec: StudySpec): NonNullable<NonNullable<CoordinatorMessage['startReply']>['rerunCheck']> | undefined {
  const r = spec.rerun;
  if (!r) return undefined;
  return {
    of: r.of, commit: r.expect.commit ?? '', dirty: r.expect.dirty ?? false, codeVersion: r.expect.codeVersion ?? '',
    dataVersion: r.expect.dataVersion ?? '', dataSource: r.expect.dataSource ?? '', force: r.force,
  };
}

/** Maps how an attempt ended on the worker to the trial's outcome in the store. */
export function outcomeOf(f: NonNullable<WorkerMessage['finished']>): { outcome: FinishOutcome; reason: string } {
  const tail = f.reason ? f.reason : '';
  switch (f.outcome) {
    case 'OUTCOME_EXITED':
      if (f.exitCode === 0) return { outcome: 'COMPLETED', reason: '' };
      if (f.exitCode === -1 || f.signal) return { outcome: 'FAILED', reason: tail || `killed by ${f.signal || 'a signal'}` };
      return { outcome: 'FAILED', reason: tail || `exited with code ${f.exitCode}` };
    case 'OUTCOME_START_FAILED':
      return { outcome: 'FAILED', reason: tail || 'the program could not be started' };
    case 'OUTCOME_TIMED_OUT':
      return { outcome: 'FAILED', reason: tail || 'timed out' };
    case 'OUTCOME_STOPPED':
      if (f.stoppedBy === 'ACTION_STOP') return { outcome: 'CANCELLED', reason: tail || 'stopped' };
      if (f.stoppedBy === 'ACTION_PRUNE') return { outcome: 'PRUNED', reason: tail || 'pruned' };
      if (f.stoppedBy === 'ACTION_PAUSE') return { outcome: 'PAUSED', reason: tail || 'paused' };
      // Stopped by its own worker (shutdown): handed back for another attempt.
      return { outcome: 'RETRY', reason: tail || 'worker shut down' };
    default:
      return { outcome: 'FAILED', reason: `unknown outcome ${String(f.outcome)}` };
  }
}

/**
 * Ends a server stream with UNAVAILABLE so the worker re-connects and replays. (A server-side
 * `destroy()` is not seen by the client at all: its stream would hang.)
 */
export function failStream(call: { emit(event: 'error', e: Partial<grpc.StatusObject>): boolean }, err: unknown): void {
  call.emit('error', { code: grpcStatus.UNAVAILABLE, details: err instanceof Error ? err.message : String(err) });
}

/**
 * A store error that retrying cannot heal: Redis answered, and refused (a script error). Store
 * outages (connection errors, command timeouts) and transient refusals are not.
 */
function unrecoverableStoreError(err: unknown): UnrecoverableError | undefined {
  if (!(err instanceof Error) || err.name !== 'ReplyError' || TRANSIENT_REPLY.test(err.message)) return undefined;
  return new UnrecoverableError('TH_ERR_STORE_REFUSED', `the store refused the message: ${err.message.slice(0, 500)}`, [], true);
}

/** Runs a wire check of a message of a running attempt: a refusal there fails the trial. */
function trialAtFault<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    throw e instanceof UnrecoverableError ? blameTrial(e) : e;
  }
}

export function createTrialServiceHandlers(deps: TrialServiceDeps): grpc.UntypedServiceImplementation {
  const { store, runner, commands, log } = deps;
  const decideOnReports = createReportHandler({ rule: (s) => runner.rule(s), decider: runner.decider, log, ...(deps.onDecision ? { onDecision: deps.onDecision } : {}) });

  const runTrial = (call: TrialStream) => {
    let state: StreamState | undefined;
    let chain: Promise<void> = Promise.resolve();
    let failed = false;
    const send = (m: CoordinatorMessage) => {
      if (!call.writableEnded && !call.destroyed) call.write(m);
    };

    const repeatDecision = (d: { state: 'PRUNED' | 'PAUSED'; reason: string }, st: StreamState) => {
      st.decided = true;
      send({ command: { action: d.state === 'PRUNED' ? 'ACTION_PRUNE' : 'ACTION_PAUSE', reason: d.reason } });
    };

    /**
     * A fresh start must prove delivery: the worker holds the trial's BullMQ job (a job id of
     * this trial, and the lock token it got the job with). A valid credential alone cannot open
     * an attempt on someone else's trial.
     */
    const proveDelivery = async (started: NonNullable<WorkerMessage['started']>, studyId: string, gpus: number): Promise<void> => {
      const m = JOB_ID.exec(started.jobId ?? '');
      if (!m || m[1] !== started.trialId || !started.jobToken) throw forbidden(`a fresh start of ${started.trialId} must carry the job id and lock token of its queue job`);
      if (!(await deps.queue.holds(studyId, gpus, started.jobId!, started.jobToken))) {
        throw forbidden(`worker ${started.workerId} does not hold job ${started.jobId} (no lock with that token): only the worker the queue delivered the trial to may start it`);
      }
    };

    const handle = async (msg: WorkerMessage): Promise<void> => {
      const me = await principal;
      if (msg.started) {
        checkStarted(msg.started);
        if (msg.started.workerId !== me.workerId) throw forbidden(`Started names worker ${JSON.stringify(msg.started.workerId)}, but the credential is worker ${JSON.stringify(me.workerId)}`);
        const ids = parseTrialId(msg.started.trialId);
        // The spec only (cached): whether the study still runs is startAttempt's to check.
        const spec = ids && (await store.studySpec(ids.studyId));
        const study = spec ? { spec } : undefined;
        if (!ids || !study || !study.spec.trial) {
          send({ startReply: { action: 'ACTION_SKIP', attempt: 0, reason: 'unknown trial' } });
          return;
        }
        const project = projectOf(study.spec);
        if (!mayServe(me, project)) throw forbidden(`worker ${me.workerId} was joined for projects ${me.projects.join(', ')}, not for project ${project}`);
        const resume = msg.started.resumeAttempt;
        if (resume === 0) {
          await proveDelivery(msg.started, ids.studyId, study.spec.trial.gpus);
          // The job's lock is no proof that the running attempt's worker is gone: the worker
          // Redis user (BullMQ's) can set any lock or re-queue any job. An attempt whose stream
          // is open here belongs to its worker; a re-delivery after a real loss finds it closed.
          const current = commands.isOpen(msg.started.trialId) ? await store.getTrial(ids.studyId, ids.number) : undefined;
          if (current?.state === 'RUNNING' && current.workerId !== me.workerId) {
            log.warn({ trialId: msg.started.trialId, workerId: me.workerId, holder: current.workerId }, 'fresh start of a trial whose attempt is live on another worker: skipped');
            send({ startReply: { action: 'ACTION_SKIP', attempt: 0, reason: `attempt ${current.attempt} is running on worker ${current.workerId}` } });
            return;
          }
        }
        const secret = randomBytes(32).toString('base64url');
        const hw = msg.started.hardware ? JSON.stringify(msg.started.hardware) : '';
        const r = await store.startAttempt(ids.studyId, ids.number, msg.started.workerId, resume, hw, study.spec.maxRetries, Date.now(), msg.started.deliveryId ?? '',
          { issued: secret, ...(msg.started.attemptSecret ? { presented: msg.started.attemptSecret } : {}) });
        if (r.forbidden) throw forbidden(r.reason);
        if (r.attempt === 0) {
          if (r.exhausted !== undefined) {
            // Every allowed attempt died with its worker: the trial fails here, once.
            const f = await store.finishTrial(ids.studyId, ids.number, r.exhausted, 'RETRY', {
              direction: study.spec.objective.direction, reason: `its worker was lost ${r.exhausted} times`, maxRetries: study.spec.maxRetries,
            });
            if (f.applied) runner.kick(ids.studyId);
          }
          send({ startReply: { action: 'ACTION_SKIP', attempt: 0, reason: r.reason } });
          return;
        }
        const trialId = msg.started.trialId;
        // Commands name no trial: an earlier Start's trial must not keep this stream as its sink.
        state?.unregister();
        state = {
          studyId: ids.studyId, number: ids.number, trialId, attempt: r.attempt, spec: study.spec, worker: me, provenanceReports: 0, tagReports: 0,
          unregister: commands.register(trialId, (action, reason) => send({ command: { action, reason } })),
        };
        log.debug({ trialId, attempt: r.attempt, workerId: msg.started.workerId }, 'attempt started');
        const trial = r.trial;
        const rerunCheck = rerunCheckOf(study.spec);
        // Only a fresh start mints: a re-joining worker's program keeps the token it was started with.
        const mlflow = deps.runTokens && resume === 0
          ? await deps.runTokens.mint({ studyId: ids.studyId, number: ids.number, attempt: r.attempt, project, timeoutSeconds: study.spec.trial.timeoutSeconds ?? 0 })
          : undefined;
        if (mlflow) state.runTokenId = mlflow.id;
        send({ startReply: {
          action: 'ACTION_RUN', attempt: r.attempt, reason: '',
          checkpointId: trial?.checkpoint?.id ?? '', checkpointStep: trial?.checkpoint?.step ?? 0, budget: trial?.budget ?? study.spec.rerun?.budget ?? 0,
          seed: seedOf(study.spec, ids.number), ...(rerunCheck ? { rerunCheck } : {}),
          // A re-join keeps the secret it proved; only a granted fresh start issues one.
          attemptSecret: resume === 0 ? secret : '',
          template: cachedTemplateOf(study.spec), paramsJson: JSON.stringify(trial?.params ?? {}),
          ...(mlflow ? { mlflowTrackingUri: deps.runTokens!.trackingUri, mlflowTrackingToken: mlflow.token, mlflowRunId: trialId, mlflowExperimentId: ids.studyId } : {}),
          packedMetrics: true,
        } });
        // A re-joining worker may have missed the decision made before its stream broke.
        if (trial?.stopDecision) repeatDecision(trial.stopDecision, state);
        return;
      }
      if (!state) return; // Anything before a granted start is meaningless.
      const claimed = msg.metrics?.attempt ?? msg.heartbeat?.attempt ?? msg.finished?.attempt ?? msg.provenance?.attempt ?? msg.tags?.attempt;
      if (claimed !== undefined && claimed !== state.attempt) throw forbidden(`this stream is attempt ${state.attempt}; it cannot report for attempt ${claimed}`);
      // A revoked worker's streams end at their next message of any kind (not only a heartbeat,
      // which a rogue simply never sends): the trial is handed back. The check is the verifier's
      // cache (a revocation on this replica is seen at once, on others within its cacheMs).
      if (!(await deps.auth.check(state.worker.token))) {
        await handBack(state, `worker ${state.worker.workerId} was revoked`);
        send({ command: { action: 'ACTION_STOP', reason: 'the worker credential was revoked' } });
        throw new TunehiveError('TH_ERR_WORKER_UNAUTHENTICATED', 'the worker credential was revoked');
      }
      if (msg.metrics) {
        const { attempt, seq } = msg.metrics;
        const columns = msg.metrics.columns;
        const points = columns && msg.metrics.points.length === 0 ? trialAtFault(() => fromColumns(columns)) : msg.metrics.points;
        trialAtFault(() => checkBatch(points, Date.now(), seq));
        // The decoded points as they are (appendMetrics reads name, step, value and timeMs): no copy per point.
        const r = await store.appendMetrics(state.studyId, state.number, attempt, seq, state.spec.objective.metric,
          points, maxMetricPoints(state.spec), undefined, state.spec.objective.strategy);
        if (r.status === -1) {
          // Acknowledged so the worker stops waiting on it; nothing was stored.
          send({ ack: { seq } });
          send({ command: { action: 'ACTION_STOP', reason: 'this attempt is no longer current' } });
          return;
        }
        if (r.status === -2) throw new Error(`metric batch ${seq} arrived after a gap; re-join and replay in order`);
        if (r.status === 1) deps.onPoints?.(points.length - r.dropped);
        if (r.dropped > 0 && !state.dropping) {
          state.dropping = true;
          log.warn({ trialId: state.trialId, maxMetricPoints: maxMetricPoints(state.spec) }, 'trial reached its metric point cap; later points are dropped and counted');
        }
        send({ ack: r.dropped > 0 ? { seq, droppedPoints: r.dropped } : { seq } });
        if (r.status === 1) await decideOnReports(state, points.filter((p) => p.name === state!.spec.objective.metric).length, (action, reason) => send({ command: { action, reason } }));
        return;
      }
      if (msg.provenance) {
        const p = checkProvenanceReport(msg.provenance.provenanceJson, state.attempt, state.provenanceReports++);
        await deps.runs?.setProvenance(state.trialId, p);
        // A forced rerun ran although code or data differ from the record: the run says what
        // differs. Worked out here from what is stored, not taken from the worker's tags
        // (`tunehive.` tags are refused from workers: a program could forge them).
        const check = state.spec.rerun?.force ? rerunCheckOf(state.spec) : undefined;
        const differences = check ? rerunDifferences(check, p.code, p.data) : [];
        if (differences.length > 0) await deps.runs?.setTags(state.trialId, { [RERUN_DIFFERENCES_TAG]: differences.join('; ').slice(0, RUN_LIMITS.tagValueLength) });
        return;
      }
      if (msg.tags) {
        const tags = checkTagReport(msg.tags.tags ?? {}, state.tagReports++);
        if (Object.keys(tags).length > 0) await deps.runs?.setTags(state.trialId, tags);
        return;
      }
      if (msg.heartbeat) {
        // Also how a worker learns of a stop when the command went out on a stream that broke.
        const hb = await store.heartbeat(state.studyId, state.number, state.attempt);
        if (!hb.current) send({ command: { action: 'ACTION_STOP', reason: 'this attempt is no longer current' } });
        else if (hb.studyState !== 'RUNNING') send({ command: { action: 'ACTION_STOP', reason: `study ${hb.studyState.toLowerCase()}` } });
        else if (hb.stopDecision) repeatDecision(hb.stopDecision, state);
        return;
      }
      if (msg.finished) {
        trialAtFault(() => checkFinished(msg.finished!));
        const { outcome, reason } = outcomeOf(msg.finished);
        const r = await store.finishTrial(state.studyId, state.number, msg.finished.attempt, outcome, {
          direction: state.spec.objective.direction, reason, exitCode: msg.finished.exitCode,
          stderrTail: msg.finished.stderrTail, maxRetries: state.spec.maxRetries,
          ...(msg.finished.stopLatencyMs ? { stopLatencyMs: msg.finished.stopLatencyMs } : {}),
          ...(msg.finished.truncatedLines ? { truncatedLines: msg.finished.truncatedLines, droppedBytes: msg.finished.droppedBytes ?? 0 } : {}),
          ...programTimes(msg.finished),
        });
        // Per trial: at debug when all went well (at thousands of trials/s, info would be the coordinator's main work).
        const level = r.applied && r.state === 'COMPLETED' ? 'debug' : 'info';
        log[level]({ trialId: state.trialId, attempt: msg.finished.attempt, state: r.state, applied: r.applied, reason }, 'attempt finished');
        if (r.applied && r.state === 'QUEUED') {
          const study = await store.getStudy(state.studyId);
          const trial = await store.getTrial(state.studyId, state.number);
          if (study && trial) await deps.runner.enqueueRetry(study, trial);
        }
        send({ finishAck: { state: r.state } });
        state.unregister();
        await revokeRunToken(state);
        if (r.applied) runner.kick(state.studyId);
        call.end();
      }
    };

    /** The attempt ended: its program's MLflow token stops working now (the routes also check the attempt). */
    const revokeRunToken = async (st: StreamState): Promise<void> => {
      if (!st.runTokenId || !deps.runTokens) return;
      const id = st.runTokenId;
      st.runTokenId = undefined;
      await deps.runTokens.revoke(id).catch((err: unknown) => log.warn({ err: (err as Error).message, trialId: st.trialId }, 'run token not revoked (it still ends with its attempt)'));
    };

    /** Gives the attempt up for another worker (as if its worker had been lost). */
    const handBack = async (st: StreamState, reason: string): Promise<void> => {
      const r = await store.finishTrial(st.studyId, st.number, st.attempt, 'RETRY', { direction: st.spec.objective.direction, reason, maxRetries: st.spec.maxRetries });
      log.warn({ trialId: st.trialId, attempt: st.attempt, state: r.state, reason }, 'attempt handed back');
      await revokeRunToken(st);
      if (r.applied && r.state === 'QUEUED') {
        const study = await store.getStudy(st.studyId);
        const trial = await store.getTrial(st.studyId, st.number);
        if (study && trial) await deps.runner.enqueueRetry(study, trial);
      }
      if (r.applied) runner.kick(st.studyId);
    };

    /**
     * Ends the stream for an error. Unrecoverable ones end it with a status the worker does not
     * retry, after recording the trial FAILED when the trial is at fault (so it never hangs);
     * everything else (a store outage) ends it UNAVAILABLE: the worker re-joins and replays.
     */
    const endWith = async (err: unknown): Promise<void> => {
      const permanent = err instanceof TunehiveError ? err : unrecoverableStoreError(err);
      if (!permanent) {
        log.warn({ err: (err as Error).message, trialId: state?.trialId }, 'trial stream failed; the worker will re-join');
        failStream(call, err);
        return;
      }
      if (permanent instanceof UnrecoverableError && permanent.trialAtFault && state) {
        const st = state;
        try {
          const f = await store.finishTrial(st.studyId, st.number, st.attempt, 'FAILED', {
            direction: st.spec.objective.direction, reason: `refused a message from the worker: ${permanent.message}`, maxRetries: st.spec.maxRetries,
          });
          if (f.applied) runner.kick(st.studyId);
        } catch (storeErr) {
          // Not recorded: the worker re-joins, sends the same message, and it is refused again.
          failStream(call, storeErr);
          return;
        }
      }
      log.warn({ err: permanent.message, code: permanent.code, trialId: state?.trialId }, 'trial stream refused a message');
      call.emit('error', grpcErrorOf(permanent));
    };

    // Checked before any message is handled; a stream without a live credential ends at once.
    const principal = deps.auth.authenticate(call.metadata);
    principal.catch(() => undefined);
    chain = principal.then(() => undefined, async (err: unknown) => {
      failed = true;
      await endWith(err);
    });

    const maxQueued = deps.maxQueuedPerStream ?? 64;
    const stats = deps.stats;
    let queued = 0;
    let paused = false;
    call.on('data', (msg: WorkerMessage) => {
      queued++;
      if (stats) {
        stats.queued++;
        stats.maxQueuedOnAStream = Math.max(stats.maxQueuedOnAStream, queued);
      }
      if (queued >= maxQueued && !paused) {
        paused = true;
        if (stats) stats.pauses++;
        call.pause();
      }
      chain = chain.then(() => (failed ? undefined : handle(msg))).catch(async (err: unknown) => {
        // Later messages already buffered must not be stored past the failed one: the worker
        // re-joins and replays everything unacknowledged, in order.
        failed = true;
        state?.unregister();
        await endWith(err);
      }).finally(() => {
        queued--;
        if (stats) stats.queued--;
        if (paused && queued <= maxQueued / 2) {
          paused = false;
          call.resume();
        }
      });
    });
    const done = () => state?.unregister();
    call.on('end', () => {
      done();
      void chain.finally(() => { if (!call.writableEnded) call.end(); });
    });
    call.on('error', done);
    call.on('cancelled', done);
  };

  const join = (call: grpc.ServerUnaryCall<JoinRequest, JoinReply>, callback: grpc.sendUnaryData<JoinReply>) => {
    deps.auth.join(call.request, call.getPeer()).then(
      (reply) => {
        log.info({ workerId: reply.workerId, projects: reply.projects }, 'worker joined');
        callback(null, reply);
      },
      (err: unknown) => {
        log.warn({ err: (err as Error).message, workerId: String(call.request.workerId ?? '').slice(0, 200) }, 'worker join refused');
        callback(grpcErrorOf(err));
      },
    );
  };

  return { runTrial, join } as unknown as grpc.UntypedServiceImplementation;
}
