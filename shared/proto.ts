/**
 * Loads the worker <-> coordinator protocol and gives it domain-shaped TypeScript types. The
 * loaded (untyped) definitions stay at this edge; the rest of the code uses these interfaces.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface MetricPoint { name: string; value: number; step: number; timeMs: number }
export interface HardwareMsg {
  hostname: string; nodeName: string; driverVersion: string; cudaVersion: string; cpuCount: number; cpuModel: string; memoryBytes: number;
  gpus: Array<{ index: number; uuid: string; name: string; memoryMib: number }>;
}
export type CommandAction = 'ACTION_STOP' | 'ACTION_PRUNE' | 'ACTION_PAUSE';
export type FinishOutcome = 'OUTCOME_EXITED' | 'OUTCOME_START_FAILED' | 'OUTCOME_TIMED_OUT' | 'OUTCOME_STOPPED';

export interface WorkerMessage {
  started?: { trialId: string; workerId: string; resumeAttempt: number; hardware?: HardwareMsg; deliveryId?: string };
  metrics?: { attempt: number; seq: number; points: MetricPoint[] };
  heartbeat?: { attempt: number };
  finished?: {
    attempt: number; outcome: FinishOutcome; exitCode: number; signal: string; reason: string;
    stderrTail: string; lastSeq: number; stoppedBy?: CommandAction | 'ACTION_UNSPECIFIED'; stopLatencyMs?: number;
    truncatedLines?: number; droppedBytes?: number;
  };
}
export interface CoordinatorMessage {
  startReply?: { action: 'ACTION_RUN' | 'ACTION_SKIP'; attempt: number; reason: string; checkpointId?: string; checkpointStep?: number; budget?: number };
  ack?: { seq: number; droppedPoints?: number };
  command?: { action: CommandAction; reason: string };
  finishAck?: { state: string };
}

export interface CheckpointChunk {
  trialId?: string; attempt?: number; step?: number; files?: Array<{ path: string; size: number }>; checkpointId?: string;
  fileIndex?: number; data?: Buffer; sha256?: string;
}
export interface CheckpointSaved { accepted: boolean; checkpointId: string; reason: string }
export interface CheckpointRequest { trialId: string; checkpointId: string }

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
export function trialServiceClient(address: string, options: grpc.ChannelOptions = {}): grpc.Client {
  const Ctor = ((load().tunehive as grpc.GrpcObject).v1 as grpc.GrpcObject).TrialService as ServiceCtor;
  return new Ctor(address, grpc.credentials.createInsecure(), options);
}
