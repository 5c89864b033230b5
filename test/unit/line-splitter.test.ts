import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../worker/metrics/line-splitter.js';

describe('LineSplitter', () => {
  const split = (chunks: Array<string | Buffer>, cap = 64) => {
    const lines: Array<[string, boolean]> = [];
    const s = new LineSplitter(cap, (l, t) => lines.push([l, t]));
    for (const c of chunks) s.push(c);
    s.end();
    return lines;
  };

  it('gives the same lines whether a line lies inside one chunk or spans several, multi-byte characters included', () => {
    const text = 'loss=1\r\nnamé=2\nwörld=3\n\nlast';
    const whole = split([text]);
    expect(whole).toEqual([['loss=1', false], ['namé=2', false], ['wörld=3', false], ['', false], ['last', false]]);
    const bytes = Buffer.from(text);
    // Every cut point, including inside the two-byte é and ö.
    for (let cut = 1; cut < bytes.length; cut++) expect(split([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(whole);
  });

  it('cuts a line over the cap inside one chunk as it cuts one spread over chunks', () => {
    expect(split(['abcdefgh\nok\n'], 4)).toEqual([['abcd', true], ['ok', false]]);
    expect(split(['abcd\n'], 4)).toEqual([['abcd', false]]);
  });

  it('stops after the line where the reader is blocked and hands back the rest', () => {
    const lines: string[] = [];
    const s = new LineSplitter(64, (l) => lines.push(l));
    const rest = s.push('a=1\nb=2\nc=3\n', () => lines.length >= 2);
    expect(lines).toEqual(['a=1', 'b=2']);
    expect(rest?.toString()).toBe('c=3\n');
  });
});
