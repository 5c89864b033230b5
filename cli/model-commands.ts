/**
 * `tunehive models register | alias | stage | list | show | download` (issue 12): thin clients
 * of /api/v1/models. `download` streams each file of the version a models:/ URI names into a
 * folder, checks its SHA-256 against the registry's record before the file takes its name, and
 * shows a progress bar when stderr is a terminal. Usage mistakes and what the server refuses
 * (4xx) exit 2; a checksum mismatch or an unreachable server exits 1.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { artifactPathProblem } from '../shared/artifact-path.js';
import { commandClient, commandFlags, CommandUsageError, runCommand } from './command-kit.js';
import { fmtValue, safeText, table } from './format.js';
import { api, ApiError } from './http-client.js';

const say = (m: string) => process.stderr.write(`${m}\n`);
const out = (m: string) => process.stdout.write(`${m}\n`);
const STAGES = ['None', 'Staging', 'Production', 'Archived'];

export const MODEL_HELP = `  tunehive models register RUN --name NAME [--path model] [--project P] [--description D]
                                      register a run's artifacts (a folder or a file) as a new version (the model is made if missing)
  tunehive models alias NAME ALIAS VERSION [--delete]
  tunehive models stage NAME VERSION None|Staging|Production|Archived [--archive-existing]
  tunehive models list [--project P] [--output table|json]
  tunehive models show NAME [--output table|json]   versions, aliases, stages, lineage, history
  tunehive models download models:/NAME@ALIAS|models:/NAME/VERSION|models:/NAME/STAGE DIR
                                      every file of the version, SHA-256 checked`;

export async function modelCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  return runCommand(async () => {
    switch (sub) {
      case 'register': return await register(rest);
      case 'alias': return await alias(rest);
      case 'stage': return await stage(rest);
      case 'list': return await list(rest);
      case 'show': return await show(rest);
      case 'download': return await download(rest);
      default: throw new CommandUsageError(`${sub === undefined ? 'a subcommand is needed' : `unknown subcommand "${sub}"`}: tunehive models register|alias|stage|list|show|download\n${MODEL_HELP}`);
    }
  });
}

const json = (body: unknown) => ({ text: JSON.stringify(body), type: 'application/json' });
const enc = encodeURIComponent;
const versionArg = (v: string | undefined, usage: string): number => {
  if (!v || !/^[1-9]\d{0,8}$/.test(v)) throw new CommandUsageError(`VERSION must be a version number (got ${JSON.stringify(v ?? '')})\nusage: ${usage}`);
  return Number(v);
};

async function register(args: string[]): Promise<number> {
  const usage = 'tunehive models register RUN --name NAME [--path model] [--project P] [--description D]';
  const f = commandFlags(args, { name: { type: 'string' }, path: { type: 'string' }, project: { type: 'string' }, description: { type: 'string' } }, 'models', usage);
  const [runId] = f.positionals;
  if (!runId || f.positionals.length > 1) throw new CommandUsageError(`give one RUN id\nusage: ${usage}`);
  if (!f.values.name) throw new CommandUsageError(`--name is required\nusage: ${usage}`);
  const { base, auth } = commandClient(f.values);
  const name = f.values.name;
  const exists = await api(base, 'GET', `/api/v1/models/${enc(name)}`, undefined, auth).then(() => true, (err: unknown) => {
    if (err instanceof ApiError && err.status === 404) return false;
    throw err;
  });
  if (!exists) {
    // A new model goes to the run's project unless --project says otherwise.
    const project = f.values.project ?? (await api<{ project: string }>(base, 'GET', `/api/v1/runs/${enc(runId)}`, undefined, auth)).project;
    await api(base, 'POST', '/api/v1/models', json({ name, project }), auth);
    say(`created registered model ${name} in project ${project}`);
  }
  const v = await api(base, 'POST', `/api/v1/models/${enc(name)}/versions`, json({ runId, path: f.values.path ?? 'model', ...(f.values.description ? { description: f.values.description } : {}) }), auth);
  const bytes = (v.files as Array<{ size: number }>).reduce((n, x) => n + x.size, 0);
  out(`registered ${safeText(name)} version ${v.version} from ${safeText(v.source)} (${v.files.length} files, ${human(bytes)})`);
  return 0;
}

async function alias(args: string[]): Promise<number> {
  const usage = 'tunehive models alias NAME ALIAS VERSION | tunehive models alias NAME ALIAS --delete';
  const f = commandFlags(args, { delete: { type: 'boolean' } }, 'models', usage);
  const [name, aliasName, version] = f.positionals;
  if (!name || !aliasName) throw new CommandUsageError(`give NAME and ALIAS\nusage: ${usage}`);
  const { base, auth } = commandClient(f.values);
  if (f.values.delete) {
    await api(base, 'DELETE', `/api/v1/models/${enc(name)}/aliases/${enc(aliasName)}`, undefined, auth);
    out(`removed alias ${safeText(aliasName)} of ${safeText(name)}`);
    return 0;
  }
  const r = await api(base, 'PUT', `/api/v1/models/${enc(name)}/aliases/${enc(aliasName)}`, json({ version: versionArg(version, usage) }), auth);
  out(`${safeText(name)}@${safeText(aliasName)} -> version ${r.version}${r.previous !== null ? ` (was ${r.previous})` : ''}`);
  return 0;
}

async function stage(args: string[]): Promise<number> {
  const usage = 'tunehive models stage NAME VERSION None|Staging|Production|Archived [--archive-existing]';
  const f = commandFlags(args, { 'archive-existing': { type: 'boolean' } }, 'models', usage);
  const [name, version, stageName] = f.positionals;
  const st = STAGES.find((s) => s.toLowerCase() === (stageName ?? '').toLowerCase());
  if (!name || !st) throw new CommandUsageError(`give NAME, VERSION and a stage (${STAGES.join(', ')})\nusage: ${usage}`);
  const { base, auth } = commandClient(f.values);
  const r = await api(base, 'POST', `/api/v1/models/${enc(name)}/versions/${versionArg(version, usage)}/stage`, json({ stage: st, archiveExisting: f.values['archive-existing'] ?? false }), auth);
  out(`${safeText(name)} version ${r.version.version} is now ${r.version.stage}${r.archived.length ? `; archived ${r.archived.join(', ')}` : ''}`);
  return 0;
}

async function list(args: string[]): Promise<number> {
  const usage = 'tunehive models list [--project P] [--output table|json]';
  const f = commandFlags(args, { project: { type: 'string' }, output: { type: 'string' } }, 'models', usage);
  const { base, auth } = commandClient(f.values);
  const models: any[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await api(base, 'GET', `/api/v1/models?limit=1000&offset=${offset}${f.values.project ? `&project=${enc(f.values.project)}` : ''}`, undefined, auth);
    models.push(...page.models);
    if (models.length >= page.total || page.models.length === 0) break;
  }
  if (f.values.output === 'json') {
    out(JSON.stringify(models, null, 2));
    return 0;
  }
  if (models.length === 0) {
    out('no registered models');
    return 0;
  }
  out(table(['NAME', 'PROJECT', 'LATEST', 'STAGES', 'ALIASES', 'UPDATED'], models.map((m) => [
    safeText(m.name), safeText(m.project), String(Math.max(0, ...m.latestVersions.map((v: any) => v.version)) || '-'),
    m.latestVersions.filter((v: any) => v.stage !== 'None').map((v: any) => `${v.stage}:${v.version}`).join(' ') || '-',
    Object.entries(m.aliases).map(([a, v]) => `${safeText(a)}:${v}`).join(' ') || '-', new Date(m.updatedAt).toISOString(),
  ])));
  return 0;
}

async function show(args: string[]): Promise<number> {
  const usage = 'tunehive models show NAME [--output table|json]';
  const f = commandFlags(args, { output: { type: 'string' } }, 'models', usage);
  const [name] = f.positionals;
  if (!name) throw new CommandUsageError(`give NAME\nusage: ${usage}`);
  const { base, auth } = commandClient(f.values);
  const m = await api(base, 'GET', `/api/v1/models/${enc(name)}`, undefined, auth);
  const h = await api(base, 'GET', `/api/v1/models/${enc(name)}/history?limit=20`, undefined, auth);
  if (f.values.output === 'json') {
    out(JSON.stringify({ ...m, history: h.events }, null, 2));
    return 0;
  }
  out(`${safeText(m.name)}  (project ${safeText(m.project)}; created ${new Date(m.createdAt).toISOString()} by ${safeText(m.createdBy)})`);
  if (m.description) out(`  ${safeText(m.description)}`);
  if (Object.keys(m.tags).length) out(`  tags: ${Object.entries(m.tags).map(([k, v]) => `${safeText(k)}=${safeText(v)}`).join(' ')}`);
  out(`  aliases: ${Object.entries(m.aliases).map(([a, v]) => `${safeText(a)} -> ${v}`).join(', ') || '-'}`);
  out('');
  out(table(['VERSION', 'STAGE', 'ALIASES', 'STATUS', 'RUN', 'METRICS', 'CODE', 'DATA', 'FILES', 'CREATED'], m.versions.map((v: any) => [
    String(v.version), v.stage, v.aliases.map(safeText).join(',') || '-', v.status, safeText(v.runId),
    Object.entries(v.lineage.metrics).slice(0, 4).map(([k, x]) => `${safeText(k)}=${fmtValue(x)}`).join(' ') || '-',
    v.lineage.code ? safeText(v.lineage.code.commit?.slice(0, 10) ?? v.lineage.code.version ?? v.lineage.code.source) : '-',
    v.lineage.data ? safeText(v.lineage.data.version?.slice(0, 12) ?? v.lineage.data.source) : '-',
    `${v.files.length} (${human(v.files.reduce((n: number, x: any) => n + x.size, 0))})`, new Date(v.createdAt).toISOString(),
  ])));
  const newest = m.versions[0];
  if (newest) {
    const l = newest.lineage;
    out('');
    out(`lineage of version ${newest.version}: run ${safeText(l.runId)} (${safeText(l.runName)}), experiment ${safeText(l.experimentId)}${l.studyId ? `, study ${safeText(l.studyId)} trial ${l.trialNumber}` : ''}`);
    out(`  params: ${Object.entries(l.params).map(([k, v]) => `${safeText(k)}=${safeText(v)}`).join(' ') || '-'}`);
  }
  if (h.events.length) {
    out('');
    out('history (newest first):');
    for (const e of h.events) {
      const what = e.kind === 'stage' ? `version ${e.version}: ${e.from} -> ${e.to}`
        : e.kind === 'alias' ? `alias ${safeText(e.alias)} -> version ${e.version}${e.from !== undefined ? ` (was ${e.from})` : ''}`
          : e.kind === 'alias-deleted' ? `alias ${safeText(e.alias)} removed (was version ${e.version})` : `${e.kind} ${e.version}`;
      out(`  ${new Date(e.time).toISOString()}  ${safeText(e.by).padEnd(12)} ${what}`);
    }
  }
  return 0;
}

async function download(args: string[]): Promise<number> {
  const usage = 'tunehive models download models:/NAME@ALIAS|models:/NAME/VERSION|models:/NAME/STAGE DIR';
  const f = commandFlags(args, {}, 'models', usage);
  const [uri, dir] = f.positionals;
  if (!uri || !dir || f.positionals.length > 2) throw new CommandUsageError(`give a models:/ URI and a folder\nusage: ${usage}`);
  if (!uri.startsWith('models:/')) throw new CommandUsageError(`${JSON.stringify(uri)} is no models:/ URI\nusage: ${usage}`);
  const { base, auth } = commandClient(f.values);
  const v = await api(base, 'GET', `/api/v1/models/resolve?uri=${enc(uri)}`, undefined, auth);
  const files = v.files as Array<{ path: string; size: number; sha256: string }>;
  for (const file of files) {
    // Paths come from the server: none may leave the folder.
    const problem = artifactPathProblem(file.path);
    if (problem) throw new ApiError(`the server listed a file path that ${problem}: ${JSON.stringify(file.path.slice(0, 200))}`, 0);
  }
  const total = files.reduce((n, x) => n + x.size, 0);
  const bar = process.stderr.isTTY ? new ProgressBar(total) : undefined;
  say(`${safeText(uri)} -> ${safeText(v.name)} version ${v.version} (${files.length} files, ${human(total)})`);
  const root = path.resolve(dir);
  let done = 0;
  for (const file of files) {
    const target = path.join(root, ...file.path.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    const partial = `${target}.part`;
    const res = await fetch(`${base}/api/v1/models/${enc(v.name)}/versions/${v.version}/files/${file.path.split('/').map(enc).join('/')}`,
      { headers: auth.token ? { authorization: `Bearer ${auth.token}` } : {} }).catch((err: unknown) => {
      throw new ApiError(`cannot reach the Tunehive API at ${base} (${(err as Error).message})`, 0);
    });
    if (!res.ok || !res.body) throw new ApiError(`downloading ${file.path}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`, res.status);
    const hash = createHash('sha256');
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        done += chunk.length;
        bar?.update(done);
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), count, createWriteStream(partial));
    const got = hash.digest('hex');
    if (got !== file.sha256) {
      await rm(partial, { force: true });
      bar?.end();
      say(`tunehive: ${file.path}: checksum mismatch (got ${got.slice(0, 12)}…, the registry has ${file.sha256.slice(0, 12)}…); nothing kept`);
      return 1;
    }
    await rename(partial, target);
  }
  bar?.end();
  out(`downloaded ${files.length} files (${human(total)}) to ${safeText(root)}; SHA-256 checked`);
  return 0;
}

function human(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/** One line on stderr, redrawn at most 10 times a second. */
class ProgressBar {
  private last = 0;
  constructor(private readonly total: number) {}
  update(done: number): void {
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const width = 30;
    const frac = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const filled = Math.round(frac * width);
    process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${human(done)}/${human(this.total)}`);
  }
  end(): void {
    process.stderr.write('\n');
  }
}
