/**
 * Loads the worker <-> coordinator protocol and gives it domain-shaped TypeScript types. The
 * loaded (untyped) definitions stay at this edge; the rest of the code uses these interfaces.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';

import type { MetricPoint__Output } from './generated/tunehive/v1/MetricPoint.js';
import type { MetricColumnsMsg } from './metric-columns.js';
import type { Hardware__Output } from './generated/tunehive/v1/Hardware.js';
import type { TrialCommand__Output } from './generated/tunehive/v1/TrialCommand.js';
import type { TrialFinished__Output } from './generated/tunehive/v1/TrialFinished.js';
import type { WorkerMessage as GenWorkerMessage, WorkerMessage__Output } from './generated/tunehive/v1/WorkerMessage.js';
import type { CoordinatorMessage as GenCoordinatorMessage, CoordinatorMessage__Output } from './generated/tunehive/v1/CoordinatorMessage.js';
import type { StartReply__Output } from './generated/tunehive/v1/StartReply.js';
import type { CheckpointChunk as GenCheckpointChunk, CheckpointChunk__Output } from './generated/tunehive/v1/CheckpointChunk.js';
import type { CheckpointSaved__Output } from './generated/tunehive/v1/CheckpointSaved.js';
import type { CheckpointRequest__Output } from './generated/tunehive/v1/CheckpointRequest.js';
import type { JoinRequest__Output } from './generated/tunehive/v1/JoinRequest.js';
import type { JoinReply__Output } from './generated/tunehive/v1/JoinReply.js';
import type { TrialTemplate__Output } from './generated/tunehive/v1/TrialTemplate.js';
import type { MetricsCollector__Output } from './generated/tunehive/v1/MetricsCollector.js';
import type { TrialLimits__Output } from './generated/tunehive/v1/TrialLimits.js';
import type { RerunCheck__Output } from './generated/tunehive/v1/RerunCheck.js';
import type { ArtifactChunk as GenArtifactChunk, ArtifactChunk__Output } from './generated/tunehive/v1/ArtifactChunk.js';
import type { ArtifactsSaved__Output } from './generated/tunehive/v1/ArtifactsSaved.js';

/*
 * The message types come from shared/generated (`npm run proto:types`, proto-loader-gen-types
 * with the options `load()` below uses). Where the domain needs a narrower type than the
 * generated one (no *_UNSPECIFIED enum values, optional fields a sender may leave out), it is
 * written here and checked against the generated type at compile time: a field added to the
 * .proto, or a change of its type, fails `tsc` until the domain type follows.
 */
export type MetricPoint = MetricPoint__Output;
export type HardwareMsg = Hardware__Output;
export type CommandAction = Exclude<TrialCommand__Output['action'], 'ACTION_UNSPECIFIED'>;
export type FinishOutcome = Exclude<TrialFinished__Output['outcome'], 'OUTCOME_UNSPECIFIED'>;

export interface WorkerMessage {
  started?: {
    trialId: string; workerId: string; resumeAttempt: number; hardware?: HardwareMsg; deliveryId?: string;
    /** A fresh start's proof of delivery: the trial's BullMQ job and its lock token. */
    jobId?: string; jobToken?: string;
    /** A re-join's proof: the secret of the attempt it re-joins. */
    attemptSecret?: string;
  };
  /** `columns` instead of `points` where the StartReply said packedMetrics (shared/metric-columns.ts). */
  metrics?: { attempt: number; seq: number; points: MetricPoint[]; columns?: MetricColumnsMsg | null };
  heartbeat?: { attempt: number };
  finished?: {
    attempt: number; outcome: FinishOutcome; exitCode: number; signal: string; reason: string;
    stderrTail: string; lastSeq: number; stoppedBy?: CommandAction | 'ACTION_UNSPECIFIED'; stopLatencyMs?: number;
    truncatedLines?: number; droppedBytes?: number;
    /** The program's start and seen exit (worker clock, ms; 0 or absent: unknown). */
    programStartedAtMs?: number; programExitedAtMs?: number;
  };
  provenance?: { attempt: number; provenanceJson: string };
  tags?: { attempt: number; tags: Record<string, string> };
}
export type TrialLimitsMsg = TrialLimits__Output;
export type MetricsCollectorMsg = MetricsCollector__Output;
export interface TrialTemplateMsg {
  command: string[]; env: Record<string, string>; timeoutSeconds: number; image: string; limits?: TrialLimitsMsg; metricsCollector?: MetricsCollectorMsg;
  /** Provenance capture: `trial.codeVersion` and `trial.dataFiles` of the spec. */
  codeVersion?: string; dataFiles?: string[];
}
export type RerunCheckMsg = RerunCheck__Output;
export interface CoordinatorMessage {
  startReply?: {
    action: Exclude<StartReply__Output['action'], 'ACTION_UNSPECIFIED'>; attempt: number; reason: string; checkpointId?: string; checkpointStep?: number; budget?: number;
    attemptSecret?: string; template?: TrialTemplateMsg; paramsJson?: string;
    /** TUNEHIVE_SEED of the trial. */
    seed?: number;
    rerunCheck?: RerunCheckMsg;
    /** MLflow tracking for the program (coordinator/mlflow/run-tokens.ts); absent: none. */
    mlflowTrackingUri?: string; mlflowTrackingToken?: string; mlflowRunId?: string; mlflowExperimentId?: string;
    /** The coordinator reads metric batches as columns. */
    packedMetrics?: boolean;
  };
  ack?: { seq: number; droppedPoints?: number };
  command?: { action: CommandAction; reason: string };
  finishAck?: { state: string };
}

export interface CheckpointChunk {
  trialId?: string; attempt?: number; step?: number; files?: Array<{ path: string; size: number }>; checkpointId?: string;
  fileIndex?: number; data?: Buffer; sha256?: string; attemptSecret?: string;
}
export type CheckpointSaved = CheckpointSaved__Output;
export interface ArtifactChunk {
  trialId?: string; attempt?: number; attemptSecret?: string; files?: Array<{ path: string; size: number }>;
  fileIndex?: number; data?: Buffer; fileSha256?: string;
}
export type ArtifactsSaved = ArtifactsSaved__Output;
export type CheckpointRequest = CheckpointRequest__Output;
export type JoinRequest = Omit<JoinRequest__Output, 'hardware'> & { hardware?: HardwareMsg | null };
export type JoinReply = JoinReply__Output;

/** Fails to compile unless T is `true`. */
type Assert<T extends true> = T;
/** Every field of the generated message (and of its sub-messages) is named by the domain type. */
type NamesAll<Domain, Gen> = Exclude<keyof Gen, keyof Domain> extends never ? true : false;
type Sub<T, K extends keyof T> = NonNullable<T[K]>;
export type ProtoTypesChecked = [
  // What a sender builds is encodable: the domain type fits the generated (input) type.
  Assert<WorkerMessage extends GenWorkerMessage ? true : false>,
  Assert<CoordinatorMessage extends GenCoordinatorMessage ? true : false>,
  Assert<CheckpointChunk extends GenCheckpointChunk ? true : false>,
  // What a receiver decodes (defaults filled) has every field the domain type reads.
  Assert<WorkerMessage__Output extends { [K in keyof WorkerMessage]?: unknown } ? true : false>,
  Assert<Required<Sub<WorkerMessage__Output, 'started'>> extends Omit<Required<Sub<WorkerMessage, 'started'>>, 'hardware'> ? true : false>,
  Assert<Sub<WorkerMessage__Output, 'metrics'> extends Sub<WorkerMessage, 'metrics'> ? true : false>,
  Assert<Sub<WorkerMessage__Output, 'heartbeat'> extends Sub<WorkerMessage, 'heartbeat'> ? true : false>,
  Assert<Sub<CoordinatorMessage__Output, 'ack'> extends Sub<CoordinatorMessage, 'ack'> ? true : false>,
  Assert<Sub<CoordinatorMessage__Output, 'finishAck'> extends Sub<CoordinatorMessage, 'finishAck'> ? true : false>,
  Assert<CheckpointChunk__Output extends CheckpointChunk ? true : false>,
  Assert<Required<NonNullable<Sub<CoordinatorMessage, 'startReply'>['template']>> extends TrialTemplate__Output ? true : false>,
  Assert<NamesAll<TrialTemplateMsg, TrialTemplate__Output>>,
  // No field of the .proto is unknown to the domain types.
  Assert<NamesAll<WorkerMessage, WorkerMessage__Output>>,
  Assert<NamesAll<Sub<WorkerMessage, 'started'>, Sub<WorkerMessage__Output, 'started'>>>,
  Assert<NamesAll<Sub<WorkerMessage, 'metrics'>, Sub<WorkerMessage__Output, 'metrics'>>>,
  Assert<NamesAll<Sub<WorkerMessage, 'finished'>, Sub<WorkerMessage__Output, 'finished'>>>,
  Assert<NamesAll<CoordinatorMessage, CoordinatorMessage__Output>>,
  Assert<NamesAll<Sub<CoordinatorMessage, 'startReply'>, Sub<CoordinatorMessage__Output, 'startReply'>>>,
  Assert<NamesAll<Sub<CoordinatorMessage, 'ack'>, Sub<CoordinatorMessage__Output, 'ack'>>>,
  Assert<NamesAll<Sub<CoordinatorMessage, 'command'>, Sub<CoordinatorMessage__Output, 'command'>>>,
  Assert<NamesAll<CheckpointChunk, CheckpointChunk__Output>>,
  Assert<ArtifactChunk extends GenArtifactChunk ? true : false>,
  Assert<ArtifactChunk__Output extends ArtifactChunk ? true : false>,
  Assert<NamesAll<ArtifactChunk, ArtifactChunk__Output>>,
];

export type TrialStream = grpc.ServerDuplexStream<WorkerMessage, CoordinatorMessage>;

function protoDir(): string {
  // Source (tsx) and compiled (dist/shared) layouts both find the repo's proto/ folder.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, 'tunehive/v1/trials.proto'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('proto/tunehive/v1/trials.proto not found');
}

let cached: grpc.GrpcObject | undefined;
function load(): grpc.GrpcObject {
  if (!cached) {
    const def = protoLoader.loadSync('tunehive/v1/trials.proto', {
      includeDirs: [protoDir()],
      // Numbers as JS numbers (uint64 seq fits easily), enums as names, defaults filled so
      // the domain types above hold without undefined checks.
      longs: Number, enums: String, defaults: true, oneofs: false, keepCase: false,
    });
    cached = grpc.loadPackageDefinition(def);
  }
  return cached;
}

type ServiceCtor = grpc.ServiceClientConstructor;
export function trialServiceDefinition(): grpc.ServiceDefinition {
  return (((load().tunehive as grpc.GrpcObject).v1 as grpc.GrpcObject).TrialService as ServiceCtor).service;
}

/** The metadata key that carries a worker's credential (`Bearer thw_...`) on every call. */
export const AUTH_METADATA = 'authorization';

export interface ClientAuth {
  /** The worker credential to send on every call (read per call: it may arrive after the client is made). */
  credential?: () => string | undefined;
  /** Channel credentials (TLS); insecure when absent. */
  channelCredentials?: grpc.ChannelCredentials;
}

/**
 * A client whose every call carries the credential as metadata. An interceptor rather than
 * call credentials: grpc-js refuses call credentials on an insecure channel (tests, loopback).
 */
export function trialServiceClient(address: string, options: grpc.ChannelOptions = {}, auth: ClientAuth = {}): grpc.Client {
  const Ctor = ((load().tunehive as grpc.GrpcObject).v1 as grpc.GrpcObject).TrialService as ServiceCtor;
  const withCredential: grpc.Interceptor = (opts, next) => new grpc.InterceptingCall(next(opts), {
    start(metadata, listener, nextStart) {
      const token = auth.credential?.();
      if (token) metadata.set(AUTH_METADATA, `Bearer ${token}`);
      nextStart(metadata, listener);
    },
  });
  return new Ctor(address, auth.channelCredentials ?? grpc.credentials.createInsecure(), { ...options, interceptors: [withCredential] });
}
