/** safeText: what an untrusted string may do to the terminal the CLI prints it on (nothing). */
import { describe, expect, it } from 'vitest';
import { fmtParams, safeText, studySummary, table } from '../../cli/format.js';

// Anything a terminal would act on: ESC, BEL, the C1 introducers, other controls, DEL.
const ACTIVE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe('safeText', () => {
  it.each([
    ['CSI clear screen', 'a\x1b[2Jb', 'ab'],
    ['CSI with parameters and SGR', '\x1b[1;31mred\x1b[0m', 'red'],
    ['cursor up and erase line (rewrites earlier output)', 'ok\x1b[1A\x1b[2Kfake', 'okfake'],
    ['OSC 52 clipboard write, BEL-terminated', 'x\x1b]52;c;cm0gLXJmIH4K\x07y', 'xy'],
    ['OSC 8 hyperlink, ST-terminated', '\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\', 'click'],
    ['OSC never terminated', 'name\x1b]0;title', 'name'],
    ['8-bit CSI and OSC', 'a\x9b2Jb\x9d52;c;Zm9v\x9cc', 'abc'],
    ['DCS string', 'p\x1bPq#0;2;0;0;0\x1b\\q', 'pq'],
    ['two-character escapes (RIS, charset)', 'a\x1bcb\x1b(0c', 'abc'],
    ['lone ESC at the end', 'abc\x1b', 'abc'],
    ['carriage return, backspace, BEL, NUL, DEL', 'a\rb\bc\x07d\0e\x7ff', 'abcdef'],
    ['bidirectional override (reorders what is shown)', 'file\u202etxt.exe', 'filetxt.exe'],
    ['newlines and tabs cannot forge rows', 'one\ntwo\r\nthree\tfour\u2028five', 'one two three four five'],
    ['plain text and Unicode unchanged', 'lr=0.01 é 日本 ✓', 'lr=0.01 é 日本 ✓'],
  ])('%s', (_, input, out) => {
    expect(safeText(input)).toBe(out);
    expect(safeText(input)).not.toMatch(ACTIVE);
  });

  it('multiline keeps newlines and tabs, and nothing else', () => {
    expect(safeText('line 1\r\n\tline 2\x1b[2J\nline 3\x1b]52;c;eA==\x07', { multiline: true })).toBe('line 1\n\tline 2\nline 3');
  });

  it('non-strings are printed as text', () => {
    expect(safeText(3)).toBe('3');
    expect(safeText(null)).toBe('null');
  });

  it('tables, parameters and study summaries print only inert text', () => {
    const evil = 'w\x1b[2J\x1b]52;c;cm0gLXJm\x07\nforged row';
    const out = [
      table(['#', 'worker', 'params', 'reason'], [['0', evil, fmtParams({ [evil]: evil }), evil]]),
      studySummary({ id: 'abc', name: evil, state: 'FAILED', reason: evil, objective: { direction: 'maximize', metric: evil }, algorithm: { name: 'tpe', seed: 1 },
        created: 1, maxTrials: 1, counts: { completed: 0, running: 0, queued: 0, failed: 1, pruned: 0, cancelled: 0 }, best: { trialId: evil, value: 1, params: { x: evil } } }),
    ].join('\n');
    expect(out).not.toMatch(ACTIVE);
    expect(out.split('\n')).toHaveLength(3 + 4); // table: header, rule, one row; summary: 4 lines
    expect(out).toContain('w forged row');
  });
});
