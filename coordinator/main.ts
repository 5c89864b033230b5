/**
 * The coordinator's composition root: Redis, the store, the queue producer, the runner, the
 * suggestion service, the HTTP API and the gRPC service, started and closed in one place.
 */
import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { keys } from '../shared/redis-keys.js';
import { CoordinatorMetrics } from './ops/metrics.js';
import { opsRoutes } from './api/ops-routes.js';
import { WorkerDirectory } from './store/worker-directory.js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { trialServiceDefinition } from '../shared/proto.js';
import { connectRedis } from '../shared/redis.js';
import { checkBind, grpcServerCredentials, type ServerTls } from '../shared/tls.js';
import { buildApp } from './api/app.js';
import { createTrialServiceHandlers, type StreamStats } from './grpc/trial-service.js';
import { createCheckpointHandlers } from './grpc/checkpoint-service.js';
import type { CheckpointStore } from './checkpoints/checkpoint-store.js';
import { ArtifactService } from './artifacts/artifact-service.js';
import { openArtifactStore, openCheckpointStore, type S3Settings } from './artifacts/open-stores.js';
import { artifactRoutes } from './api/artifact-routes.js';
import { createArtifactHandlers } from './grpc/artifact-service.js';
import { TrialQueue } from './queue/trial-queue.js';
import { StudyRunner } from './runner/study-runner.js';
import { TrialCommands } from './runner/trial-commands.js';
import type { SuggestionService } from './search/suggest.js';
import { ThreadSuggestionService } from './search/suggestion-pool.js';
import { RedisStudyStore } from './store/study-store.js';
import { RedisRunStore } from './runs/redis-run-store.js';
import { rerunRoutes } from './api/rerun-routes.js';
import { RedisModelRegistry } from './registry/redis-model-registry.js';
import { modelRoutes } from './api/model-routes.js';
import { mlflowRegistryRoutes } from './mlflow/registry-routes.js';
import { registerMlflow } from './mlflow/index.js';
import { RunTokens } from './mlflow/run-tokens.js';
import { StudyDeleter } from './lifecycle/study-deletion.js';
import { CheckpointJanitor } from './lifecycle/checkpoint-janitor.js';
import { RetentionSweeper } from './lifecycle/retention-sweeper.js';
import { studyDeleteRoutes } from './api/study-delete-routes.js';
import { CredentialStore } from './store/credential-store.js';
import { ProjectStore } from './store/project-store.js';
import { bootstrapAuth } from './auth/bootstrap.js';
import { Access } from './auth/access.js';
import { AuditLog } from './auth/audit-log.js';
import { TokenVerifier } from './auth/principal.js';
import { SessionStore } from './auth/session-store.js';
import type { EventLimits } from './api/study-events.js';
import type { HttpAuth } from './auth/http-auth.js';
import { WorkerAuth } from './auth/worker-auth.js';
import { workerRoutes } from './api/worker-routes.js';
import { DEFAULT_PROJECT } from '../shared/trial-job.js';

export interface CoordinatorOptions {
  redisUrl: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  /** Redis key prefix (several deployments or test files can share one Redis). */
  prefix: string;
  log: Logger;
  reconcileIntervalMs?: number;
  suggestions?: SuggestionService;
  /** Folder of the checkpoint store (a local disk or a mounted volume). */
  checkpointDir: string;
  /** Checkpoints kept per trial (older ones are pruned). */
  keepCheckpoints?: number;
  /** `s3://bucket/prefix` (or a folder) for checkpoints instead of `checkpointDir`: replicas then share no volume. */
  checkpointStore?: string;
  /** Where artifacts live: a folder or `s3://bucket/prefix` (default: `<checkpointDir>/.artifacts`). */
  artifactStore?: string;
  /** The S3 endpoint (an S3-compatible server), region and credentials of the s3:// stores. */
  s3?: S3Settings;
  /** Artifact bytes all runs of one project may store together (`--project-artifact-bytes`); default no limit. */
  projectArtifactBytes?: number;
  /** How long a replica's lease on driving a study lasts without renewal. */
  leaseMs?: number;
  /** Ended studies are deleted whole this many days after they ended; undefined keeps them forever. */
  retentionDays?: number;
  /** How often the lifecycle sweep (retention) runs. */
  sweepIntervalMs?: number;
  /**
   * A store command without a reply after this long fails (default 5000): a worker stream then
   * ends UNAVAILABLE and re-joins, instead of its messages piling up during a Redis outage.
   */
  storeCommandTimeoutMs?: number;
  /** Messages one worker stream may have waiting before it is paused (default 64). */
  maxQueuedPerStream?: number;
  /** Filled with the worker streams' live figures (tests, diagnostics). */
  streamStats?: StreamStats;
  /** HTTPS and gRPC over TLS with this certificate; with `ca`, workers must present a client certificate. */
  tls?: ServerTls;
  /** Serve clear text on a non-loopback address anyway (a private network protects it). */
  insecure?: boolean;
  /**
   * An operator secret accepted as an admin API token (TUNEHIVE_ADMIN_TOKEN; read from the
   * environment by the CLI, never from argv). Without it the first start mints one and shows it once.
   */
  adminToken?: string;
  /**
   * The URL trial programs reach this coordinator's HTTP API at (their MLFLOW_TRACKING_URI);
   * default: the address it listens on (127.0.0.1 for 0.0.0.0), right only for workers on this host.
   */
  publicUrl?: string;
  /** /metrics without a token (`--open-metrics`). */
  openMetrics?: boolean;
  /** Failed authentications (HTTP tokens, worker joins) per client address per minute before 429 / RESOURCE_EXHAUSTED (default 20). */
  authFailuresPerMinute?: number;
  /** Entries the audit stream keeps (XADD MAXLEN ~; default 100,000). */
  auditMaxLen?: number;
  /** How long a verified token (and a project membership) is trusted without asking Redis (default 2000 ms): the delay of a revocation elsewhere. */
  tokenCacheMs?: number;
  /** Where a minted admin token is shown (default: stderr). */
  announce?: (message: string) => void;
  /**
   * A worker join token for every project (TUNEHIVE_WORKER_JOIN_TOKEN, e.g. from a Kubernetes
   * Secret): registered at start, so agents given the same secret can join.
   */
  workerJoinToken?: string;
  /** Limits of the dashboard's event streams (tests lower them). */
  eventLimits?: Partial<EventLimits>;
}

export interface Coordinator {
  httpUrl: string;
  grpcAddress: string;
  app: FastifyInstance;
  store: RedisStudyStore;
  /** Experiments and runs (trial runs read through `store`). */
  runs: RedisRunStore;
  /** Credentials and projects (tests and the CLI's local stack use them directly). */
  creds: CredentialStore;
  projects: ProjectStore;
  runner: StudyRunner;
  deleter: StudyDeleter;
  janitor: CheckpointJanitor;
  sweeper: RetentionSweeper;
  artifacts: ArtifactService;
  /** The model registry (issue 12). */
  registry: RedisModelRegistry;
  checkpoints: CheckpointStore;
  close(): Promise<void>;
}

export async function startCoordinator(o: CoordinatorOptions): Promise<Coordinator> {
  checkBind(o.host, o.tls, o.insecure);
  if (!o.tls && o.insecure && o.host !== '127.0.0.1') o.log.warn({ host: o.host }, 'serving HTTP and gRPC without TLS beyond loopback (--insecure)');
  const redis = connectRedis(o.redisUrl, 'tunehive-coordinator');
  // The store has a connection of its own so that it alone gets a command timeout (BullMQ's
  // connections must not: they block by design).
  const storeRedis = connectRedis(o.redisUrl, 'tunehive-store', { commandTimeoutMs: o.storeCommandTimeoutMs ?? 5000 });
  const store = new RedisStudyStore(storeRedis, o.prefix);
  const runs = new RedisRunStore(store);
  // Trial runs are indexed for search as their trials change (the metric hook is in appendMetrics-3.lua).
  store.onTrialChanged = (studyId, number, trial) => runs.indexTrial(studyId, number, Date.now(), trial);
  // Jobs go into their study's project queue; a study's project never changes.
  const queue = new TrialQueue(redis, o.prefix, async (studyId) => (await store.studyProject(studyId)) ?? DEFAULT_PROJECT);
  const creds = new CredentialStore(storeRedis, o.prefix);
  // One cache of verified credentials for API tokens and worker credentials: a revocation takes
  // effect on this replica at once, on the others within the cache time.
  const verifier = new TokenVerifier(creds, { cacheMs: o.tokenCacheMs ?? 2000 });
  const workerAuth = new WorkerAuth(creds, verifier, storeRedis, o.prefix, o.authFailuresPerMinute ?? 20);
  if (o.workerJoinToken) {
    await creds.ensureOperatorSecret(o.workerJoinToken, {
      kind: 'worker-join', owner: 'operator', role: 'viewer', projects: ['*'], description: 'pre-seeded join token (TUNEHIVE_WORKER_JOIN_TOKEN)',
    });
  }
  const commands = new TrialCommands();
  // Model-fitting samplers (gp, multivariate tpe with long histories) run in a worker thread,
  // so the API and the worker streams stay responsive while they compute.
  const suggestions = o.suggestions ?? new ThreadSuggestionService();
  const workers = new WorkerDirectory(redis, o.prefix);
  const metrics = new CoordinatorMetrics({ store, queue, workers, commands });
  const coordinatorId = `${os.hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
  // Kicks travel between replicas on pub/sub, which needs a connection of its own.
  const subscriber = redis.duplicate();
  subscriber.on('error', () => undefined);
  const kickChannel = keys.kickChannel(o.prefix);
  const runner = new StudyRunner({
    store, queue, suggestions, commands, log: o.log.child({ part: 'runner', coordinatorId }), coordinatorId,
    publishKick: (studyId) => void redis.publish(kickChannel, studyId).catch(() => undefined),
    onSuggest: (algorithm, seconds) => metrics.suggestionSeconds.observe({ algorithm }, seconds),
    ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
  });
  await subscriber.subscribe(kickChannel);
  subscriber.on('message', (_channel: string, studyId: string) => runner.kick(studyId, { local: true }));

  const checkpointStore = openCheckpointStore(o.checkpointStore ?? o.checkpointDir, o.s3);
  const checkpoints = checkpointStore.store;
  const artifactStore = openArtifactStore(o.artifactStore ?? path.join(o.checkpointDir, '.artifacts'), o.s3);
  const artifacts = new ArtifactService({
    store: artifactStore, studies: store,
    directRunExists: async (runId) => (await runs.getRun(runId)) !== undefined, experimentProject: (id) => runs.experimentProject(id), ...(o.projectArtifactBytes !== undefined ? { projectMaxBytes: o.projectArtifactBytes } : {}),
  });
  runs.onDeleting = { run: (id) => artifacts.deleteRun(id), experiment: (id, project) => artifacts.deleteExperiment(id, project) };
  const janitor = new CheckpointJanitor({ store, checkpoints, log: o.log.child({ part: 'lifecycle' }) });
  store.onTrialsEnded = (studyId) => janitor.trialEnded(studyId);
  const deleter = new StudyDeleter({
    store, queue, checkpoints, artifacts, stop: (study, reason) => runner.endStudy(study, 'STOPPED', reason), experimentDataKeys: (id) => runs.experimentDataKeys(id),
  });
  const sweeper = new RetentionSweeper({
    store, deleter, janitor, log: o.log.child({ part: 'lifecycle' }), owner: coordinatorId, credentials: creds,
    ...(o.retentionDays !== undefined ? { retentionMs: o.retentionDays * 86_400_000 } : {}),
    ...(o.sweepIntervalMs ? { intervalMs: o.sweepIntervalMs } : {}),
  });

  const registry = new RedisModelRegistry({ studies: store, runs, artifacts });
  const projects = new ProjectStore(storeRedis, o.prefix);
  await bootstrapAuth({ redis: storeRedis, prefix: o.prefix, creds, projects, announce: o.announce ?? ((m) => process.stderr.write(`${m}\n`)),
    ...(o.adminToken !== undefined ? { adminToken: o.adminToken } : {}) });
  await store.adoptLegacyStudies();
  const access = new Access(projects, { cacheMs: o.tokenCacheMs ?? 2000 });
  const auth: HttpAuth = {
    creds, projects, access, verifier, audit: new AuditLog(storeRedis, o.prefix, o.auditMaxLen ?? 100_000),
    openMetrics: o.openMetrics ?? false, failuresPerMinute: o.authFailuresPerMinute ?? 20,
    experimentProject: (id) => runs.experimentProject(id),
    sessions: new SessionStore(storeRedis, creds, o.prefix),
    modelProject: (name) => registry.modelProject(name),
    modelsIn: async (project) => (await registry.listModels({ projects: [project], offset: 0, limit: 0 })).total,
  };

  const app = await buildApp({
    store, runner, workers, log: o.log.child({ part: 'api' }), auth, runs, deleter, ...(o.eventLimits ? { eventLimits: o.eventLimits } : {}),
    ...(o.tls ? { https: { key: o.tls.key, cert: o.tls.cert } } : {}),
    plugins: [
      async (a) => { await a.register(opsRoutes, { redis, metrics, workers, access }); },
      async (a) => { await a.register(studyDeleteRoutes, { prefix: '/api/v1', deleter }); },
      async (a) => { await a.register(workerRoutes, { prefix: '/api/v1', auth: workerAuth, workers }); },
      async (a) => { await a.register(rerunRoutes, { prefix: '/api/v1', store, runs, runner }); },
      async (a) => { await a.register(artifactRoutes, { prefix: '/api/v1', artifacts }); },
      async (a) => { await a.register(modelRoutes, { prefix: '/api/v1', registry, access, experimentProject: (id) => runs.experimentProject(id) }); },
      // MLflow's tracking REST API, artifact proxy and model registry (coordinator/mlflow): one MLflow scope per prefix.
      async (a) => registerMlflow(a, { runs, store, access, runner, commands, artifacts, log: o.log.child({ part: 'mlflow' }) },
        (scope) => mlflowRegistryRoutes(scope, { registry, access, runs, artifacts })),
    ],
  });
  await app.listen({ host: o.host, port: o.httpPort });
  const httpPort = (app.server.address() as { port: number }).port;

  // No channelz: its per-call bookkeeping was a visible share of a short trial's cost, and nothing reads it.
  const grpcServer = new grpc.Server({ 'grpc.keepalive_time_ms': 20_000, 'grpc.keepalive_permit_without_calls': 1, 'grpc.enable_channelz': 0 });
  grpcServer.addService(trialServiceDefinition(), {
    ...createTrialServiceHandlers({
      store, runner, commands, auth: workerAuth, queue, runs, log: o.log.child({ part: 'grpc' }),
      // Trial programs get MLFLOW_TRACKING_URI (this coordinator, or --public-url) and a run token.
      runTokens: new RunTokens(creds, o.publicUrl ?? `${o.tls ? 'https' : 'http'}://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${httpPort}`, (id) => verifier.forget(id)),
      onPoints: (n) => metrics.metricPoints.inc(n), onDecision: (d) => metrics.decisions.inc({ decision: d }),
      ...(o.maxQueuedPerStream ? { maxQueuedPerStream: o.maxQueuedPerStream } : {}),
      ...(o.streamStats ? { stats: o.streamStats } : {}),
    }),
    ...createCheckpointHandlers({ store, checkpoints, auth: workerAuth, log: o.log.child({ part: 'checkpoints' }), keep: o.keepCheckpoints ?? 2 }),
    ...createArtifactHandlers({ store, artifacts, auth: workerAuth, log: o.log.child({ part: 'artifacts' }) }),
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`${o.host}:${o.grpcPort}`, grpcServerCredentials(o.tls), (err, port) => (err ? reject(err) : resolve(port))),
  );

  runner.start(o.reconcileIntervalMs ?? 2000);
  // Studies from before runs existed become searchable (once each; cheap when there are none).
  let closingRuns = false;
  const backfill = runs.backfillStudies(() => closingRuns).catch((err: unknown) => o.log.warn({ err }, 'indexing older studies for run search failed; it is retried at the next start'));
  sweeper.start();
  o.log.info({ http: httpPort, grpc: grpcPort }, 'coordinator listening');

  let closing: Promise<void> | undefined;
  return {
    httpUrl: `${o.tls ? 'https' : 'http'}://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${httpPort}`,
    grpcAddress: `${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${grpcPort}`,
    app, store, runs, creds, projects, runner, deleter, janitor, sweeper, artifacts, checkpoints, registry,
    close() {
      closing ??= (async () => {
        closingRuns = true;
        await backfill;
        await sweeper.close();
        await runner.close();
        await app.close();
        // Open worker streams would hold a graceful shutdown forever; they reconnect elsewhere.
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => { grpcServer.forceShutdown(); resolve(); }, 1000);
          grpcServer.tryShutdown(() => { clearTimeout(force); resolve(); });
        });
        await janitor.close();
        await suggestions.close();
        await queue.close();
        await subscriber.quit().catch(() => subscriber.disconnect());
        await redis.quit().catch(() => redis.disconnect());
        await storeRedis.quit().catch(() => storeRedis.disconnect());
        checkpointStore.close();
        await artifactStore.close?.();
      })();
      return closing;
    },
  };
}
