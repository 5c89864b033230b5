/** The program times a worker reports in Finished (bench:load's latencies) are stored only when plausible. */
import { describe, expect, it } from 'vitest';
import { checkFinished } from '../../shared/wire-limits.js';

const base = { reason: '', stderrTail: '', signal: '' };
const now = Date.UTC(2026, 0, 1);

describe('Finished program times', () => {
  it('accepts a start and an exit in order, or none (0: unknown)', () => {
    expect(() => checkFinished({ ...base, programStartedAtMs: now - 50, programExitedAtMs: now - 10 }, now)).not.toThrow();
    expect(() => checkFinished({ ...base, programStartedAtMs: 0, programExitedAtMs: 0 }, now)).not.toThrow();
    expect(() => checkFinished(base, now)).not.toThrow();
  });

  it('refuses an exit before the start, naming both', () => {
    expect(() => checkFinished({ ...base, programStartedAtMs: now - 10, programExitedAtMs: now - 50 }, now)).toThrow(/programExitedAtMs.*before finished.programStartedAtMs/);
  });

  it.each([
    ['before 2000', 5],
    ['two days ahead', now + 2 * 86_400_000],
    ['not an integer', now - 0.5],
  ])('refuses a time %s', (_, t) => {
    expect(() => checkFinished({ ...base, programStartedAtMs: t as number }, now)).toThrow(/programStartedAtMs/);
  });
});
