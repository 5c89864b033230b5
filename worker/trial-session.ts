/**
 * Runs one attempt of one trial: join the attempt on the coordinator, start the program, turn
 * its stdout into metric batches, send heartbeats, obey stop/prune/pause commands, enforce the
 * timeout, and report the exit. A trial's failure is reported, never thrown: only an
 * unreachable coordinator makes `run` throw, so the queue retries the job.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CommandAction, FinishOutcome, HardwareMsg, MetricPoint } from '../shared/proto.js';
import type { TrialJob, TrialRun } from '../shared/trial-job.js';
import { AttemptChannel, type StartResult } from './attempt-channel.js';
import { mlflowEnvironment, substitute, trialArgv, trialEnvironment, trialValues } from './command-line.js';
import { LineSplitter } from './metrics/line-splitter.js';
import { parseControlLine, parseMetricLine, StepCounter, type ParsedLine } from './metrics/parse-line.js';
import { lineParser } from './metrics/collector-lines.js';
import { claimFile, FileTail } from './metrics/file-tail.js';
import { AttemptProvenance, rerunRefusal } from './provenance/attempt-provenance.js';
import type { CaptureCache } from './provenance/capture-cache.js';
import { makeFolders } from './trial-folders.js';
import type { Runtime } from './runtime/runtime.js';
import { CheckpointRefused, CheckpointUploader, downloadCheckpoint, uploadCheckpoint } from './checkpoints/checkpoint-sync.js';
import { DEFAULT_TRIAL_LIMITS } from '../shared/study-spec.js';
import { ArtifactSync, artifactLine } from './artifacts/artifact-sync.js';

/** The metric line by which a program announces a complete checkpoint (see README). */
export const CHECKPOINT_METRIC = 'tunehive.checkpoint';

export interface SessionOptions {
  client: grpc.Client;
  runtime: Runtime;
  workerId: string;
  workDir: string;
  hardware?: HardwareMsg;
  log: Logger;
  heartbeatMs: number;
  graceMs: number;
  /** Flush a metric batch after this many points or this long, whichever comes first. */
  batchPoints?: number;
  batchMs?: number;
  /** Output lines are cut at this many bytes (the rest is dropped and counted). */
  maxLineBytes?: number;
  /** Unacknowledged metric batches before the program's output stops being read. */
  window?: number;
  /** Give up re-connecting to the coordinator after this long without progress. */
  giveUpMs?: number;
  /** The queue job that delivered the trial and the lock token it came with (proof of delivery). */
  delivery?: { jobId: string; token: string };
  /** Git, DVC and data-file answers shared with the agent's other attempts. */
  captureCache?: CaptureCache;
}

export interface SessionResult {
  state: string;
  attempt: number;
  /** The coordinator refused the worker's credential during the attempt (revoked or expired). */
  credentialRejected?: boolean;
}

/** The coordinator no longer accepts this worker's credential (revoked or expired). */
export class CredentialRejected extends Error {}

/**
 * What to run, from the coordinator's start reply: its template and the trial's parameters
 * (the queue job is only the delivery, and is never trusted for either). A string says why not.
 */
export function runFromStart(job: TrialJob, start: Extract<StartResult, { run: true }>): TrialRun | string {
  const t = start.template;
  if (!t || t.command.length === 0) return 'the coordinator sent no trial template';
  let params: TrialRun['params'];
  try {
    params = start.paramsJson ? (JSON.parse(start.paramsJson) as TrialRun['params']) : {};
  } catch {
    return 'the coordinator sent unreadable trial parameters';
  }
  const run: TrialRun = { studyId: job.studyId, trialId: job.trialId, number: job.number, gpus: job.gpus, params, command: t.command, env: t.env ?? {} };
  if (t.timeoutSeconds > 0) run.timeoutSeconds = t.timeoutSeconds;
  if (t.image) run.image = t.image;
  const c = t.metricsCollector;
  if (c && c.kind) {
    if ((c.kind !== 'stdout' && c.kind !== 'file') || (c.format !== 'text' && c.format !== 'json')) return `the coordinator sent an unknown metrics collector (${c.kind}, ${c.format}); upgrade this worker`;
    run.metricsCollector = { kind: c.kind, format: c.format, metrics: c.metrics, ...(c.path ? { path: c.path } : {}), ...(c.filters.length > 0 ? { filters: c.filters } : {}) };
  }
  if (t.limits) {
    run.limits = { maxMetricPoints: t.limits.maxMetricPoints, maxCheckpointBytes: t.limits.maxCheckpointBytes, maxCheckpointFiles: t.limits.maxCheckpointFiles };
    // 0: a coordinator from before artifact quotas (its own defaults apply there).
    if (t.limits.maxArtifactBytes > 0) run.limits.maxArtifactBytes = t.limits.maxArtifactBytes;
    if (t.limits.maxArtifactFiles > 0) run.limits.maxArtifactFiles = t.limits.maxArtifactFiles;
  }
  run.seed = start.seed;
  if (t.codeVersion) run.codeVersion = t.codeVersion;
  if (t.dataFiles && t.dataFiles.length > 0) run.dataFiles = t.dataFiles;
  return run;
}

/** The file a file collector follows (its `${trial.id}`-style placeholders filled in), resolved against the agent's working directory. */
export function metricsFilePath(job: TrialRun): string | undefined {
  const c = job.metricsCollector;
  if (c?.kind !== 'file' || !c.path) return undefined;
  return path.resolve(substitute(c.path, job.params, trialValues(job)));
}

const checkpointMarkOnly = (line: string): ParsedLine | undefined => {
  const parsed = parseMetricLine(line);
  return parsed?.values.some((v) => v.name === CHECKPOINT_METRIC) ? { values: parsed.values.filter((v) => v.name === CHECKPOINT_METRIC) } : undefined;
};

const STDERR_TAIL_LINES = 30;
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export async function runTrialSession(delivered: TrialJob, gpus: string[], o: SessionOptions, shutdown: AbortSignal): Promise<SessionResult> {
  const log = o.log.child({ trialId: delivered.trialId });
  const channel = new AttemptChannel({
    client: o.client, trialId: delivered.trialId, workerId: o.workerId, log, ...(o.delivery ? { jobId: o.delivery.jobId, jobToken: o.delivery.token } : {}),
    ...(o.hardware ? { hardware: o.hardware } : {}), ...(o.window ? { window: o.window } : {}), ...(o.giveUpMs ? { giveUpMs: o.giveUpMs } : {}),
  });
  const start = await channel.start();
  if (!start.run) {
    channel.close();
    if (start.reason === 'coordinator unreachable') throw new Error(start.reason);
    // The job goes back to the queue for a worker the coordinator still accepts.
    if (start.code === grpc.status.UNAUTHENTICATED) throw new CredentialRejected(start.reason);
    log.info({ reason: start.reason }, 'trial skipped');
    return { state: 'SKIPPED', attempt: 0 };
  }
  // Whatever happens below (a full disk, a failed restore), the stream is closed.
  let tail: FileTail | undefined;
  let releaseFile: (() => void) | undefined;
  try {
    const attempt = start.attempt;
    const secret = start.attemptSecret;
    const resolved = runFromStart(delivered, start);
    if (typeof resolved === 'string') {
      log.error({ attempt, reason: resolved }, 'trial cannot be started');
      const state = await channel.finish({ outcome: 'OUTCOME_START_FAILED', reason: resolved, exitCode: -1, signal: '', stderrTail: '' });
      return { state, attempt };
    }
    const job = resolved;
    const trialDir = path.join(o.workDir, 'trials', job.trialId);
    const checkpointDir = path.join(trialDir, 'checkpoint');
    // An empty folder per attempt, like the checkpoint folder: what is in it at exit is this attempt's.
    const artifactDir = path.join(trialDir, 'artifacts');
    // Whatever an earlier attempt left on this machine may be newer than any complete upload:
    // start from the coordinator's latest complete checkpoint, or from an empty folder.
    await makeFolders(trialDir);
    let resume = false;
    if (start.checkpointId) {
      try {
        await downloadCheckpoint(o.client, { trialId: job.trialId, checkpointId: start.checkpointId, attempt, attemptSecret: secret, dir: checkpointDir });
        resume = true;
        log.info({ attempt, checkpointId: start.checkpointId, step: start.checkpointStep }, 'checkpoint restored');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'checkpoint could not be restored; starting from scratch');
        await rm(checkpointDir, { recursive: true, force: true });
        await mkdir(checkpointDir, { recursive: true });
      }
    }
    const budgeted = start.budget > 0 ? { ...job, budget: start.budget } : job;
    const metricsFile = metricsFilePath(budgeted);
    if (metricsFile !== undefined && o.runtime.name !== 'process') {
      const reason = `trial.metricsCollector kind "file" needs the process runtime: the ${o.runtime.name} runtime's files are not visible to the agent (use kind "stdout")`;
      const state = await channel.finish({ outcome: 'OUTCOME_START_FAILED', reason, exitCode: -1, signal: '', stderrTail: '' });
      return { state, attempt };
    }
    if (metricsFile !== undefined) {
      // Heartbeats go on while this trial waits for another one on the same file to end.
      const waiting = setInterval(() => channel.heartbeat(), o.heartbeatMs);
      try {
        releaseFile = await claimFile(metricsFile, shutdown);
      } finally {
        clearInterval(waiting);
      }
    }
    // The file's place is taken before the program starts: whatever it writes is its own.
    let fileSink: ((chunk: Buffer) => void) | undefined;
    const fileTail = tail = metricsFile !== undefined ? new FileTail(metricsFile, (chunk) => fileSink?.(chunk)) : undefined;
    await fileTail?.start();

    const launch = {
      trialId: job.trialId,
      argv: trialArgv(budgeted),
      env: { ...mlflowEnvironment(start.mlflow), ...trialEnvironment(budgeted, attempt, checkpointDir, resume, artifactDir) },
      checkpointDir,
      artifactDir,
      gpus,
      ...(job.image ? { image: job.image } : {}),
    };
    const context = o.runtime.context?.(launch) ?? { env: launch.env };
    const provenance = new AttemptProvenance({
      attempt, seed: job.seed ?? 0, command: launch.argv, env: context.env, runtime: o.runtime.name === 'container' || o.runtime.name === 'simulated' ? o.runtime.name : 'process', workerId: o.workerId,
      ...(context.workingDir !== undefined ? { workingDir: context.workingDir } : {}),
      ...(job.codeVersion ? { codeVersion: job.codeVersion } : {}), ...(job.dataFiles ? { dataFiles: job.dataFiles } : {}), ...(job.image ? { image: job.image } : {}),
      // A rerun compares the disk as it is now with its record: no answer from another attempt.
      ...(o.captureCache && !start.rerunCheck ? { cache: o.captureCache } : {}),
    }, { provenance: (json) => channel.sendProvenance(json), tags: (tags) => channel.sendTags(tags) }, log);
    void provenance.start();
    // A rerun checks the code and data against the record before anything runs.
    const refused = await rerunRefusal(provenance, start.rerunCheck);
    if (refused) {
      log.warn({ attempt, reason: refused }, 'rerun refused: the code or data differ from the record');
      const state = await channel.finish({ outcome: 'OUTCOME_START_FAILED', reason: refused, exitCode: -1, signal: '', stderrTail: '' });
      return { state, attempt };
    }
    const program = o.runtime.launch(launch);
    const programStartedAtMs = Date.now();
    provenance.started();
    void program.imageDigest?.then((d) => { if (d) provenance.setImageDigest(d.digest, d.pinned); });
    log.info({ attempt, gpus, resume, runtime: o.runtime.name }, 'trial started');
    const quota = { ...DEFAULT_TRIAL_LIMITS, ...job.limits };
    const uploader = new CheckpointUploader(
      async (step) => {
        // Metrics reported before a checkpoint are stored before it counts: a resume from it
        // must never skip an epoch whose metrics were still in flight.
        await channel.waitForAck();
        // An attempt that ended (superseded, failed for good, unreachable) can no longer commit one.
        if (channel.endedReason) return { accepted: false, checkpointId: '', reason: `the attempt has ended: ${channel.endedReason}` };
        return uploadCheckpoint(o.client, { trialId: job.trialId, attempt, attemptSecret: secret, step, dir: checkpointDir, quota });
      },
      (err) => log.warn({ reason: (err as Error).message }, err instanceof CheckpointRefused ? 'checkpoint upload refused' : 'checkpoint upload failed'),
    );
    const artifacts = new ArtifactSync(o.client, { trialId: job.trialId, attempt, attemptSecret: secret, dir: artifactDir, quota }, log);
    let lastStep = 0;
    /** The step of the program's latest announced checkpoint. */
    let checkpointStep = -1;
    let pauseAtCheckpoint = false;
    let pauseTimer: NodeJS.Timeout | undefined;
    let lastLineAt = Date.now();

    // Metric batching: one gRPC message per batch, never per point.
    let batch: MetricPoint[] = [];
    let flushTimer: NodeJS.Timeout | undefined;
    let flushWhenOpen = false;
    /** `force`: also past the window (a checkpoint mark must cover every point before it; the exit). */
    const flush = (force = true) => {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      if (!force && channel.windowFull) {
        flushWhenOpen = true;
        return;
      }
      flushWhenOpen = false;
      channel.sendMetrics(batch);
      batch = [];
    };
    const batchCap = o.batchPoints ?? 500;
    const steps = new StepCounter();
    const maxLineBytes = o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    const collector = job.metricsCollector;
    const parse = lineParser(collector);
    const onMetricLine = (parsed: ParsedLine) => {
      lastLineAt = Date.now();
      // `tunehive.checkpoint=N`: the program has written a complete checkpoint for step N.
      const mark = parsed.values.find((v) => v.name === CHECKPOINT_METRIC);
      if (mark) {
        flush();
        uploader.request(mark.value);
        checkpointStep = Math.max(checkpointStep, mark.value);
        if (pauseAtCheckpoint && checkpointStep >= lastStep) {
          pauseAtCheckpoint = false;
          clearTimeout(pauseTimer);
          stop(o.graceMs);
        }
        parsed.values = parsed.values.filter((v) => v.name !== CHECKPOINT_METRIC);
        if (parsed.values.length === 0) return;
      }
      // The batch cap holds whatever the line width: one line of 9,000 fields is many batches.
      for (const p of steps.points(parsed, Date.now())) {
        lastStep = Math.max(lastStep, p.step);
        batch.push(p);
        if (batch.length >= batchCap) flush();
      }
      if (batch.length > 0) flushTimer ??= setTimeout(() => flush(false), o.batchMs ?? 50);
    };
    // With a file collector, stdout carries only the checkpoint marks.
    const parseStdout = collector?.kind === 'file' ? checkpointMarkOnly : parse;
    const stdoutLines = new LineSplitter(maxLineBytes, (line, truncated) => {
      // A cut line may end in a cut number: never read metrics from it.
      if (truncated) return;
      const artifact = artifactLine(line);
      if (artifact) {
        if ('error' in artifact) log.warn({ reason: artifact.error }, 'artifact line ignored');
        else void artifacts.request([artifact.path]);
        return;
      }
      const control = parseControlLine(line);
      if (control) return provenance.control(control);
      const parsed = parseStdout(line);
      if (parsed) onMetricLine(parsed);
    });
    const fileLines = metricsFile ? new LineSplitter(maxLineBytes, (line, truncated) => {
      const parsed = truncated ? undefined : parse(line);
      if (parsed) onMetricLine(parsed);
    }) : undefined;
    fileSink = fileLines ? (chunk) => fileLines.push(chunk) : undefined;
    // Backpressure: with the window full no more output is read, so the program blocks on its
    // pipe instead of the agent piling up batches (a coordinator that is away costs no memory).
    const stdout = readLines(program.stdout, stdoutLines, () => channel.windowFull);
    const stdoutDone = stdout.done;
    channel.on('window', () => {
      if (flushWhenOpen) flush(false);
      stdout.unblock();
    });
    const stderrTail: string[] = [];
    // Katib's StdOut collector reads both streams (it runs the program with 2>&1): Python's
    // logging, which Katib's examples report with, writes to stderr.
    const stderrMetrics = collector?.kind === 'stdout';
    const stderrLines = new LineSplitter(maxLineBytes, (line, truncated) => {
      if (stderrMetrics && !truncated) {
        const parsed = parse(line);
        if (parsed) onMetricLine(parsed);
      }
      stderrTail.push(line.length > 500 || truncated ? `${line.slice(0, 500)}…` : line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });
    const stderrDone = readLines(program.stderr, stderrLines).done;

    let stoppedBy: CommandAction | undefined;
    let commandLineAt = 0;
    let selfStopped = false;
    let timedOut = false;
    const stop = (graceMs: number) => void program.stop(graceMs);
    channel.on('command', (action, reason) => {
      if (stoppedBy) return;
      stoppedBy = action;
      commandLineAt = lastLineAt;
      log.info({ action, reason }, 'coordinator asked the trial to stop');
      // A paused trial resumes from its checkpoint: let the program save the step it just
      // reported first (it announces it with tunehive.checkpoint), within the grace period.
      if (action === 'ACTION_PAUSE' && checkpointStep < lastStep) {
        pauseAtCheckpoint = true;
        pauseTimer = setTimeout(() => stop(o.graceMs), o.graceMs);
      } else {
        stop(o.graceMs);
      }
    });
    const onShutdown = () => {
      selfStopped = true;
      stop(o.graceMs);
    };
    if (shutdown.aborted) onShutdown();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
    const heartbeat = setInterval(() => channel.heartbeat(), o.heartbeatMs);
    const timeout = job.timeoutSeconds
      ? setTimeout(() => {
          timedOut = true;
          stop(o.graceMs);
        }, job.timeoutSeconds * 1000)
      : undefined;

    const exit = await program.exited;
    const programExitedAtMs = Date.now();
    // From the exit on (its 30 s cap counts from here), beside draining the output and the uploads.
    const provenanceSent = provenance.settle();
    if (exit.startError) log.warn({ attempt, reason: exit.startError }, 'trial program could not be started');
    clearTimeout(pauseTimer);
    const stopLatencyMs = stoppedBy ? Date.now() - commandLineAt : 0;
    await stdoutDone;
    await stderrDone;
    if (fileTail) {
      await fileTail.stop().catch((err: Error) => log.warn({ err: err.message, file: metricsFile }, 'the metrics file could not be read'));
      fileLines?.end();
    }
    clearInterval(heartbeat);
    clearTimeout(timeout);
    shutdown.removeEventListener('abort', onShutdown);
    flush();
    await uploader.idle();
    // A program that never announces its checkpoints still gets its folder saved when it exits
    // (one that announces them saves completely only when it says so: the folder as it stands
    // then is the last announced upload), if anything may resume from it: not after a plain exit
    // 0 (the trial is complete), unless the attempt has a budget (a PAUSE may follow, and ASHA's
    // promotion resumes from this upload).
    const mayResume = exit.code !== 0 || stoppedBy !== undefined || selfStopped || timedOut || start.budget > 0;
    if (uploader.uploads === 0 && mayResume && !exit.startError && !channel.endedReason) {
      uploader.request(lastStep);
      await uploader.idle();
    }

    // Before Finished: a completed trial's artifacts are on the run when its state says so.
    if (!exit.startError && !channel.endedReason) await artifacts.request();
    else await artifacts.idle();

    // The record goes before the exit: once Finished is acknowledged the stream ends.
    await provenanceSent;
    let outcome: FinishOutcome = 'OUTCOME_EXITED';
    let reason = '';
    if (exit.startError) {
      outcome = 'OUTCOME_START_FAILED';
      reason = exit.startError;
    } else if (stoppedBy || selfStopped) {
      outcome = 'OUTCOME_STOPPED';
    } else if (timedOut) {
      outcome = 'OUTCOME_TIMED_OUT';
      reason = `timed out after ${job.timeoutSeconds} s (trial.timeoutSeconds)`;
    } else if (exit.code !== 0) {
      reason = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      const last = stderrTail.at(-1);
      if (last) reason += `: ${last}`;
    }
    const truncatedLines = stdoutLines.truncatedLines + stderrLines.truncatedLines + (fileLines?.truncatedLines ?? 0);
    const droppedBytes = stdoutLines.droppedBytes + stderrLines.droppedBytes + (fileLines?.droppedBytes ?? 0);
    if (truncatedLines > 0) log.warn({ truncatedLines, droppedBytes, maxLineBytes }, 'output lines longer than the line cap were cut');
    const state = await channel.finish({
      outcome, reason, exitCode: exit.code ?? -1, signal: exit.signal ?? '', stderrTail: stderrTail.join('\n'),
      truncatedLines, droppedBytes,
      ...(exit.startError ? {} : { programStartedAtMs, programExitedAtMs }),
      ...(stoppedBy ? { stoppedBy, stopLatencyMs } : {}),
    });
    log.info({ attempt, state, exitCode: exit.code, signal: exit.signal, ...(channel.endedReason ? { reason: channel.endedReason } : {}) }, 'trial finished');
    if (state === 'UNREACHABLE') throw new Error('coordinator unreachable; the trial result could not be reported');
    if (channel.endedCode === grpc.status.UNAUTHENTICATED) return { state, attempt, credentialRejected: true };
    // The finish is recorded: a later attempt restores from the coordinator, never from this copy.
    await rm(trialDir, { recursive: true, force: true })
      .catch((err: Error) => log.warn({ err: err.message }, 'could not remove the local checkpoint copy'));
    return { state, attempt };
  } finally {
    tail?.cancel();
    releaseFile?.();
    channel.close();
  }
}

/**
 * Feeds a stream into a splitter, one chunk at a time; while `blocked` answers true the rest of
 * the chunk waits and the stream stays paused, until `unblock` is called.
 */
function readLines(stream: Readable, lines: LineSplitter, blocked: () => boolean = () => false): { done: Promise<void>; unblock: () => void } {
  let rest: Buffer | undefined;
  let ended = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let over = false;
  const settle = () => {
    if (over || rest) return;
    over = true;
    lines.end();
    finish();
  };
  const pump = () => {
    if (rest) rest = lines.push(rest, blocked);
    if (rest) return;
    if (ended) settle();
    else stream.resume();
  };
  stream.on('data', (chunk: Buffer | string) => {
    stream.pause();
    rest = lines.push(chunk, blocked);
    if (!rest && !blocked()) stream.resume();
  });
  const onEnd = () => {
    ended = true;
    settle();
  };
  stream.on('end', onEnd);
  stream.on('close', onEnd);
  stream.on('error', onEnd);
  return { done, unblock: () => { if (!blocked()) pump(); } };
}
