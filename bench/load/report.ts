/** The report of `npm run bench:load`: one JSON file and one markdown table, from the sections. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ratio, type Figure, type Section } from './figures.js';

export interface LoadReport {
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; cpuModel: string; memoryMiB: number; node: string; load1: number };
  options: Record<string, unknown>;
  sections: Section[];
  ok: boolean;
  problems: string[];
}

export function machine(): LoadReport['machine'] {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? '?', memoryMiB: Math.round(os.totalmem() / 2 ** 20), node: process.version, load1: os.loadavg()[0] ?? 0 };
}

const num = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? Math.round(v).toLocaleString('en-US') : a >= 10 ? v.toFixed(1) : v.toFixed(2);
};
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function figureRow(f: Figure): string {
  const r = ratio(f);
  return `| ${cell(f.label)} | ${num(f.value)} ${f.unit} | ${f.against ? `${num(f.against.value)} (${cell(f.against.label)})` : ''} | ${r === undefined ? '' : `${num(r)}x`} | ${f.target ? cell(f.target.text) : ''} | ${f.target ? (f.target.met ? 'yes' : '**no**') : ''} | ${f.limit ? cell(f.limit) : ''} |`;
}

/** One section: its settings, the figures with their same-run ceilings, ratios and targets, then the notes. */
export function sectionMarkdown(s: Section): string {
  const out = [`## ${s.name}`, '', `Settings: ${Object.entries(s.settings).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ')}`, ''];
  out.push('| figure | value | against | ratio | target | met | limit |', '| --- | --- | --- | --- | --- | --- | --- |');
  for (const f of s.figures) out.push(figureRow(f));
  if (s.notes?.length) out.push('', ...s.notes.map((n) => `- ${n}`));
  out.push('');
  return out.join('\n');
}

export function toMarkdown(r: LoadReport): string {
  const out = [
    `# bench:load, ${r.startedAt}`,
    '',
    `Machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${r.machine.memoryMiB} MiB, Node ${r.machine.node}, load average ${r.machine.load1.toFixed(2)} at the end. ` +
      'Ratios are against ceilings measured in this same run: absolute figures on a shared machine are noisy.',
    '',
  ];
  for (const s of r.sections) out.push(sectionMarkdown(s));
  out.push(r.ok ? 'Result: every trial accounted for, nothing grew.' : `Result: **FAILED**: ${r.problems.join('; ')}`, '');
  return out.join('\n');
}

export function writeReport(r: LoadReport, dir: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'load.json');
  const md = path.join(dir, 'load.md');
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(md, toMarkdown(r));
  return { json, md };
}
