/**
 * The default runtime: the trial program as a child process of the agent. No shell is ever
 * involved (argv goes straight to exec), the program leads its own process group so a stop
 * reaches the helpers it forks (data loaders), and its environment is an allow-list of the
 * agent's (inherited-env.ts: never its credentials) plus the trial's own variables. With
 * `runAs` the program runs as that unprivileged user (run-as.ts).
 */
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { exitLatch, type ExitInfo, type LaunchContext, type LaunchSpec, type RunningProgram, type Runtime } from './runtime.js';
import { launchProblem, tooBigReason } from './launch-check.js';
import { inheritedEnvironment } from './inherited-env.js';
import { prepareTrialFolder, userEnvironment, type RunAsUser } from './run-as.js';

export interface ProcessRuntimeOptions {
  /** Names (glob patterns) of the agent's variables passed on beyond INHERITED_ENV. */
  passEnv?: readonly string[];
  /** Start programs as this user (the agent must be root). */
  runAs?: RunAsUser;
}

export class ProcessRuntime implements Runtime {
  readonly name = 'process';

  constructor(private readonly cwd?: string, private readonly o: ProcessRuntimeOptions = {}) {}

  context(spec: LaunchSpec): LaunchContext {
    return { env: this.environment(spec), workingDir: this.cwd ?? process.cwd() };
  }

  /** The session asks for the context (provenance) and then launches the same spec: built once. */
  private readonly environments = new WeakMap<LaunchSpec, Record<string, string>>();

  private environment(spec: LaunchSpec): Record<string, string> {
    let env = this.environments.get(spec);
    if (!env) {
      env = { ...inheritedEnvironment(process.env, this.o.passEnv), ...spec.env, CUDA_VISIBLE_DEVICES: spec.gpus.join(',') };
      this.environments.set(spec, env);
    }
    return env;
  }

  launch(spec: LaunchSpec): RunningProgram {
    let env = this.environment(spec);
    const [file, ...args] = spec.argv;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const latch = exitLatch();
    const { exited } = latch;
    const finish = (e: ExitInfo) => void latch.finish(e);

    const notStarted = (why: string): RunningProgram => {
      stdout.end();
      stderr.end();
      finish({ code: null, signal: null, startError: `cannot start ${quoteFile(file)}: ${why}` });
      return { stdout, stderr, exited, stop: () => exited };
    };
    const problem = launchProblem(spec);
    if (problem) return notStarted(problem);
    const runAs = this.o.runAs;
    if (runAs) {
      try {
        env = { ...env, ...userEnvironment(runAs, prepareTrialFolder(spec.checkpointDir, runAs)) };
      } catch (err) {
        return notStarted(`cannot hand the trial folder to user ${runAs.name} (--run-as): ${(err as Error).message.slice(0, 300)}`);
      }
    }
    let child: ReturnType<typeof spawn>;
    try {
      // spawn throws synchronously for what exec refuses outright (E2BIG, invalid arguments);
      // ENOENT and EACCES come later, as the 'error' event below.
      child = spawn(file!, args, {
        cwd: this.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false,
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return notStarted(e.code === 'E2BIG' ? tooBigReason(spec.argv, env) : e.message.slice(0, 300));
    }
    child.stdout!.pipe(stdout);
    child.stderr!.pipe(stderr);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' ? ` (is ${quoteFile(file)} installed and on PATH?)`
        : err.code === 'EACCES' && runAs ? ` (--run-as ${runAs.name}: that user must be able to execute the program and enter the working directory ${this.cwd ?? process.cwd()})` : '';
      stdout.end();
      stderr.end();
      finish({ code: null, signal: null, startError: `cannot start ${quoteFile(file)}: ${err.message.slice(0, 300)}${hint}` });
    });
    // 'close' (not 'exit') so every line of output has been read before the exit is reported.
    child.on('close', (code, signal) => finish({ code, signal }));
    child.on('exit', (code, signal) => {
      // The trial is over: helpers it left in its group (data loaders) must not keep the GPU, nor
      // hold stdout open forever; report the exit after a bounded wait for the output to drain.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // the group is already gone
        }
      }
      setTimeout(() => finish({ code, signal }), 5000).unref();
    });

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined || latch.done) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    return {
      stdout, stderr, exited,
      stop: async (graceMs) => {
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), graceMs);
        const e = await exited;
        clearTimeout(timer);
        return e;
      },
    };
  }
}

const quoteFile = (file: string | undefined) => JSON.stringify(file === undefined || file.length <= 200 ? file ?? '' : `${file.slice(0, 200)}…`);
