/**
 * How a worker runs one trial program: a process on this machine (default) or a container.
 * Runtimes only start, watch and stop the program; parsing, metrics and checkpoints stay in the
 * agent, so every runtime behaves the same to the coordinator.
 */
import type { Readable } from 'node:stream';

export interface LaunchSpec {
  trialId: string;
  /** argv with placeholders already substituted; never passed through a shell. */
  argv: string[];
  /** The complete environment additions for the program (TUNEHIVE_* included). */
  env: Record<string, string>;
  /** Absolute path of the trial's checkpoint folder on this machine. */
  checkpointDir: string;
  /** Absolute path of the attempt's artifact folder (TUNEHIVE_ARTIFACT_DIR); a container gets it mounted too. */
  artifactDir?: string;
  /** Device indices the trial may use (CUDA_VISIBLE_DEVICES is set to exactly these). */
  gpus: string[];
  /** Container image, for the container runtime. */
  image?: string;
}

export interface ExitInfo {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: string | null;
  /** Set when the program could not be started at all (e.g. missing binary). */
  startError?: string;
}

export interface RunningProgram {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves once the program has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** Asks the program to stop (SIGTERM), then kills it (SIGKILL) after graceMs. Resolves on exit. */
  stop(graceMs: number): Promise<ExitInfo>;
  /** Container runtimes: the digest of the image the engine ran, once known, and the reference that pins it (provenance). */
  readonly imageDigest?: Promise<{ digest: string; pinned: string } | undefined>;
}

/** What a program is given beyond its LaunchSpec, as a run records it (provenance). */
export interface LaunchContext {
  /** The program's whole environment (inherited variables included). */
  env: Record<string, string>;
  /** The directory it runs in on this machine, when that is where its code lives (process runtime). */
  workingDir?: string;
}

export interface Runtime {
  readonly name: string;
  /**
   * Never throws: a program that cannot be started (bad argv or environment, E2BIG, ENOENT,
   * EACCES, no image) is a RunningProgram whose `exited` carries `startError`. An exception
   * here would be taken for a lost worker and retried until the retries are gone.
   */
  launch(spec: LaunchSpec): RunningProgram;
  /** What `launch(spec)` gives the program beyond the spec; absent: the spec's env, no working directory. */
  context?(spec: LaunchSpec): LaunchContext;
}

/**
 * The exit of a program as every runtime reports it: `exited` resolves once, with the first
 * `finish` (later calls change nothing: a kill racing a normal exit reports whichever came first).
 */
export function exitLatch(): { exited: Promise<ExitInfo>; finish(e: ExitInfo): boolean; readonly done: boolean } {
  let settle!: (e: ExitInfo) => void;
  const exited = new Promise<ExitInfo>((resolve) => (settle = resolve));
  let done = false;
  return {
    exited,
    get done() { return done; },
    finish(e) {
      if (done) return false;
      done = true;
      settle(e);
      return true;
    },
  };
}
