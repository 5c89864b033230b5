/**
 * What a process has used, from /proc (Linux): CPU time (utime + stime, its own threads only,
 * never its reaped children: an agent's trial programs are not the agent's cost) and memory
 * (VmRSS now, VmHWM the peak since it started). Another OS or a gone process: undefined.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ): 100 on every Linux Node supports. */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  cpuMs: number;
  rssBytes: number;
  peakRssBytes: number;
}

export function procSample(pid: number | undefined): ProcSample | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { cpuMs: ((utime + stime) * 1000) / TICKS_PER_SECOND, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU used between two samples of each pid, summed (pids without both samples count 0). */
export function cpuDeltaMs(before: Map<number, ProcSample | undefined>, after: Map<number, ProcSample | undefined>): number {
  let sum = 0;
  for (const [pid, a] of after) {
    const b = before.get(pid);
    if (a && b) sum += a.cpuMs - b.cpuMs;
  }
  return sum;
}

export const sampleAll = (pids: readonly number[]): Map<number, ProcSample | undefined> => new Map(pids.map((p) => [p, procSample(p)]));

/** The whole machine's CPU time in ticks (/proc/stat "cpu" line): busy (everything but idle and iowait) and total. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
    const v = line!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3]! - v[4]!, total };
  } catch {
    return undefined;
  }
}

/** Percent of all the machine's cores busy between two readings (anyone's processes: on a shared machine, the usual limit). */
export const machineBusyPercent = (a: ReturnType<typeof machineCpu>, b: ReturnType<typeof machineCpu>): number =>
  a && b && b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : NaN;
