/**
 * The shape every part of `npm run bench:load` reports in, so one report (JSON and markdown)
 * holds them all. A figure is compared with its target or with a ceiling measured in the same
 * run (the machines are noisy: a ratio in one run means more than two absolute numbers).
 */
export interface Figure {
  /** Stable key, e.g. "sim.trialsPerSecond". */
  key: string;
  /** What a reader sees, e.g. "simulated trials/s end to end (simulated runtime, no process)". */
  label: string;
  value: number;
  unit: string;
  /** A ceiling or peer measured in the same run, and its name ("BullMQ raw no-op jobs/s"). */
  against?: { label: string; value: number };
  /** The target as a reader reads it ("≥ 50 % of BullMQ raw"), and whether this run met it. */
  target?: { text: string; met: boolean };
  /** What limits the figure, when known (e.g. "Redis at 98 % of one core"). */
  limit?: string;
}

export interface Section {
  name: string;
  /** Settings of this part (agents, slots, studies, duration, ...). */
  settings: Record<string, unknown>;
  figures: Figure[];
  /** Lines worth reading next to the figures (warnings, what was skipped and why). */
  notes?: string[];
}

/** value / against.value, or undefined. */
export const ratio = (f: Figure): number | undefined => (f.against && f.against.value > 0 ? f.value / f.against.value : undefined);

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
