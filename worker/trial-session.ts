/**
 * Runs one attempt of one trial: join the attempt on the coordinator, start the program, turn
 * its stdout into metric batches, send heartbeats, obey stop/prune/pause commands, enforce the
 * timeout, and report the exit. A trial's failure is reported, never thrown: only an
 * unreachable coordinator makes `run` throw, so the queue retries the job.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CommandAction, FinishOutcome, HardwareMsg, MetricPoint } from '../shared/proto.js';
import type { TrialRun } from '../shared/trial-job.js';
import { AttemptChannel } from './attempt-channel.js';
import { trialArgv, trialEnvironment } from './command-line.js';
import { parseMetricLine, StepCounter } from './metrics/parse-line.js';
import type { Runtime } from './runtime/runtime.js';
import { CheckpointUploader, downloadCheckpoint, uploadCheckpoint } from './checkpoints/checkpoint-sync.js';

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
}

export interface SessionResult { state: string; attempt: number }

const STDERR_TAIL_LINES = 30;

export async function runTrialSession(job: TrialRun, gpus: string[], o: SessionOptions, shutdown: AbortSignal): Promise<SessionResult> {
  const log = o.log.child({ trialId: job.trialId });
  const channel = new AttemptChannel({ client: o.client, trialId: job.trialId, workerId: o.workerId, log, ...(o.hardware ? { hardware: o.hardware } : {}) });
  const start = await channel.start();
  if (!start.run) {
    channel.close();
    if (start.reason === 'coordinator unreachable') throw new Error(start.reason);
    log.info({ reason: start.reason }, 'trial skipped');
    return { state: 'SKIPPED', attempt: 0 };
  }
  // Whatever happens below (a full disk, a failed restore), the stream is closed.
  try {
    const attempt = start.attempt;
    const checkpointDir = path.join(o.workDir, 'trials', job.trialId, 'checkpoint');
    // Whatever an earlier attempt left on this machine may be newer than any complete upload:
    // start from the coordinator's latest complete checkpoint, or from an empty folder.
    await rm(checkpointDir, { recursive: true, force: true });
    await mkdir(checkpointDir, { recursive: true });
    let resume = false;
    if (start.checkpointId) {
      try {
        await downloadCheckpoint(o.client, { trialId: job.trialId, checkpointId: start.checkpointId, dir: checkpointDir });
        resume = true;
        log.info({ attempt, checkpointId: start.checkpointId, step: start.checkpointStep }, 'checkpoint restored');
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'checkpoint could not be restored; starting from scratch');
        await rm(checkpointDir, { recursive: true, force: true });
        await mkdir(checkpointDir, { recursive: true });
      }
    }
    const budgeted = start.budget > 0 ? { ...job, budget: start.budget } : job;

    const program = o.runtime.launch({
      trialId: job.trialId,
      argv: trialArgv(budgeted),
      env: trialEnvironment(budgeted, attempt, checkpointDir, resume),
      checkpointDir,
      gpus,
      ...(job.image ? { image: job.image } : {}),
    });
    log.info({ attempt, gpus, resume }, 'trial started');
    const uploader = new CheckpointUploader(
      async (step) => {
        // Metrics reported before a checkpoint are stored before it counts: a resume from it
        // must never skip an epoch whose metrics were still in flight.
        await channel.waitForAck();
        return uploadCheckpoint(o.client, { trialId: job.trialId, attempt, step, dir: checkpointDir });
      },
      (err) => log.warn({ err: (err as Error).message }, 'checkpoint upload failed'),
    );
    let lastStep = 0;
    /** The step of the program's latest announced checkpoint. */
    let checkpointStep = -1;
    let pauseAtCheckpoint = false;
    let pauseTimer: NodeJS.Timeout | undefined;
    let lastLineAt = Date.now();

    // Metric batching: one gRPC message per batch, never per point.
    let batch: MetricPoint[] = [];
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = () => {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      channel.sendMetrics(batch);
      batch = [];
    };
    const steps = new StepCounter();
    const stdoutDone = new Promise<void>((resolve) => {
      const rl = createInterface({ input: program.stdout, crlfDelay: Infinity });
      rl.on('line', (line) => {
        const parsed = parseMetricLine(line);
        if (!parsed) return;
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
        const points = steps.points(parsed, Date.now());
        for (const p of points) lastStep = Math.max(lastStep, p.step);
        batch.push(...points);
        if (batch.length >= (o.batchPoints ?? 500)) flush();
        else flushTimer ??= setTimeout(flush, o.batchMs ?? 50);
      });
      rl.on('close', resolve);
    });
    const stderrTail: string[] = [];
    createInterface({ input: program.stderr, crlfDelay: Infinity }).on('line', (line) => {
      stderrTail.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });

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
    clearTimeout(pauseTimer);
    const stopLatencyMs = stoppedBy ? Date.now() - commandLineAt : 0;
    await stdoutDone;
    clearInterval(heartbeat);
    clearTimeout(timeout);
    shutdown.removeEventListener('abort', onShutdown);
    flush();
    await uploader.idle();
    // A program that never announces its checkpoints still gets its folder saved when it exits.
    if (uploader.uploads === 0 && !exit.startError) {
      uploader.request(lastStep);
      await uploader.idle();
    }

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
    const state = await channel.finish({
      outcome, reason, exitCode: exit.code ?? -1, signal: exit.signal ?? '', stderrTail: stderrTail.join('\n'),
      ...(stoppedBy ? { stoppedBy, stopLatencyMs } : {}),
    });
    log.info({ attempt, state, exitCode: exit.code, signal: exit.signal }, 'trial finished');
    if (state === 'UNREACHABLE') throw new Error('coordinator unreachable; the trial result could not be reported');
    return { state, attempt };
  } finally {
    channel.close();
  }
}
