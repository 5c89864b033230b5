/**
 * Which GPUs this machine has, found by asking `nvidia-smi` (never NVML bindings: no native
 * dependency, and the binary is what the NVIDIA container toolkit and device plugin put into a
 * container anyway). A node where nvidia-smi is missing or fails is a CPU-only node, not an
 * error: the agent still takes 0-GPU trials there.
 *
 * Parsing is pure (tested on captured output); only `discoverGpus` runs anything.
 */
import { execFile } from 'node:child_process';

export interface GpuDevice {
  /** nvidia-smi's index: what CUDA_VISIBLE_DEVICES and Docker's DeviceIDs accept. */
  index: number;
  /** Stable across reboots and container namespaces, unlike the index. */
  uuid: string;
  name: string;
  /** null when the driver reports [N/A] (some MIG / vGPU set-ups). */
  memoryMiB: number | null;
}

export type HardwareSource = 'nvidia-smi' | 'override' | 'none';

export interface Hardware {
  gpus: GpuDevice[];
  driverVersion: string | null;
  cudaVersion: string | null;
  source: HardwareSource;
  /** Why the node has no GPUs, or what to know about an override; absent when all went well. */
  reason?: string;
}

/**
 * The operator's word on GPUs (`--gpus` or TUNEHIVE_GPUS):
 * `auto` (default) asks nvidia-smi; `none` (or `0`) means a CPU-only agent; a lone integer `N`
 * pretends to have N GPUs without probing (tests, simulated workers); a list `0,1,2` (or
 * `device=2` for a single device, as Docker writes it) restricts the agent to those indices.
 */
export type GpuSetting =
  | { kind: 'auto' }
  | { kind: 'none' }
  | { kind: 'count'; count: number }
  | { kind: 'indices'; indices: number[] };

export class GpuSettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuSettingError';
  }
}

const MAX_GPUS = 64; // the study spec caps trial.gpus at 64 as well

/** Throws GpuSettingError on anything unclear, so a typo fails at start-up, never mid-run. */
export function parseGpuSetting(raw: string | undefined): GpuSetting {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto' || v === 'all') return { kind: 'auto' };
  if (v === 'none') return { kind: 'none' };
  const explain = `--gpus must be auto, none, a count such as 4, or device indices such as 0,1,2 or device=3 (got ${JSON.stringify(raw)})`;
  if (/^\d+$/.test(v)) {
    const count = Number(v);
    if (count > MAX_GPUS) throw new GpuSettingError(`${explain}: at most ${MAX_GPUS} GPUs`);
    return count === 0 ? { kind: 'none' } : { kind: 'count', count };
  }
  // A lone integer is a count, so a single index needs Docker's `device=` spelling.
  const list = v.startsWith('device=') ? v.slice('device='.length) : v;
  if (!v.startsWith('device=') && !list.includes(',')) throw new GpuSettingError(explain);
  const parts = list.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) throw new GpuSettingError(explain);
  const indices = parts.map(Number);
  if (new Set(indices).size !== indices.length) throw new GpuSettingError(`${explain}: an index is repeated`);
  if (indices.some((i) => i >= MAX_GPUS)) throw new GpuSettingError(`${explain}: indices go up to ${MAX_GPUS - 1}`);
  return { kind: 'indices', indices };
}

/** The command-line flag wins over the environment. */
export function resolveGpuSetting(flag: string | undefined, env: Record<string, string | undefined>): GpuSetting {
  return parseGpuSetting(flag ?? env.TUNEHIVE_GPUS);
}

export const NVIDIA_SMI_QUERY = ['--query-gpu=index,uuid,name,memory.total,driver_version', '--format=csv,noheader,nounits'] as const;

export interface SmiParse {
  gpus: GpuDevice[];
  driverVersion: string | null;
  /** Lines that could not be read, with why; a GPU is never invented from them. */
  problems: string[];
}

const NOT_AVAILABLE = /^\[?(n\/a|not supported|insufficient permissions|unknown error)\]?$/i;

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version
 * --format=csv,noheader,nounits`. The name sits in the middle and is the only free-text field,
 * so it is taken as everything between the second and the second-to-last comma.
 */
export function parseNvidiaSmiCsv(stdout: string): SmiParse {
  const gpus: GpuDevice[] = [];
  const problems: string[] = [];
  const drivers = new Set<string>();
  for (const rawLine of stdout.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < 5) {
      problems.push(`not 5 fields: ${JSON.stringify(line.slice(0, 120))}`);
      continue;
    }
    const [indexText, uuid] = cells as [string, string];
    const driver = cells[cells.length - 1] as string;
    const memoryText = cells[cells.length - 2] as string;
    const name = cells.slice(2, -2).join(', ');
    if (!/^\d+$/.test(indexText)) {
      problems.push(`index is not a number: ${JSON.stringify(line.slice(0, 120))}`);
      continue;
    }
    if (uuid === '' || /\s/.test(uuid) || NOT_AVAILABLE.test(uuid)) {
      problems.push(`no usable uuid: ${JSON.stringify(line.slice(0, 120))}`);
      continue;
    }
    let memoryMiB: number | null = null;
    if (/^\d+$/.test(memoryText)) memoryMiB = Number(memoryText);
    else if (!NOT_AVAILABLE.test(memoryText)) {
      problems.push(`memory.total is not a number: ${JSON.stringify(line.slice(0, 120))}`);
      continue;
    }
    const index = Number(indexText);
    if (gpus.some((g) => g.index === index)) {
      problems.push(`index ${index} repeated`);
      continue;
    }
    if (driver !== '' && !NOT_AVAILABLE.test(driver)) drivers.add(driver);
    gpus.push({ index, uuid, name: name === '' ? 'unknown' : name, memoryMiB });
  }
  gpus.sort((a, b) => a.index - b.index);
  // One driver serves every GPU of a machine; two versions mean the output is not what we think.
  if (drivers.size > 1) problems.push(`several driver versions reported: ${[...drivers].join(', ')}`);
  const driverVersion = drivers.size === 1 ? ([...drivers][0] as string) : null;
  return { gpus, driverVersion, problems };
}

/** Reads "CUDA Version: 12.2" from nvidia-smi's banner (or `nvidia-smi -q`'s "CUDA Version : 12.2"). */
export function parseCudaVersion(text: string): string | null {
  const m = /CUDA Version\s*:\s*(\d+(?:\.\d+)*)/.exec(text);
  return m ? (m[1] as string) : null;
}

export interface ExecResult { stdout: string; stderr: string }
export type ExecFn = (file: string, args: readonly string[], timeoutMs: number) => Promise<ExecResult>;

/** execFile without a shell, with a timeout, so a hung driver cannot hang the agent's start. */
export const execNoShell: ExecFn = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20, windowsHide: true }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout: String(stdout), stderr: String(stderr) }));
      else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });

export interface DiscoverOptions {
  setting?: GpuSetting;
  exec?: ExecFn;
  timeoutMs?: number;
  /** Path or name of the binary (PATH lookup by execFile). */
  nvidiaSmi?: string;
}

/** Never throws for a machine without GPUs; throws GpuSettingError when an override names missing devices. */
export async function discoverGpus(opts: DiscoverOptions = {}): Promise<Hardware> {
  const setting = opts.setting ?? { kind: 'auto' };
  if (setting.kind === 'none') return { gpus: [], driverVersion: null, cudaVersion: null, source: 'none', reason: 'GPUs disabled by --gpus none' };
  if (setting.kind === 'count') {
    // Deliberately not probed: simulated workers (hundreds in a load test) must not each spawn nvidia-smi.
    const gpus = Array.from({ length: setting.count }, (_, i) => fakeGpu(i));
    return { gpus, driverVersion: null, cudaVersion: null, source: 'override', reason: `${setting.count} GPUs declared by --gpus, not probed` };
  }

  const probe = await probeNvidiaSmi(opts);
  if (setting.kind === 'auto') {
    if (!probe.ok) return { gpus: [], driverVersion: null, cudaVersion: null, source: 'none', reason: probe.reason };
    const out: Hardware = { gpus: probe.gpus, driverVersion: probe.driverVersion, cudaVersion: probe.cudaVersion, source: 'nvidia-smi' };
    if (probe.problems.length > 0) out.reason = `ignored nvidia-smi lines: ${probe.problems.join('; ')}`;
    return out;
  }

  if (!probe.ok) {
    // The operator named devices on a machine we cannot inspect: trust them, but say so.
    return {
      gpus: setting.indices.map(fakeGpu),
      driverVersion: null,
      cudaVersion: null,
      source: 'override',
      reason: `devices ${setting.indices.join(',')} taken from --gpus unverified (${probe.reason})`,
    };
  }
  const byIndex = new Map(probe.gpus.map((g) => [g.index, g]));
  const missing = setting.indices.filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new GpuSettingError(`--gpus names device(s) ${missing.join(',')} but nvidia-smi lists only ${probe.gpus.map((g) => g.index).join(',') || 'none'}`);
  }
  return {
    gpus: setting.indices.map((i) => byIndex.get(i) as GpuDevice),
    driverVersion: probe.driverVersion,
    cudaVersion: probe.cudaVersion,
    source: 'override',
  };
}

function fakeGpu(index: number): GpuDevice {
  return { index, uuid: `GPU-override-${index}`, name: 'declared by --gpus', memoryMiB: null };
}

type Probe =
  | { ok: true; gpus: GpuDevice[]; driverVersion: string | null; cudaVersion: string | null; problems: string[] }
  | { ok: false; reason: string };

async function probeNvidiaSmi(opts: DiscoverOptions): Promise<Probe> {
  const exec = opts.exec ?? execNoShell;
  const bin = opts.nvidiaSmi ?? 'nvidia-smi';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  // The banner is the only place every driver version prints the CUDA version; fetch both at once.
  const [query, banner] = await Promise.allSettled([exec(bin, NVIDIA_SMI_QUERY, timeoutMs), exec(bin, [], timeoutMs)]);
  if (query.status === 'rejected') return { ok: false, reason: describeExecFailure(bin, query.reason, timeoutMs) };
  const parsed = parseNvidiaSmiCsv(query.value.stdout);
  if (parsed.gpus.length === 0) {
    const why = parsed.problems.length > 0 ? `unreadable nvidia-smi output (${parsed.problems.join('; ')})` : 'nvidia-smi lists no GPUs';
    return { ok: false, reason: why };
  }
  const cudaVersion = banner.status === 'fulfilled' ? parseCudaVersion(banner.value.stdout) : null;
  return { ok: true, gpus: parsed.gpus, driverVersion: parsed.driverVersion, cudaVersion, problems: parsed.problems };
}

function describeExecFailure(bin: string, err: unknown, timeoutMs: number): string {
  const e = err as { code?: unknown; killed?: boolean; signal?: unknown; stdout?: string; stderr?: string; message?: string };
  if (e.code === 'ENOENT') return `${bin} not found (CPU-only node)`;
  if (e.code === 'EACCES') return `${bin} is not executable`;
  if (e.killed || e.signal === 'SIGKILL') return `${bin} did not answer within ${timeoutMs} ms`;
  // nvidia-smi prints its reason ("couldn't communicate with the NVIDIA driver") on stdout.
  const said = `${e.stdout ?? ''}\n${e.stderr ?? ''}`.split('\n').map((l) => l.trim()).find((l) => l !== '');
  const code = typeof e.code === 'number' ? ` (exit ${e.code})` : '';
  return `${bin} failed${code}: ${said ?? e.message ?? 'no output'}`;
}
