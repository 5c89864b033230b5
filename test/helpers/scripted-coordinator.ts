/**
 * A coordinator played by the test over real gRPC on 127.0.0.1: every stream and upload is
 * recorded, and each test scripts the replies (by default: RUN attempt 1, ack every batch,
 * COMPLETED on finish, accept every checkpoint).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { trialServiceClient } from '../../shared/proto.js';
import { trialServiceDefinition, type CheckpointChunk, type CheckpointSaved, type CoordinatorMessage, type JoinReply, type JoinRequest, type TrialStream, type WorkerMessage } from '../../shared/proto.js';
import type { TrialRun } from '../../shared/trial-job.js';

/** What the scripted coordinator tells a worker to run, by trial id (the real one sends its record's). */
const RUNS = new Map<string, TrialRun>();

/** Registers what a trial runs (its start replies carry it) and returns the job a worker gets. */
export function serve(run: TrialRun): TrialRun {
  RUNS.set(run.trialId, run);
  return run;
}

/** A RUN reply gets the registered template and parameters unless the script gave its own. */
function withTemplate(trialId: string | undefined, m: CoordinatorMessage): CoordinatorMessage {
  const run = trialId ? RUNS.get(trialId) : undefined;
  if (!run || m.startReply?.action !== 'ACTION_RUN' || m.startReply.template) return m;
  return { startReply: {
    attemptSecret: `secret-${trialId}`, ...m.startReply, paramsJson: JSON.stringify(run.params),
    template: { command: run.command, env: run.env, timeoutSeconds: run.timeoutSeconds ?? 0, image: run.image ?? '',
      ...(run.limits ? { limits: { maxMetricPoints: 100_000, maxCheckpointBytes: 10 * 1024 ** 3, maxCheckpointFiles: 10_000, maxArtifactBytes: 10 * 1024 ** 3, maxArtifactFiles: 10_000, ...run.limits } } : {}) },
  } };
}

export interface ScriptedStream {
  call: TrialStream;
  got: WorkerMessage[];
  send(m: CoordinatorMessage): void;
  /** Ends the stream with a gRPC status, as the coordinator's handler does on an error. */
  fail(code: grpc.status, details: string): void;
}

export interface Upload { head: CheckpointChunk; bytes: number; files: Map<string, Buffer>; complete: boolean }

export interface Script {
  /** Return true when the message was handled (the default reply is then not sent). */
  onMessage?: (s: ScriptedStream, m: WorkerMessage) => boolean | void;
  onUpload?: (head: CheckpointChunk) => CheckpointSaved | grpc.ServiceError | undefined;
}

export interface ScriptedCoordinator {
  address: string;
  streams: ScriptedStream[];
  uploads: Upload[];
  script: Script;
  close(): void;
}

export async function startScriptedCoordinator(script: Script = {}): Promise<ScriptedCoordinator> {
  const server = new grpc.Server();
  const streams: ScriptedStream[] = [];
  const uploads: Upload[] = [];
  const self = { script } as { script: Script };
  server.addService(trialServiceDefinition(), {
    runTrial: (call: TrialStream) => {
      const s: ScriptedStream = {
        call, got: [],
        send: (m) => { if (!call.writableEnded && !call.destroyed) call.write(withTemplate(s.got.find((g) => g.started)?.started?.trialId, m)); },
        fail: (code, details) => { call.emit('error', { code, details }); },
      };
      streams.push(s);
      call.on('data', (m: WorkerMessage) => {
        s.got.push(m);
        if (self.script.onMessage?.(s, m)) return;
        if (m.started) s.send({ startReply: { action: 'ACTION_RUN', attempt: m.started.resumeAttempt || 1, reason: '' } });
        else if (m.metrics) s.send({ ack: { seq: m.metrics.seq } });
        else if (m.finished) s.send({ finishAck: { state: m.finished.exitCode === 0 ? 'COMPLETED' : 'FAILED' } });
      });
      call.on('error', () => undefined);
      call.on('end', () => { if (!call.writableEnded) call.end(); });
    },
    uploadCheckpoint: (call: grpc.ServerReadableStream<CheckpointChunk, CheckpointSaved>, callback: grpc.sendUnaryData<CheckpointSaved>) => {
      let up: Upload | undefined;
      let answered = false;
      const answer = (err: grpc.ServiceError | null, res?: CheckpointSaved) => {
        if (answered) return;
        answered = true;
        callback(err, res);
      };
      call.on('data', (c: CheckpointChunk) => {
        if (!up) {
          up = { head: c, bytes: 0, files: new Map(), complete: false };
          uploads.push(up);
          const r = self.script.onUpload?.(c);
          if (r && 'code' in r) return answer(r);
          if (r) return answer(null, r);
        }
        if (c.data?.length) {
          const name = up.head.files?.[c.fileIndex ?? 0]?.path ?? '?';
          up.files.set(name, Buffer.concat([up.files.get(name) ?? Buffer.alloc(0), c.data]));
          up.bytes += c.data.length;
        }
        if (c.sha256) up.complete = true;
      });
      call.on('end', () => answer(null, { accepted: true, checkpointId: `c${uploads.length}`, reason: '' }));
      call.on('error', () => undefined);
    },
    downloadCheckpoint: (call: grpc.ServerWritableStream<unknown, CheckpointChunk>) => call.end(),
    join: (call: grpc.ServerUnaryCall<JoinRequest, JoinReply>, callback: grpc.sendUnaryData<JoinReply>) =>
      callback(null, { credential: 'thw_scripted', workerId: call.request.workerId, projects: ['*'] }),
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`, streams, uploads,
    get script() { return self.script; },
    set script(v: Script) { self.script = v; },
    close: () => server.forceShutdown(),
  };
}

/**
 * A scripted coordinator and a client of it for one describe block: started before its tests,
 * its script and records reset after each test, closed after the block.
 */
export function useScriptedCoordinator(): { readonly coord: ScriptedCoordinator; readonly client: grpc.Client } {
  const fx = {} as { coord: ScriptedCoordinator; client: grpc.Client };
  beforeAll(async () => {
    fx.coord = await startScriptedCoordinator();
    fx.client = trialServiceClient(fx.coord.address);
  });
  afterEach(() => {
    fx.coord.script = {};
    fx.coord.streams.length = 0;
    fx.coord.uploads.length = 0;
  });
  afterAll(() => {
    fx.client?.close();
    fx.coord?.close();
  });
  return fx;
}
