/** The program times a worker reports in Finished (bench:load's latencies) are stored only when plausible, never an error. */
import { describe, expect, it } from 'vitest';
import { checkFinished, programTimes } from '../../shared/wire-limits.js';

const now = Date.UTC(2026, 0, 1);

describe('Finished program times', () => {
  it('keeps a start and an exit in order', () => {
    expect(programTimes({ programStartedAtMs: now - 50, programExitedAtMs: now - 10 }, now)).toEqual({ programStartedAt: now - 50, programExitedAt: now - 10 });
    expect(programTimes({ programStartedAtMs: now - 50, programExitedAtMs: now - 50 }, now)).toEqual({ programStartedAt: now - 50, programExitedAt: now - 50 });
  });

  it.each([
    ['none (a program that never started)', {}],
    ['0: unknown', { programStartedAtMs: 0, programExitedAtMs: 0 }],
    ['only a start', { programStartedAtMs: now - 50 }],
    ['an exit before the start (a clock stepped back)', { programStartedAtMs: now - 10, programExitedAtMs: now - 50 }],
    ['a start before 2000', { programStartedAtMs: 5, programExitedAtMs: now }],
    ['an exit two days ahead', { programStartedAtMs: now, programExitedAtMs: now + 2 * 86_400_000 }],
    ['a fraction of a millisecond', { programStartedAtMs: now - 0.5, programExitedAtMs: now }],
  ])('drops %s', (_, f) => {
    expect(programTimes(f, now)).toBeUndefined();
  });

  it('never makes a Finished invalid', () => {
    expect(() => checkFinished({ reason: '', stderrTail: '', signal: '', programStartedAtMs: now, programExitedAtMs: 1 } as Parameters<typeof checkFinished>[0])).not.toThrow();
  });
});
