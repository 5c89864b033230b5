/** Token lifetimes as people write them: `90s`, `30m`, `24h`, `7d` (at most 10 years). */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const MAX_TTL_MS = 3650 * 86_400_000;

/** Milliseconds, or a reason why not. */
export function parseTtl(text: string): number | string {
  const m = /^(\d{1,7})([smhd])$/.exec(text.trim());
  if (!m) return 'must be a number with a unit s, m, h or d (e.g. 24h, 30d)';
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms <= 0) return 'must be more than 0';
  if (ms > MAX_TTL_MS) return 'must be at most 3650d';
  return ms;
}
