/**
 * Plain-text rendering for the CLI: tables, study summaries and a progress line. Every string
 * that came from the API (names, ids, reasons with a program's stderr, parameter values) goes
 * through `safeText` before it reaches the terminal.
 */

// ESC-introduced and 8-bit (C1) sequences whole: CSI (cursor moves, ESC[2J clears the screen),
// OSC/DCS/SOS/PM/APC strings up to their terminator (OSC 52 writes the clipboard, OSC 8 forges
// links), and two-character escapes. What is left after the introducer is plain text.
const SEQUENCE = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x9c\n]*?(?:\x07|\x1b\\|\x9c|(?=\n)|$)|\x1b[ -/]*[0-~]/g;
// Remaining C0/C1 controls and DEL; bidirectional overrides, which reorder what is shown.
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const LINE_BREAK = /\r\n|[\n\t\u2028\u2029]/g;

/**
 * Text from an untrusted source, made inert for a terminal. Single-line (the default, for table
 * cells and names) turns line breaks and tabs into spaces so a value cannot forge rows;
 * `multiline` keeps newlines and tabs.
 */
export function safeText(v: unknown, o: { multiline?: boolean } = {}): string {
  let s = String(v).replace(SEQUENCE, '');
  if (o.multiline) s = s.replace(/\r\n|[\u2028\u2029]/g, '\n');
  else s = s.replace(LINE_BREAK, ' ');
  return s.replace(CONTROL, '');
}

export function table(headers: string[], rows: string[][]): string {
  headers = headers.map((h) => safeText(h));
  rows = rows.map((r) => r.map((c) => safeText(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? v.toPrecision(4) : v.toExponential(3);
  return safeText(v);
}

export function fmtParams(p: Record<string, unknown> | null | undefined): string {
  if (!p) return '-';
  return Object.entries(p).map(([k, v]) => `${safeText(k)}=${fmtValue(v)}`).join(' ');
}

export function progressLine(s: any): string {
  const c = s.counts;
  const finished = c.completed + c.failed + c.pruned + c.cancelled;
  const width = 24;
  const filled = Math.round((finished / s.maxTrials) * width);
  const bar = `[${'#'.repeat(Math.min(width, filled))}${'.'.repeat(Math.max(0, width - filled))}]`;
  const best = s.best ? `best ${safeText(s.objective.metric)}=${fmtValue(s.best.value)} (trial ${fmtValue(s.best.number)})` : 'no result yet';
  return `${bar} ${finished}/${s.maxTrials} done, ${c.running} running, ${c.queued} queued, ${c.failed} failed | ${best}`;
}

export function studySummary(s: any): string {
  const t = safeText;
  const lines = [
    `study ${t(s.id)} "${t(s.name)}": ${t(s.state)}${s.reason ? ` (${t(s.reason)})` : ''}`,
    `  objective: ${t(s.objective.direction)} ${t(s.objective.metric)}${s.objective.goal !== undefined ? `, goal ${t(s.objective.goal)}` : ''}; algorithm ${t(s.algorithm.name)} (seed ${t(s.algorithm.seed)})`,
    `  trials: ${t(s.created)} created of ${t(s.maxTrials)}; ${t(s.counts.completed)} completed, ${t(s.counts.running)} running, ${t(s.counts.queued)} queued, ${t(s.counts.failed)} failed, ${t(s.counts.pruned)} pruned, ${t(s.counts.cancelled)} cancelled`,
  ];
  if (s.best) lines.push(`  best: trial ${t(s.best.trialId)} ${t(s.objective.metric)}=${fmtValue(s.best.value)}  ${fmtParams(s.best.params)}`);
  return lines.join('\n');
}
