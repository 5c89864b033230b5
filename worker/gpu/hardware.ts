/**
 * Host facts sent with every Started message, so a trial's result can be traced to the machine
 * (and Kubernetes node) that produced it. Facts only; nothing here decides scheduling.
 */
import os from 'node:os';
import { discoverGpus, type DiscoverOptions, type Hardware } from './discovery.js';

export interface HostFacts {
  hostname: string;
  /** Kubernetes node name from the downward API (NODE_NAME); null outside Kubernetes. */
  nodeName: string | null;
  cpuModel: string;
  cpuCount: number;
  memoryMiB: number;
  platform: string;
  arch: string;
  nodeVersion: string;
}

export interface MachineDescription {
  host: HostFacts;
  hardware: Hardware;
}

/** Injected so tests need not depend on the machine that runs them. */
export interface OsFacts {
  hostname(): string;
  cpus(): Array<{ model: string }>;
  availableParallelism(): number;
  totalmem(): number;
  platform(): string;
  arch(): string;
}

export function describeHost(env: Record<string, string | undefined> = process.env, facts: OsFacts = os): HostFacts {
  const cpus = facts.cpus();
  const nodeName = env.NODE_NAME?.trim();
  return {
    // In a pod the hostname is the pod name; the node name is what an operator looks for.
    hostname: facts.hostname(),
    nodeName: nodeName ? nodeName : null,
    cpuModel: cpus[0]?.model.trim() || 'unknown',
    cpuCount: facts.availableParallelism(),
    memoryMiB: Math.floor(facts.totalmem() / (1024 * 1024)),
    platform: facts.platform(),
    arch: facts.arch(),
    nodeVersion: process.version,
  };
}

export async function describeMachine(opts: DiscoverOptions & { env?: Record<string, string | undefined>; os?: OsFacts } = {}): Promise<MachineDescription> {
  const hardware = await discoverGpus(opts);
  return { host: describeHost(opts.env, opts.os), hardware };
}

/** The allocator's device ids: nvidia-smi indices as strings, what CUDA_VISIBLE_DEVICES takes. */
export function deviceIds(hardware: Hardware): string[] {
  return hardware.gpus.map((g) => String(g.index));
}
