import { describe, expect, it } from 'vitest';
import {
  discoverGpus,
  execNoShell,
  GpuSettingError,
  NVIDIA_SMI_QUERY,
  parseCudaVersion,
  parseGpuSetting,
  parseNvidiaSmiCsv,
  resolveGpuSetting,
  type ExecFn,
} from '../../worker/gpu/discovery.js';
import { describeHost, deviceIds } from '../../worker/gpu/hardware.js';

// Captured `nvidia-smi --query-gpu=index,uuid,name,memory.total,driver_version --format=csv,noheader,nounits`.
const ONE_H100 = '0, GPU-8b5a4c6e-2f0e-6b9a-3c1d-7e4f5a6b7c8d, NVIDIA H100 80GB HBM3, 81559, 550.54.15\n';
const EIGHT_A100 = Array.from(
  { length: 8 },
  (_, i) => `${i}, GPU-1d2c3b4a-0000-1111-2222-33334444555${i}, NVIDIA A100-SXM4-80GB, 81920, 535.129.03`,
).join('\n') + '\n';
const MIXED = [
  '0, GPU-aa11bb22-cc33-dd44-ee55-ff6677889900, NVIDIA GeForce RTX 4090, 24564, 550.67',
  '1, GPU-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d, NVIDIA RTX A6000, 49140, 550.67',
  '2, GPU-99887766-5544-3322-1100-ffeeddccbbaa, Tesla T4, 15360, 550.67',
].join('\r\n');
const BANNER = `Tue Mar  5 10:12:01 2024
+---------------------------------------------------------------------------------------+
| NVIDIA-SMI 535.104.05             Driver Version: 535.104.05   CUDA Version: 12.2     |
|-----------------------------------------+----------------------+----------------------+
`;
const DRIVER_DOWN = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n";

describe('parseNvidiaSmiCsv', () => {
  it('reads one GPU', () => {
    expect(parseNvidiaSmiCsv(ONE_H100)).toEqual({
      gpus: [{ index: 0, uuid: 'GPU-8b5a4c6e-2f0e-6b9a-3c1d-7e4f5a6b7c8d', name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 }],
      driverVersion: '550.54.15',
      problems: [],
    });
  });

  it('reads eight GPUs in index order', () => {
    const shuffled = EIGHT_A100.split('\n').reverse().join('\n');
    const r = parseNvidiaSmiCsv(shuffled);
    expect(r.gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(r.gpus.map((g) => g.uuid)).size).toBe(8);
    expect(r.gpus.every((g) => g.name === 'NVIDIA A100-SXM4-80GB' && g.memoryMiB === 81920)).toBe(true);
    expect(r.driverVersion).toBe('535.129.03');
    expect(r.problems).toEqual([]);
  });

  it('reads mixed models with CRLF line ends', () => {
    const r = parseNvidiaSmiCsv(MIXED);
    expect(r.gpus.map((g) => [g.name, g.memoryMiB])).toEqual([
      ['NVIDIA GeForce RTX 4090', 24564],
      ['NVIDIA RTX A6000', 49140],
      ['Tesla T4', 15360],
    ]);
    expect(r.driverVersion).toBe('550.67');
  });

  it('keeps a name with a comma whole and accepts [N/A] memory', () => {
    const r = parseNvidiaSmiCsv('3, MIG-1a2b3c4d-aaaa-bbbb-cccc-0123456789ab, Odd, Name GPU, [N/A], 550.67\n');
    expect(r.gpus).toEqual([{ index: 3, uuid: 'MIG-1a2b3c4d-aaaa-bbbb-cccc-0123456789ab', name: 'Odd, Name GPU', memoryMiB: null }]);
  });

  it('never invents a GPU from garbage', () => {
    for (const text of [DRIVER_DOWN, '', '\n\n', 'index, uuid, name, memory.total [MiB], driver_version', 'x, y, z, 1, 2', '0, GPU-1, T4, lots, 550.67', '0, , T4, 100, 1', '<html>502</html>']) {
      expect(parseNvidiaSmiCsv(text).gpus).toEqual([]);
    }
    const r = parseNvidiaSmiCsv(`${DRIVER_DOWN}${ONE_H100}0, GPU-dup, T4, 1, 550.54.15\n`);
    expect(r.gpus).toHaveLength(1);
    expect(r.problems).toHaveLength(2);
  });

  it('reports disagreeing driver versions rather than picking one', () => {
    const r = parseNvidiaSmiCsv('0, GPU-a, T4, 1, 550.1\n1, GPU-b, T4, 1, 535.2\n');
    expect(r.driverVersion).toBeNull();
    expect(r.problems[0]).toMatch(/several driver versions/);
  });
});

describe('parseCudaVersion', () => {
  it('reads the banner and the -q form', () => {
    expect(parseCudaVersion(BANNER)).toBe('12.2');
    expect(parseCudaVersion('    CUDA Version                          : 12.4\n')).toBe('12.4');
    expect(parseCudaVersion(DRIVER_DOWN)).toBeNull();
  });
});

describe('parseGpuSetting', () => {
  it('understands auto, none, counts and lists', () => {
    expect(parseGpuSetting(undefined)).toEqual({ kind: 'auto' });
    expect(parseGpuSetting('auto')).toEqual({ kind: 'auto' });
    expect(parseGpuSetting('none')).toEqual({ kind: 'none' });
    expect(parseGpuSetting('0')).toEqual({ kind: 'none' });
    expect(parseGpuSetting('4')).toEqual({ kind: 'count', count: 4 });
    expect(parseGpuSetting('0,1,2')).toEqual({ kind: 'indices', indices: [0, 1, 2] });
    expect(parseGpuSetting(' 3 , 1 ')).toEqual({ kind: 'indices', indices: [3, 1] });
    expect(parseGpuSetting('device=2')).toEqual({ kind: 'indices', indices: [2] });
  });

  it('rejects what it cannot read', () => {
    for (const bad of ['some', '-1', '1.5', '0,0', 'a,b', ',', 'device=', '65', '0,99']) {
      expect(() => parseGpuSetting(bad), bad).toThrow(GpuSettingError);
    }
  });

  it('lets the flag win over TUNEHIVE_GPUS', () => {
    expect(resolveGpuSetting(undefined, { TUNEHIVE_GPUS: '2' })).toEqual({ kind: 'count', count: 2 });
    expect(resolveGpuSetting('none', { TUNEHIVE_GPUS: '2' })).toEqual({ kind: 'none' });
  });
});

function fakeExec(answers: { query?: string | Error; banner?: string | Error }): { exec: ExecFn; calls: string[][] } {
  const calls: string[][] = [];
  const exec: ExecFn = async (file, args) => {
    calls.push([file, ...args]);
    const a = args.length === 0 ? answers.banner : answers.query;
    if (a instanceof Error) throw a;
    return { stdout: a ?? '', stderr: '' };
  };
  return { exec, calls };
}
const failure = (props: Record<string, unknown>) => Object.assign(new Error('Command failed'), props);

describe('discoverGpus', () => {
  it('asks nvidia-smi with the query flags and no shell', async () => {
    const { exec, calls } = fakeExec({ query: EIGHT_A100, banner: BANNER });
    const hw = await discoverGpus({ exec });
    expect(hw.source).toBe('nvidia-smi');
    expect(hw.gpus).toHaveLength(8);
    expect(hw.driverVersion).toBe('535.129.03');
    expect(hw.cudaVersion).toBe('12.2');
    expect(hw.reason).toBeUndefined();
    expect(calls).toContainEqual(['nvidia-smi', ...NVIDIA_SMI_QUERY]);
    expect(deviceIds(hw)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
  });

  it('makes a CPU-only node when the binary is missing, the driver is down, or it hangs', async () => {
    const missing = await discoverGpus({ exec: fakeExec({ query: failure({ code: 'ENOENT' }) }).exec });
    expect(missing).toMatchObject({ gpus: [], source: 'none', reason: 'nvidia-smi not found (CPU-only node)' });
    const down = await discoverGpus({ exec: fakeExec({ query: failure({ code: 9, stdout: DRIVER_DOWN }) }).exec });
    expect(down.reason).toMatch(/exit 9.*couldn't communicate/);
    const hung = await discoverGpus({ exec: fakeExec({ query: failure({ killed: true, signal: 'SIGKILL' }) }).exec, timeoutMs: 50 });
    expect(hung.reason).toMatch(/did not answer within 50 ms/);
    const garbage = await discoverGpus({ exec: fakeExec({ query: '<html>oops</html>' }).exec });
    expect(garbage).toMatchObject({ gpus: [], source: 'none' });
    expect(garbage.reason).toMatch(/unreadable/);
  });

  it('keeps the GPUs when only the banner fails', async () => {
    const hw = await discoverGpus({ exec: fakeExec({ query: ONE_H100, banner: failure({ code: 1 }) }).exec });
    expect(hw).toMatchObject({ source: 'nvidia-smi', cudaVersion: null, driverVersion: '550.54.15' });
  });

  it('honours overrides', async () => {
    const { exec, calls } = fakeExec({ query: MIXED, banner: BANNER });
    expect(await discoverGpus({ exec, setting: { kind: 'none' } })).toMatchObject({ gpus: [], source: 'none' });
    const four = await discoverGpus({ exec, setting: { kind: 'count', count: 4 } });
    expect(four.source).toBe('override');
    expect(deviceIds(four)).toEqual(['0', '1', '2', '3']);
    expect(calls).toEqual([]); // a declared count is never probed
    const picked = await discoverGpus({ exec, setting: { kind: 'indices', indices: [2, 0] } });
    expect(picked.gpus.map((g) => g.name)).toEqual(['Tesla T4', 'NVIDIA GeForce RTX 4090']);
    expect(picked.source).toBe('override');
    await expect(discoverGpus({ exec, setting: { kind: 'indices', indices: [0, 5] } })).rejects.toThrow(/device\(s\) 5/);
    const blind = await discoverGpus({ exec: fakeExec({ query: failure({ code: 'ENOENT' }) }).exec, setting: { kind: 'indices', indices: [1] } });
    expect(blind).toMatchObject({ source: 'override', gpus: [{ index: 1 }] });
    expect(blind.reason).toMatch(/unverified/);
  });

  it('runs a real missing binary through execFile as a CPU-only node', async () => {
    const hw = await discoverGpus({ nvidiaSmi: '/nonexistent/tunehive-nvidia-smi', exec: execNoShell });
    expect(hw).toMatchObject({ source: 'none', gpus: [] });
    expect(hw.reason).toMatch(/not found/);
  });
});

describe('describeHost', () => {
  it('takes the node name from the downward API', () => {
    const facts = { hostname: () => 'worker-abc', cpus: () => [{ model: ' Xeon ' }], availableParallelism: () => 16, totalmem: () => 64 * 1024 ** 3, platform: () => 'linux', arch: () => 'x64' };
    expect(describeHost({ NODE_NAME: 'gpu-node-7' }, facts)).toMatchObject({ hostname: 'worker-abc', nodeName: 'gpu-node-7', cpuModel: 'Xeon', cpuCount: 16, memoryMiB: 65536 });
    expect(describeHost({}, facts).nodeName).toBeNull();
  });
});
