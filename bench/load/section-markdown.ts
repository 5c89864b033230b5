/** One bench:load section as markdown: the figures with their same-run ceilings, ratios and targets, then the notes. */
import { ratio, type Section } from './figures.js';

export function sectionMarkdown(s: Section): string {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
  const lines = [`## ${s.name}`, '', `Settings: ${JSON.stringify(s.settings)}`, '', '| figure | value | against (same run) | ratio | target |', '| --- | --- | --- | --- | --- |'];
  for (const f of s.figures) {
    const r = ratio(f);
    lines.push(`| ${f.label} | ${fmt(f.value)} ${f.unit} | ${f.against ? `${f.against.label}: ${fmt(f.against.value)}` : ''} | ${r === undefined ? '' : `${r.toFixed(2)}x`} | ${f.target ? `${f.target.text}: ${f.target.met ? 'met' : 'NOT met'}` : ''} |`);
  }
  const limits = s.figures.filter((f) => f.limit).map((f) => `* ${f.label}: limited by ${f.limit}`);
  if (limits.length) lines.push('', ...limits);
  if (s.notes?.length) lines.push('', ...s.notes.map((n) => `* ${n}`));
  return lines.join('\n') + '\n';
}
