/**
 * `tunehive show RUN` (issue 11): everything recorded about one run, for a person. Reads
 * GET /api/v1/runs/:id (params, latest metrics, tags, note, status and times, the latest
 * provenance), GET /api/v1/runs/:id/provenance (every attempt), GET /api/v1/trials/:id for a
 * trial run (hardware, attempts, reason), and GET /api/v1/runs/:id/artifacts when the
 * coordinator serves it (skipped on a 404). Every value from the API goes through safeText.
 */
import { parseRunId, type Provenance, type RunView } from '../shared/run-model.js';
import { commandClient, commandFlags, CommandUsageError } from './command-kit.js';
import { fmtValue, safeText, table } from './format.js';
import { ApiError } from './http-client.js';

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : new Date(ms).toISOString());
const duration = (a: number | null | undefined, b: number | null | undefined) => (a && b && b >= a ? ` (${((b - a) / 1000).toFixed(1)} s)` : '');
/** argv as a person would type it: arguments with spaces or quotes shown quoted. */
const argvText = (argv: readonly string[]) => argv.map((a) => (a === '' || /[\s"'\\$`]/.test(a) ? JSON.stringify(a) : a)).join(' ');
const short = (h: string | undefined) => (h ? h.replace(/^sha256:/, '').slice(0, 12) : '-');

export function codeLine(c: Provenance['code']): string {
  if (c.source === 'git') {
    return `git ${safeText(c.commit ?? '?')}${c.branch ? ` on ${safeText(c.branch)}` : ' (detached)'} (${c.dirty ? 'dirty: uncommitted changes' : 'clean'})${c.remote ? `, origin ${safeText(c.remote)}` : ''}${c.version ? `, codeVersion ${safeText(c.version)}` : ''}`;
  }
  if (c.source === 'spec') return `${safeText(c.version ?? '')} (trial.codeVersion; the working directory is not a git checkout)`;
  return 'not recorded (not a git checkout, and no trial.codeVersion)';
}

/** The lines of one provenance record (attempt), indented under `provenance`. */
export function provenanceLines(p: Provenance, hardware: unknown): string[] {
  const t = safeText;
  const out = [`  code      ${codeLine(p.code)}`];
  if (p.code.workdir) out.push(`            in ${t(p.code.workdir)}`);
  const d = p.data;
  const src = { files: 'trial.dataFiles', dvc: 'DVC files', program: 'reported by the program (tunehive.data_version)', none: '' }[d.source];
  out.push(`  data      ${d.version ? `${t(d.version)} (${src})` : 'not recorded (no trial.dataFiles, no DVC files, no tunehive.data_version line)'}`);
  for (const f of d.files) out.push(`            ${t(f.path)}  ${f.error ? t(f.error) : `${f.size} bytes  sha256 ${t(f.sha256)}`}`);
  for (const h of d.dvc) out.push(`            ${t(h.path)}  ${t(h.hash)}  (${t(h.file)})`);
  if (p.image) out.push(`  image     ${t(p.image.reference)}${p.image.digest ? `  digest ${t(p.image.digest)}` : ''}`);
  out.push(`  command   ${t(argvText(p.command))}`);
  out.push(`  seed      ${p.seed} (TUNEHIVE_SEED)`);
  out.push(`  runtime   ${t(p.runtime ?? 'process')}`);
  const env = Object.entries(p.env);
  out.push(`  env       ${env.length} variables (names that look like secrets are never recorded)`);
  for (const [k, v] of env) out.push(`            ${t(k)}=${t(v)}`);
  const hw = hardwareLine(hardware);
  if (hw) out.push(`  hardware  ${hw}`);
  return out;
}

function hardwareLine(h: unknown): string {
  if (!h || typeof h !== 'object') return '';
  const x = h as { hostname?: string; cpuCount?: number; cpuModel?: string; memoryBytes?: number; gpus?: Array<{ name?: string; memoryMib?: number }>; driverVersion?: string; cudaVersion?: string };
  const parts = [x.hostname ? safeText(x.hostname) : '', x.cpuCount ? `${x.cpuCount} CPUs${x.cpuModel ? ` (${safeText(x.cpuModel)})` : ''}` : '',
    x.memoryBytes ? `${(x.memoryBytes / 2 ** 30).toFixed(1)} GiB` : '',
    x.gpus && x.gpus.length > 0 ? `${x.gpus.length} GPU: ${x.gpus.map((g) => `${safeText(g.name ?? '?')}${g.memoryMib ? ` ${g.memoryMib} MiB` : ''}`).join(', ')}` : 'no GPU',
    x.driverVersion ? `driver ${safeText(x.driverVersion)}` : '', x.cudaVersion ? `CUDA ${safeText(x.cudaVersion)}` : ''];
  return parts.filter(Boolean).join(', ');
}

async function optional<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

export function renderRun(run: RunView, o: { provenance: Provenance[]; trial?: any; artifacts?: { files: Array<{ path: string; size: number; sha256?: string }> } }): string {
  const t = safeText;
  const lines: string[] = [];
  const where = run.kind === 'trial' ? `trial ${run.trialNumber} of study ${t(run.studyId)}` : `experiment ${t(run.experimentId)}`;
  lines.push(`run ${t(run.id)}${run.name && run.name !== run.id ? ` "${t(run.name)}"` : ''}: ${where}, project ${t(run.project)}`);
  lines.push(`  status    ${t(run.status)} (state ${t(run.state)})${o.trial?.reason ? `: ${t(o.trial.reason)}` : ''}`);
  lines.push(`  started   ${iso(run.startTime)}`);
  lines.push(`  ended     ${iso(run.endTime)}${duration(run.startTime, run.endTime)}`);
  if (run.parentRunId) lines.push(`  parent    ${t(run.parentRunId)}`);
  if (run.rerunOf) lines.push(`  rerun of  ${t(run.rerunOf)}`);
  if (o.trial && o.trial.value !== null && o.trial.value !== undefined) lines.push(`  objective ${t(o.trial.value)}`);

  const section = (title: string, rows: string[][], empty: string) => {
    lines.push('', title);
    if (rows.length <= 1) lines.push(`  ${empty}`);
    else for (const l of table(rows[0]!, rows.slice(1)).split('\n')) lines.push(`  ${l}`);
  };
  section('params', [['name', 'value'], ...Object.entries(run.params).map(([k, v]) => [k, v])], 'none');
  section('metrics (latest)', [['name', 'value', 'step', 'time'], ...Object.entries(run.metrics).map(([k, m]) => [k, String(m.value), String(m.step), iso(m.timestamp)])], 'none');
  section('tags', [['key', 'value'], ...Object.entries(run.tags).map(([k, v]) => [k, v])], 'none');
  lines.push('', 'note');
  lines.push(run.note ? run.note.split('\n').map((l) => `  ${t(l)}`).join('\n') : '  none');

  const latest = o.provenance.at(-1) ?? run.provenance ?? undefined;
  lines.push('', latest ? `provenance (attempt ${latest.attempt}${o.provenance.length > 1 ? ` of ${o.provenance.length} recorded` : ''})` : 'provenance');
  if (latest) lines.push(...provenanceLines(latest, o.trial?.hardware));
  else lines.push(run.kind === 'trial' ? '  none recorded yet (the trial has not started, or its worker predates provenance capture)' : '  none (direct runs record what their client sends)');

  if (run.kind === 'trial') {
    const rows = o.provenance.map((p) => [String(p.attempt), p.workerId ?? '-', iso(p.startedAt ?? p.capturedAt), p.code.source === 'git' ? short(p.code.commit) + (p.code.dirty ? '+dirty' : '') : p.code.version ?? '-', short(p.data.version), String(p.seed)]);
    if (o.trial && o.trial.attempt > o.provenance.length) rows.push([String(o.trial.attempt), o.trial.workerId ?? '-', t(o.trial.startedAt ?? '-'), '-', '-', '-']);
    section(`attempts${o.trial ? ` (${o.trial.attempt})` : ''}`, [['#', 'worker', 'started', 'code', 'data', 'seed'], ...rows], 'none');
  }
  if (o.artifacts) {
    const total = o.artifacts.files.reduce((n, f) => n + f.size, 0);
    section(`artifacts (${o.artifacts.files.length}, ${total} bytes)`, [['path', 'size', 'sha256'], ...o.artifacts.files.map((f) => [f.path, String(f.size), short(f.sha256)])], 'none');
  }
  return lines.join('\n');
}

export async function showCommand(args: string[]): Promise<number> {
  const f = commandFlags(args, { json: { type: 'boolean' } }, 'show');
  const id = f.positionals[0];
  if (!id) throw new CommandUsageError('tunehive show needs a run id: tunehive show RUN (a trial id such as k3x9q2.17 is a run id)');
  if (!parseRunId(id)) throw new CommandUsageError(`${safeText(JSON.stringify(id.slice(0, 80)))} is not a run id (<experimentId>.<number> or <experimentId>.r<12 characters>)`);
  const c = commandClient(f.values);
  const { run, provenance, trial, artifacts } = await fetchRunRecord(c.get, id);
  if (f.values.json) {
    console.log(JSON.stringify({ run, provenance, trial: trial ?? null, artifacts: artifacts?.files ?? null }, null, 2));
    return 0;
  }
  console.log(renderRun(run, { provenance, ...(trial ? { trial } : {}), ...(artifacts ? { artifacts } : {}) }));
  return 0;
}

/** Everything `tunehive show` prints of a run, in one round of requests (the demo prints its best run with it). */
export async function fetchRunRecord(get: <T = any>(path: string) => Promise<T>, id: string) {
  const enc = encodeURIComponent(id);
  const run = await get<RunView>(`/api/v1/runs/${enc}`);
  const [prov, trial, artifacts] = await Promise.all([
    get<{ provenance: Provenance[] }>(`/api/v1/runs/${enc}/provenance`),
    run.kind === 'trial' ? optional(get(`/api/v1/trials/${enc}`)) : Promise.resolve(undefined),
    optional(get<{ files: Array<{ path: string; size: number; sha256?: string }> }>(`/api/v1/runs/${enc}/artifacts`)),
  ]);
  return { run, provenance: prov.provenance, trial, artifacts };
}
