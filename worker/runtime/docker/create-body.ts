/**
 * The body of POST /containers/create for one trial. Pure, so the mapping from a LaunchSpec to
 * the engine's terms (GPUs, mounts, limits, environment) is tested without an engine.
 */
import type { LaunchSpec } from '../runtime.js';

export const CONTAINER_CHECKPOINT_DIR = '/tunehive/checkpoint';
export const CONTAINER_ARTIFACT_DIR = '/tunehive/artifacts';

export interface ContainerSettings {
  /** `same-path` mounts the checkpoint folder where it is on the host; `fixed` at /tunehive/checkpoint. */
  checkpointMount: 'same-path' | 'fixed';
  memoryBytes?: number;
  /** Fractional CPUs (2.5), sent as NanoCpus. */
  cpus?: number;
  shmSizeBytes?: number;
  network?: string;
  /** uid[:gid] to run as; the image's own user when absent. */
  user?: string;
  /** Allocator device id -> id the engine understands (e.g. index -> UUID when the agent runs in a container). */
  deviceIdMap?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface CreateContainerBody {
  Image: string;
  Cmd: string[];
  Env: string[];
  Labels: Record<string, string>;
  Tty: false;
  OpenStdin: false;
  AttachStdin: false;
  User?: string;
  HostConfig: {
    AutoRemove: false;
    Init: true;
    Mounts: Array<{ Type: 'bind'; Source: string; Target: string; ReadOnly: false }>;
    DeviceRequests?: Array<{ Driver: 'nvidia'; DeviceIDs: string[]; Capabilities: string[][] }>;
    Memory?: number;
    MemorySwap?: number;
    NanoCpus?: number;
    ShmSize?: number;
    NetworkMode?: string;
    SecurityOpt: string[];
  };
}

export const TRIAL_LABEL = 'tunehive.trial-id';
export const MANAGED_LABEL = 'tunehive.managed';

export function buildCreateBody(spec: LaunchSpec & { image: string }, s: ContainerSettings): CreateContainerBody {
  const target = s.checkpointMount === 'fixed' ? CONTAINER_CHECKPOINT_DIR : spec.checkpointDir;
  // The program may have been handed the host path in its arguments (a ${checkpointDir}-style
  // placeholder) as well as in the environment; both must name the path it can see.
  const artifactTarget = spec.artifactDir && (s.checkpointMount === 'fixed' ? CONTAINER_ARTIFACT_DIR : spec.artifactDir);
  const inside = (v: string) => {
    let out = target === spec.checkpointDir ? v : v.split(spec.checkpointDir).join(target);
    if (spec.artifactDir && artifactTarget !== spec.artifactDir) out = out.split(spec.artifactDir).join(artifactTarget!);
    return out;
  };
  const deviceIds = spec.gpus.map((g) => s.deviceIdMap?.[g] ?? g);

  const env = new Map<string, string>();
  for (const [k, v] of Object.entries(spec.env)) env.set(k, inside(v));
  env.set('TUNEHIVE_CHECKPOINT_DIR', target);
  if (artifactTarget) env.set('TUNEHIVE_ARTIFACT_DIR', artifactTarget);
  // Inside the container the granted GPUs are renumbered from 0, so the host indices the agent
  // chose would point at devices that do not exist there.
  if (spec.gpus.length > 0) env.set('CUDA_VISIBLE_DEVICES', spec.gpus.map((_, i) => String(i)).join(','));
  else env.delete('CUDA_VISIBLE_DEVICES');
  // CUDA base images set NVIDIA_VISIBLE_DEVICES=all; where `nvidia` is the engine's default
  // runtime that would hand every GPU of the node to a 0-GPU trial. Say exactly what it gets.
  env.set('NVIDIA_VISIBLE_DEVICES', deviceIds.length > 0 ? deviceIds.join(',') : 'void');

  const body: CreateContainerBody = {
    Image: spec.image,
    // Exec form: the argv reaches the image's entrypoint as is, no shell parses it.
    Cmd: spec.argv.map(inside),
    Env: [...env].map(([k, v]) => `${k}=${v}`),
    Labels: { ...s.labels, [TRIAL_LABEL]: spec.trialId, [MANAGED_LABEL]: 'true' },
    Tty: false, // keeps stdout and stderr apart (multiplexed log stream)
    OpenStdin: false,
    AttachStdin: false,
    HostConfig: {
      // Removed by us after reading the exit code and the last logs; AutoRemove races both.
      AutoRemove: false,
      // A tiny init as PID 1 forwards SIGTERM (PID 1 ignores it by default) and reaps zombies
      // left by data-loader workers.
      Init: true,
      // Mounts rather than Binds: a path containing ':' cannot be mis-split, and a missing
      // source is an error instead of a new empty root-owned folder.
      Mounts: [{ Type: 'bind', Source: spec.checkpointDir, Target: target, ReadOnly: false },
        ...(spec.artifactDir ? [{ Type: 'bind' as const, Source: spec.artifactDir, Target: artifactTarget!, ReadOnly: false as const }] : [])],
      SecurityOpt: ['no-new-privileges'],
    },
  };
  if (s.user) body.User = s.user;
  const hc = body.HostConfig;
  if (deviceIds.length > 0) hc.DeviceRequests = [{ Driver: 'nvidia', DeviceIDs: deviceIds, Capabilities: [['gpu']] }];
  if (s.memoryBytes !== undefined) {
    hc.Memory = s.memoryBytes;
    hc.MemorySwap = s.memoryBytes; // no swap on top: a trial over its limit is OOM-killed, not slowed to a crawl
  }
  if (s.cpus !== undefined) hc.NanoCpus = Math.round(s.cpus * 1e9);
  // Docker's 64 MiB /dev/shm breaks PyTorch DataLoader workers.
  if (s.shmSizeBytes !== undefined) hc.ShmSize = s.shmSizeBytes;
  if (s.network) hc.NetworkMode = s.network;
  return body;
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; the suffix keeps a retried trial from colliding with a leftover. */
export function containerName(trialId: string, suffix: string): string {
  const safe = trialId.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 100);
  return `tunehive-${safe}-${suffix}`;
}
