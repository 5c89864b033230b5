/**
 * The `tunehive` command. Each subcommand parses its flags (flags win over environment
 * variables), and every failure a user can cause ends in a one-line message with the fix,
 * never a stack trace.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { GpuSetting } from '../worker/gpu/discovery.js';
import { api, apiBase, ApiError, deleteStudy, type ClientAuth } from './http-client.js';
import { resolveToken, storeLogin } from './credentials.js';
import { tokenCommand, projectCommand, readSecret } from './auth-commands.js';
import { createInterface } from 'node:readline/promises';
import { fmtParams, fmtValue, progressLine, safeText, studySummary, table } from './format.js';

// Servers are imported only by the commands that start them, so `submit` or `status` start fast.
const servers = {
  logger: () => import('../shared/logger.js'),
  coordinator: () => import('../coordinator/main.js'),
  agent: () => import('../worker/agent.js'),
  processRuntime: () => import('../worker/runtime/process-runtime.js'),
  containerRuntime: () => import('../worker/runtime/container-runtime.js'),
  simulatedRuntime: () => import('../worker/runtime/simulated-runtime.js'),
  gpuDiscovery: () => import('../worker/gpu/discovery.js'),
  devStack: () => import('./dev-stack.js'),
  demo: () => import('./demo.js'),
};

class UsageError extends Error {}

/** `--retention-days N` / TUNEHIVE_RETENTION_DAYS: unset keeps ended studies forever. */
/**
 * `--checkpoint-store` / `--artifact-store`: a folder or s3://bucket/prefix (`--s3-endpoint` for an
 * S3-compatible server; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the SDK's chain).
 */
function storeOptions(v: Record<string, string | boolean | undefined>) {
  const where = (flag: unknown, env: string | undefined, fallback: string) => {
    const w = (typeof flag === 'string' ? flag : undefined) ?? env ?? fallback;
    return w.startsWith('s3://') ? w : path.resolve(w);
  };
  const checkpoints = where(v['checkpoint-store'] ?? v['checkpoint-dir'], process.env.TUNEHIVE_CHECKPOINT_STORE, '.tunehive/checkpoints');
  const artifacts = where(v['artifact-store'], process.env.TUNEHIVE_ARTIFACT_STORE, '.tunehive/artifacts');
  const endpoint = (typeof v['s3-endpoint'] === 'string' ? v['s3-endpoint'] : undefined) ?? process.env.TUNEHIVE_S3_ENDPOINT;
  const projectBytes = typeof v['project-artifact-bytes'] === 'string' ? v['project-artifact-bytes'] : process.env.TUNEHIVE_PROJECT_ARTIFACT_BYTES;
  let projectArtifactBytes: number | undefined;
  if (projectBytes !== undefined) {
    projectArtifactBytes = Number(projectBytes);
    if (!Number.isSafeInteger(projectArtifactBytes) || projectArtifactBytes < 1) throw new UsageError(`--project-artifact-bytes must be a positive whole number of bytes (got ${JSON.stringify(projectBytes)})`);
  }
  return {
    // Without S3 for checkpoints the folder is the store; with it, the folder is still where the
    // default artifact folder would go, so keep it local.
    checkpointDir: checkpoints.startsWith('s3://') ? path.resolve('.tunehive/checkpoints') : checkpoints,
    ...(checkpoints.startsWith('s3://') ? { checkpointStore: checkpoints } : {}),
    artifactStore: artifacts,
    ...(endpoint ? { s3: { endpoint } } : {}),
    ...(projectArtifactBytes !== undefined ? { projectArtifactBytes } : {}),
  };
}

function retentionFlag(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 36_500) throw new UsageError(`--retention-days must be a number of days above 0 and at most 36500 (got ${JSON.stringify(value)})`);
  return n;
}

/**
 * The Redis URL of a server command: `--redis-url-file FILE`, then `--redis URL` (only without a
 * password: argv is readable by every process on the machine in /proc/PID/cmdline, trial
 * programs included), then REDIS_URL, then the local default.
 */
async function redisUrlOf(flag: string | undefined, file: string | undefined): Promise<string> {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`--redis-url-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    if (text.startsWith('REPLACE-')) throw new UsageError(`--redis-url-file: ${file} is still the placeholder from deploy/k8s/secret.yaml; make the Redis users with \`tunehive redis-acl --out-dir DIR\` (see deploy/README.md)`);
    if (!/^rediss?:\/\//.test(text)) throw new UsageError(`--redis-url-file: ${file} must hold one redis:// or rediss:// URL`);
    return text;
  }
  if (flag !== undefined) {
    const { urlHasCredentials } = await import('../shared/redis.js');
    if (urlHasCredentials(flag)) {
      throw new UsageError('--redis: this URL carries a password, and the command line is readable by every process on this machine (/proc/PID/cmdline), trial programs included. Pass it in REDIS_URL or in a file given to --redis-url-file.');
    }
    return flag;
  }
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

async function confirm(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

const HELP = `tunehive — distributed hyperparameter optimisation

Usage:
  tunehive demo [--exit]              run the demo study (digits MLP, 20 trials) on a local stack, watchable in the dashboard;
                                      the stack stays up until Ctrl-C (--exit: end when the study does)
  tunehive dev                        local stack: redis-server (unless REDIS_URL), coordinator, 2 workers
  tunehive coordinator [--redis-url-file FILE] [--host 127.0.0.1] [--http-port 8080] [--grpc-port 50051]
                  [--tls-cert FILE --tls-key FILE [--tls-ca FILE]] [--insecure]
  tunehive worker [--redis-url-file FILE] [--coordinator HOST:PORT] [--slots N] [--work-dir DIR]
                  [--gpus auto|none|N|0,1,2] [--runtime process|container|simulated] [--join-token-file F]
                                      joins with TUNEHIVE_JOIN_TOKEN once; the credential is kept in the work dir
                  [--max-line-bytes N (1 MiB)] [--metric-window N (16)] [--give-up-ms MS (600000)]
                  [--tls] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]
                  [--run-as USER] [--allow-command PATTERN]... [--allow-image PATTERN]...
                  [--allow-env PATTERN]... [--deny-env PATTERN]... [--pass-env PATTERN]...
  tunehive redis-acl --out-dir DIR [--prefix th] [--host tunehive-redis] [--port 6379]
                                      Redis ACL users with random passwords for a deployment: users.acl
                                      (for redis-server --aclfile), coordinator-url, worker-url
  tunehive submit FILE [--api URL]    submit a study spec or a Katib Experiment (JSON or YAML); prints the study id
  tunehive katib check FILE           how a Katib Experiment maps onto a study, field by field
                                      (exit 2 when a field is refused; submit it with tunehive submit)
  tunehive status ID [--api URL] [--watch]
  tunehive trials ID [--api URL] [--limit N] [--state STATE] [--offset N | --cursor NEXT]
  tunehive show RUN [--json]            a run's params, metrics, tags, note, provenance, attempts, artifacts
  tunehive rerun TRIAL_ID [--force] [--no-wait] [--timeout S]   run a trial again from its record
  tunehive stop ID [--api URL]
  tunehive delete ID [--yes] [--force] [--api URL]
                                      delete a study and all it stored (--force: even a RUNNING one)
  tunehive login [--api URL] [--token T | --token-file F]
                                      check a token and store it (asks, or reads stdin, without --token)
  tunehive token create [--kind api|worker-join] [--project P] [--projects P1,P2] [--role R]
                        [--scope metrics] [--ttl 24h] [--description D] [--owner O] [--max-uses N]
  tunehive token list [--owner O] [--kind K]    tunehive token revoke ID
  tunehive project create NAME [--description D] | list | show NAME | delete NAME (an empty project)
  tunehive project member NAME OWNER ROLE|--remove
  tunehive runs [--filter "metrics.f1 > 0.9 and params.model = 'rf'"] [--order-by "metrics.f1 DESC"]...
                [--experiment ID]... [--max N (100)] [--output table|json|csv]
                                      search runs across the experiments you may read (MLflow's filter grammar)
  tunehive compare RUN1 RUN2 [RUN3 ...] [--output table|json]
                                      runs side by side: params, tags, metric summaries; * marks what differs
  tunehive tag RUN key=value [key2=value2 ...] [--delete key]...
  tunehive note RUN "text" | --file NOTE.md (- reads stdin)
  tunehive artifacts RUN [--prefix P] [--output table|json]
                                      a run's artifacts: path, size, SHA-256
  tunehive download RUN PATH [DEST] [--force] [--quiet]
                                      one artifact to disk, streamed (progress on a terminal), SHA-256 checked
  tunehive models register RUN --name NAME [--path model] | alias NAME ALIAS VERSION | stage NAME VERSION STAGE [--archive-existing]
  tunehive models list | show NAME | download models:/NAME@ALIAS|models:/NAME/VERSION|models:/NAME/STAGE DIR
                                      the model registry (versions from run artifacts, aliases, stages, SHA-256-checked downloads)

Client commands (submit, status, trials, stop, delete, login, token, project, runs, compare, tag, note, artifacts, download, models) take --api URL,
--token TOKEN or --token-file FILE; without them TUNEHIVE_TOKEN, then the stored login.
The coordinator reads TUNEHIVE_ADMIN_TOKEN (an admin secret of yours; without it the first
start prints a minted one) and takes --open-metrics (/metrics without a token) and --public-url URL (TUNEHIVE_PUBLIC_URL:
where trial programs reach the API, their MLFLOW_TRACKING_URI).

Environment: REDIS_URL (a URL with a password goes here or in --redis-url-file, never in
--redis), TUNEHIVE_API (default http://127.0.0.1:8080), TUNEHIVE_TOKEN, TUNEHIVE_ADMIN_TOKEN,
TUNEHIVE_COORDINATOR, TUNEHIVE_JOIN_TOKEN (worker), TUNEHIVE_WORKER_JOIN_TOKEN (coordinator: a join
token for every project), LOG_LEVEL (info). Servers bind 127.0.0.1 unless --host says otherwise;
any other address needs TLS or --insecure. See SECURITY.md.`;

/** Flags every client command takes. */
const CLIENT = { api: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' } } as const;

/** The API address and the token to send, from flags, environment or the stored login. */
function client(values: { api?: string | undefined; token?: string | undefined; 'token-file'?: string | undefined }): { base: string; auth: ClientAuth } {
  const base = apiBase(values.api);
  try {
    return { base, auth: resolveToken(base, { ...(values.token ? { flag: values.token } : {}), ...(values['token-file'] ? { file: values['token-file'] } : {}) }) };
  } catch (err) {
    throw new UsageError(`cannot read --token-file: ${(err as Error).message}`);
  }
}

function flags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}\nRun \`tunehive help\` for the options of \`tunehive ${command}\`.`);
  }
}

function intFlag(value: string | boolean | undefined, name: string, def: number, min = 0, max = 65535): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  return n;
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

const say = (m: string) => process.stderr.write(`${m}\n`);

/** The deploy manifests ship a placeholder token; starting with it would be a silent mistake. */
function refusePlaceholderToken(): void {
  for (const name of ['TUNEHIVE_TOKEN', 'TUNEHIVE_ADMIN_TOKEN']) {
    if (process.env[name]?.startsWith('REPLACE-')) {
      throw new UsageError(`${name} is still the placeholder from deploy/k8s/secret.yaml. Set it to a random secret (openssl rand -hex 32); see deploy/README.md.`);
    }
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;

    case 'demo':
      return (await servers.demo()).runDemo(rest);

    case 'dev': {
      const f = flags(rest, { 'http-port': { type: 'string' }, 'grpc-port': { type: 'string' }, workers: { type: 'string' }, slots: { type: 'string' } }, 'dev');
      const log = (await servers.logger()).createLogger('tunehive-dev', process.env.LOG_LEVEL ?? 'warn');
      const stack = await (await servers.devStack()).startDevStack({
        workers: intFlag(f.values.workers, 'workers', 2, 1, 64), slots: intFlag(f.values.slots, 'slots', 2, 1, 256), dataDir: '.tunehive', log, say,
        httpPort: intFlag(f.values['http-port'], 'http-port', 8080), grpcPort: intFlag(f.values['grpc-port'], 'grpc-port', 50051),
      });
      console.log(`Tunehive is running.\n  API:  ${stack.coordinator.httpUrl}/api/v1/studies\n  gRPC: ${stack.coordinator.grpcAddress}\n  workers: ${stack.agents.length}\n` +
        `Submit a study: TUNEHIVE_API=${stack.coordinator.httpUrl} tunehive submit examples/digits/study.yaml\n` +
        `  (from this folder the CLI uses the local admin token in .tunehive/admin-token; elsewhere: TUNEHIVE_TOKEN=$(cat ${path.resolve('.tunehive/admin-token')}))\nCtrl-C stops everything.`);
      await untilSignal();
      say('stopping…');
      await stack.close();
      return 0;
    }

    case 'coordinator': {
      refusePlaceholderToken();
      const f = flags(rest, { redis: { type: 'string' }, 'redis-url-file': { type: 'string' }, host: { type: 'string' }, 'http-port': { type: 'string' }, 'grpc-port': { type: 'string' }, prefix: { type: 'string' }, 'checkpoint-dir': { type: 'string' },
        'checkpoint-store': { type: 'string' }, 'artifact-store': { type: 'string' }, 's3-endpoint': { type: 'string' }, 'project-artifact-bytes': { type: 'string' },
        'lease-ms': { type: 'string' }, 'reconcile-ms': { type: 'string' }, 'retention-days': { type: 'string' }, 'store-timeout-ms': { type: 'string' },
        'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-ca': { type: 'string' }, insecure: { type: 'boolean' },
        'open-metrics': { type: 'boolean' }, 'audit-max-len': { type: 'string' }, 'auth-failures-per-minute': { type: 'string' }, 'public-url': { type: 'string' } }, 'coordinator');
      const { readServerTls } = await import('../shared/tls.js');
      const tls = readServerTls({
        certFile: f.values['tls-cert'] ?? process.env.TUNEHIVE_TLS_CERT, keyFile: f.values['tls-key'] ?? process.env.TUNEHIVE_TLS_KEY, caFile: f.values['tls-ca'] ?? process.env.TUNEHIVE_TLS_CA,
      });
      // The admin secret comes from the environment only: argv is readable by every local user.
      const adminToken = process.env.TUNEHIVE_ADMIN_TOKEN || undefined;
      const retentionDays = retentionFlag(f.values['retention-days'] ?? process.env.TUNEHIVE_RETENTION_DAYS);
      const log = (await servers.logger()).createLogger('tunehive-coordinator');
      const c = await (await servers.coordinator()).startCoordinator({
        redisUrl: await redisUrlOf(f.values.redis, f.values['redis-url-file'] ?? process.env.REDIS_URL_FILE), host: f.values.host ?? process.env.TUNEHIVE_HOST ?? '127.0.0.1',
        httpPort: intFlag(f.values['http-port'] ?? process.env.TUNEHIVE_HTTP_PORT, 'http-port', 8080),
        grpcPort: intFlag(f.values['grpc-port'] ?? process.env.TUNEHIVE_GRPC_PORT, 'grpc-port', 50051),
        prefix: f.values.prefix ?? process.env.TUNEHIVE_PREFIX ?? 'th', log,
        ...storeOptions(f.values),
        leaseMs: intFlag(f.values['lease-ms'], 'lease-ms', 15_000, 1000, 600_000),
        reconcileIntervalMs: intFlag(f.values['reconcile-ms'], 'reconcile-ms', 2000, 100, 600_000),
        ...(retentionDays !== undefined ? { retentionDays } : {}),
        storeCommandTimeoutMs: intFlag(f.values['store-timeout-ms'] ?? process.env.TUNEHIVE_STORE_TIMEOUT_MS, 'store-timeout-ms', 5000, 100, 600_000),
        ...(tls ? { tls } : {}), insecure: f.values.insecure === true,
        ...(adminToken !== undefined ? { adminToken } : {}),
        openMetrics: f.values['open-metrics'] === true || process.env.TUNEHIVE_OPEN_METRICS === '1',
        auditMaxLen: intFlag(f.values['audit-max-len'], 'audit-max-len', 100_000, 100, 100_000_000),
        authFailuresPerMinute: intFlag(f.values['auth-failures-per-minute'], 'auth-failures-per-minute', 20, 1, 1_000_000),
        ...(process.env.TUNEHIVE_WORKER_JOIN_TOKEN ? { workerJoinToken: process.env.TUNEHIVE_WORKER_JOIN_TOKEN } : {}),
        ...publicUrlFlag(f.values['public-url'] ?? process.env.TUNEHIVE_PUBLIC_URL),
      });
      console.log(`coordinator: API ${c.httpUrl}, gRPC ${c.grpcAddress}`);
      await untilSignal();
      await c.close();
      return 0;
    }

    case 'worker': {
      refusePlaceholderToken();
      const f = flags(rest, {
        redis: { type: 'string' }, 'redis-url-file': { type: 'string' }, coordinator: { type: 'string' }, slots: { type: 'string' }, 'work-dir': { type: 'string' }, id: { type: 'string' }, prefix: { type: 'string' },
        'lock-ms': { type: 'string' }, 'heartbeat-ms': { type: 'string' }, 'grace-ms': { type: 'string' }, gpus: { type: 'string' },
        runtime: { type: 'string' }, 'max-line-bytes': { type: 'string' }, 'metric-window': { type: 'string' }, 'give-up-ms': { type: 'string' },
        'join-token': { type: 'string' }, 'join-token-file': { type: 'string' },
        tls: { type: 'boolean' }, 'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-server-name': { type: 'string' },
        'run-as': { type: 'string' }, 'allow-command': { type: 'string', multiple: true }, 'allow-image': { type: 'string', multiple: true },
        'allow-env': { type: 'string', multiple: true }, 'deny-env': { type: 'string', multiple: true }, 'pass-env': { type: 'string', multiple: true },
      }, 'worker');
      const { readClientTls } = await import('../shared/tls.js');
      const tls = readClientTls({
        tls: f.values.tls === true, caFile: f.values['tls-ca'] ?? process.env.TUNEHIVE_TLS_CA, certFile: f.values['tls-cert'] ?? process.env.TUNEHIVE_TLS_CERT,
        keyFile: f.values['tls-key'] ?? process.env.TUNEHIVE_TLS_KEY, serverName: f.values['tls-server-name'],
      });
      const { CommandPolicy } = await import('../worker/policy/command-policy.js');
      const policy = new CommandPolicy({
        allowCommands: f.values['allow-command'] ?? [], allowImages: f.values['allow-image'] ?? [],
        allowEnv: f.values['allow-env'] ?? [], denyEnv: f.values['deny-env'] ?? [],
      });
      const runAsName = f.values['run-as'] ?? process.env.TUNEHIVE_RUN_AS;
      if (runAsName !== undefined && (f.values.runtime ?? process.env.TUNEHIVE_RUNTIME) === 'container') throw new UsageError('--run-as is for the process runtime; a container runs as its image\'s user');
      let runAs;
      if (runAsName !== undefined) {
        const { lookupUser, RunAsError } = await import('../worker/runtime/run-as.js');
        try {
          runAs = lookupUser(runAsName);
        } catch (err) {
          if (err instanceof RunAsError) throw new UsageError(err.message);
          throw err;
        }
      }
      // The environment is preferred: a flag's value is visible to every local user in /proc/PID/cmdline.
      let joinToken = process.env.TUNEHIVE_JOIN_TOKEN || f.values['join-token'];
      if (!joinToken && f.values['join-token-file']) {
        try {
          joinToken = readFileSync(f.values['join-token-file'], 'utf8').trim();
        } catch (err) {
          throw new UsageError(`cannot read --join-token-file ${f.values['join-token-file']}: ${(err as Error).message}`);
        }
      }
      if (f.values['join-token'] && !process.env.TUNEHIVE_JOIN_TOKEN) say('tunehive: --join-token is visible to every local user (/proc/PID/cmdline); prefer TUNEHIVE_JOIN_TOKEN or --join-token-file');
      // Used once, at the join: trial programs must not inherit it.
      delete process.env.TUNEHIVE_JOIN_TOKEN;
      let gpus: GpuSetting;
      try {
        gpus = (await servers.gpuDiscovery()).resolveGpuSetting(f.values.gpus, process.env);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const runtimeName = f.values.runtime ?? process.env.TUNEHIVE_RUNTIME ?? 'process';
      if (runtimeName !== 'process' && runtimeName !== 'container' && runtimeName !== 'simulated') throw new UsageError(`--runtime must be "process", "container" or "simulated" (got ${JSON.stringify(runtimeName)})`);
      if (runAsName !== undefined && runtimeName === 'simulated') throw new UsageError('--run-as is for the process runtime; the simulated runtime starts no program');
      const log = (await servers.logger()).createLogger('tunehive-worker');
      const { Agent } = await servers.agent();
      const { ProcessRuntime } = await servers.processRuntime();
      const { ContainerRuntime } = await servers.containerRuntime();
      const { SimulatedRuntime } = await servers.simulatedRuntime();
      const agent = new Agent({
        redisUrl: await redisUrlOf(f.values.redis, f.values['redis-url-file'] ?? process.env.REDIS_URL_FILE),
        coordinator: f.values.coordinator ?? process.env.TUNEHIVE_COORDINATOR ?? '127.0.0.1:50051',
        slots: intFlag(f.values.slots ?? process.env.TUNEHIVE_SLOTS, 'slots', 1, 1, 1024),
        workDir: path.resolve(f.values['work-dir'] ?? process.env.TUNEHIVE_WORK_DIR ?? '.tunehive/worker'),
        prefix: f.values.prefix ?? process.env.TUNEHIVE_PREFIX ?? 'th', log, gpus,
        runtime: runtimeName === 'container' ? new ContainerRuntime() : runtimeName === 'simulated' ? new SimulatedRuntime() : new ProcessRuntime(process.cwd(), { passEnv: f.values['pass-env'] ?? [], ...(runAs ? { runAs } : {}) }),
        policy, ...(tls ? { tls } : {}),
        lockMs: intFlag(f.values['lock-ms'], 'lock-ms', 10_000, 1000, 600_000),
        heartbeatMs: intFlag(f.values['heartbeat-ms'], 'heartbeat-ms', 2000, 100, 60_000),
        graceMs: intFlag(f.values['grace-ms'], 'grace-ms', 10_000, 0, 3_600_000),
        maxLineBytes: intFlag(f.values['max-line-bytes'], 'max-line-bytes', 1024 * 1024, 1024, 256 * 1024 * 1024),
        metricWindow: intFlag(f.values['metric-window'], 'metric-window', 16, 1, 1024),
        giveUpMs: intFlag(f.values['give-up-ms'], 'give-up-ms', 600_000, 1000, 86_400_000),
        ...(f.values.id ? { workerId: f.values.id } : {}), ...(joinToken ? { joinToken } : {}),
      });
      try {
        await agent.start();
      } catch (err) {
        await agent.close();
        if ((err as Error).name === 'JoinRefused' || /join/.test((err as Error).message)) throw new UsageError((err as Error).message);
        throw err;
      }
      console.log(`worker ${agent.workerId}: taking trials (${runtimeName} runtime${runtimeName === 'simulated' ? ': no program is started' : ''})`);
      const sig = await Promise.race([untilSignal(), agent.ended.then((why) => `stopped: ${why ?? 'closed'}`)]);
      if (sig.startsWith('stopped')) {
        say(`tunehive: worker ${sig}`);
        await agent.close();
        return 1;
      }
      say(`${sig}: stopping running trials and handing them back…`);
      await agent.close();
      return 0;
    }

    case 'redis-acl': {
      const f = flags(rest, { 'out-dir': { type: 'string' }, prefix: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } }, 'redis-acl');
      const dir = f.values['out-dir'];
      if (!dir) throw new UsageError('tunehive redis-acl needs --out-dir DIR (the files hold passwords: they are written there with mode 0600, never printed)');
      const { deploymentAclFile } = await import('../shared/redis-acl.js');
      const { mkdirSync, writeFileSync } = await import('node:fs');
      const acl = deploymentAclFile(f.values.prefix ?? 'th', f.values.host ?? 'tunehive-redis', intFlag(f.values.port, 'port', 6379, 1));
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const write = (name: string, text: string, mode = 0o600) => writeFileSync(path.join(dir, name), text, { mode, flag: 'wx' });
      try {
        // Hashes only (nothing a reader can log in with), readable by the Redis container's user.
        write('users.acl', acl.aclFile, 0o644);
        write('coordinator-url', `${acl.coordinatorUrl}\n`);
        write('worker-url', `${acl.workerUrl}\n`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${dir} already holds Redis credentials; remove them first (new ones would lock out every running client)`);
        throw err;
      }
      console.log(`wrote ${path.join(dir, 'users.acl')} (password hashes, for redis-server --aclfile), coordinator-url and worker-url (mode 0600: readable by their owner only). See deploy/README.md.`);
      return 0;
    }

    case 'submit': {
      const f = flags(rest, { ...CLIENT }, 'submit');
      const { base, auth } = client(f.values);
      const file = f.positionals[0];
      if (!file) throw new UsageError('tunehive submit needs a study spec file: tunehive submit study.yaml');
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
      const isJson = file.endsWith('.json') || text.trimStart().startsWith('{');
      const s = await api(base, 'POST', '/api/v1/studies', { text, type: isJson ? 'application/json' : 'application/yaml' }, auth);
      console.log(safeText(s.id));
      say(`study "${safeText(s.name)}" created; follow it with: tunehive status ${safeText(s.id)} --watch`);
      return 0;
    }

    case 'katib':
      try {
        return await (await import('./katib-commands.js')).katibCommand(rest[0], rest.slice(1), say);
      } catch (err) {
        if (err instanceof Error && err.name === 'UsageError') throw new UsageError(err.message);
        throw err;
      }

    case 'status': {
      const f = flags(rest, { ...CLIENT, watch: { type: 'boolean' } }, 'status');
      const id = f.positionals[0];
      if (!id) throw new UsageError('tunehive status needs a study id: tunehive status ID');
      const { base, auth } = client(f.values);
      let s = await api(base, 'GET', `/api/v1/studies/${encodeURIComponent(id)}`, undefined, auth);
      while (f.values.watch && s.state === 'RUNNING') {
        say(progressLine(s));
        await new Promise((r) => setTimeout(r, 1000));
        s = await api(base, 'GET', `/api/v1/studies/${encodeURIComponent(id)}`, undefined, auth);
      }
      console.log(studySummary(s));
      return 0;
    }

    case 'trials': {
      const f = flags(rest, { ...CLIENT, limit: { type: 'string' }, offset: { type: 'string' }, state: { type: 'string' }, cursor: { type: 'string' } }, 'trials');
      const { base, auth } = client(f.values);
      const id = f.positionals[0];
      if (!id) throw new UsageError('tunehive trials needs a study id: tunehive trials ID');
      const q = new URLSearchParams({ limit: String(intFlag(f.values.limit, 'limit', 100, 1, 1000)) });
      // A cursor (the `next` a page printed) goes on from that page; an offset counts from the start.
      if (f.values.cursor !== undefined) q.set('cursor', String(intFlag(f.values.cursor, 'cursor', 0, 0, 999_999_999)));
      else q.set('offset', String(intFlag(f.values.offset, 'offset', 0, 0, 1e9)));
      if (f.values.state) q.set('state', f.values.state.toUpperCase());
      const r = await api(base, 'GET', `/api/v1/studies/${encodeURIComponent(id)}/trials?${q}`, undefined, auth);
      console.log(table(['#', 'state', 'value', 'attempt', 'worker', 'params', 'reason'],
        r.trials.map((t: any) => [String(t.number), t.state, fmtValue(t.value), String(t.attempt), t.workerId ?? '-', fmtParams(t.params), safeText(t.reason ?? '').slice(0, 60)])));
      if (typeof r.next === 'string') console.log(`more: --cursor ${safeText(r.next)}`);
      return 0;
    }

    case 'stop': {
      const f = flags(rest, { ...CLIENT }, 'stop');
      const id = f.positionals[0];
      if (!id) throw new UsageError('tunehive stop needs a study id: tunehive stop ID');
      const { base, auth } = client(f.values);
      console.log(studySummary(await api(base, 'POST', `/api/v1/studies/${encodeURIComponent(id)}/stop`, undefined, auth)));
      return 0;
    }

    case 'delete': {
      const f = flags(rest, { ...CLIENT, yes: { type: 'boolean' }, force: { type: 'boolean' } }, 'delete');
      const id = f.positionals[0];
      if (!id) throw new UsageError('tunehive delete needs a study id: tunehive delete ID [--yes]');
      const { base, auth } = client(f.values);
      if (!f.values.yes) {
        const study = await api(base, 'GET', `/api/v1/studies/${encodeURIComponent(id)}`, undefined, auth);
        if (!process.stdin.isTTY) throw new UsageError(`not deleting study ${safeText(id)} without confirmation: add --yes`);
        const answer = await confirm(`Delete study ${safeText(id)} (${safeText(study.state)}, ${safeText(study.created)} trials) with all its metrics and checkpoints? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) { say('not deleted'); return 1; }
      }
      const r = await deleteStudy(base, id, f.values.force === true, auth);
      console.log(`deleted study ${safeText(r.studyId)} (${safeText(r.state)}): ${r.trials} trials, ${r.keys} Redis keys, ${r.jobs} queue jobs, checkpoints of ${r.checkpointTrials} trials`);
      return 0;
    }

    case 'login': {
      const f = flags(rest, { ...CLIENT }, 'login');
      const base = apiBase(f.values.api);
      let token = f.values.token ?? (f.values['token-file'] ? client(f.values).auth.token : undefined);
      token ??= await readSecret(`Token for ${base}: `);
      if (!token) throw new UsageError('no token given: paste one, pipe it on stdin, or pass --token / --token-file');
      const me = await api(base, 'GET', '/api/v1/whoami', undefined, { token, source: 'the token given to login' });
      const file = storeLogin(base, token);
      say(`logged in to ${base} as ${safeText(me.owner)} (role ${safeText(me.role)}, project ${safeText(me.project)}${me.expiresAt ? `, expires ${safeText(me.expiresAt)}` : ''}); token stored in ${file} (mode 0600)`);
      return 0;
    }

    case 'token':
    case 'project': {
      const [sub, ...more] = rest;
      const f = flags(more, { ...CLIENT, kind: { type: 'string' }, project: { type: 'string' }, projects: { type: 'string' }, role: { type: 'string' }, scope: { type: 'string', multiple: true },
        ttl: { type: 'string' }, description: { type: 'string' }, owner: { type: 'string' }, 'max-uses': { type: 'string' }, remove: { type: 'boolean' } }, `${command} ${sub ?? ''}`.trim());
      const { base, auth } = client(f.values);
      const run = command === 'token' ? tokenCommand : projectCommand;
      try {
        return await run(sub, f.values, f.positionals, (method, path, body) => api(base, method, path, body === undefined ? undefined : { text: JSON.stringify(body), type: 'application/json' }, auth), say);
      } catch (err) {
        if (err instanceof Error && err.name === 'UsageError') throw new UsageError(err.message);
        throw err;
      }
    }

    case 'models':
      return (await import('./model-commands.js')).modelCommand(rest);

    case 'artifacts':
    case 'download':
      return (await import('./artifact-commands.js')).artifactCommand(command, rest);
    case 'show':
    case 'rerun': {
      const { CommandUsageError } = await import('./command-kit.js');
      const { showCommand } = await import('./show-commands.js');
      const { rerunCommand } = await import('./rerun-commands.js');
      try {
        return command === 'show' ? await showCommand(rest) : await rerunCommand(rest);
      } catch (err) {
        if (err instanceof CommandUsageError) throw new UsageError(err.message);
        throw err;
      }
    }
    case 'runs':
    case 'compare':
    case 'tag':
    case 'note':
      return (await import('./run-commands.js')).runCommand(command, rest);

    default:
      throw new UsageError(`unknown command "${command}". Run \`tunehive help\` for the list.`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Messages can quote what the API or the user sent: inert, but their lines kept.
    const m = (e: Error) => safeText(e.message, { multiline: true });
    if (err instanceof UsageError || err instanceof ApiError) say(`tunehive: ${m(err)}`);
    else if (err instanceof Error && 'code' in err && /^TH_ERR_CONFIG_/.test(String(err.code))) say(`tunehive: ${m(err)}`);
    else if (err instanceof Error && /redis-server was not found/.test(err.message)) say(`tunehive: ${m(err)}`);
    else say(`tunehive: unexpected error: ${err instanceof Error ? m(err) : safeText(err)}\n(set LOG_LEVEL=debug for details)`);
    process.exit(1);
  },
);

/** --public-url: the coordinator's HTTP URL as trial programs reach it (their MLFLOW_TRACKING_URI). */
function publicUrlFlag(v: string | undefined): { publicUrl?: string } {
  if (v === undefined || v === '') return {};
  if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(v)) throw new UsageError(`--public-url must be an http(s) URL such as http://tunehive.internal:8080 (got ${JSON.stringify(v.slice(0, 100))})`);
  return { publicUrl: v.replace(/\/+$/, '') };
}
