/**
 * `tunehive artifacts RUN` (a table of a run's files) and `tunehive download RUN PATH [DEST]`
 * (streamed to disk, a progress bar on a terminal, the SHA-256 checked before the file takes
 * its name: a torn or corrupted download never sits at DEST).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { commandClient, commandFlags, CommandUsageError, runCommand } from './command-kit.js';
import { safeText, table } from './format.js';
import { api, ApiError } from './http-client.js';

export const ARTIFACT_COMMANDS = ['artifacts', 'download'] as const;

const say = (m: string) => process.stderr.write(`${m}\n`);

export async function artifactCommand(command: string, args: string[]): Promise<number> {
  return runCommand(async () => {
    if (command === 'artifacts') return listArtifacts(args);
    if (command === 'download') return download(args);
    throw new CommandUsageError(`unknown command ${command}`);
  });
}

/** Each part of the path %-escaped, the slashes kept. */
const urlPath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

async function listArtifacts(args: string[]): Promise<number> {
  const f = commandFlags(args, { prefix: { type: 'string' }, output: { type: 'string' } }, 'artifacts');
  const run = f.positionals[0];
  if (!run || f.positionals.length > 1) throw new CommandUsageError('usage: tunehive artifacts RUN [--prefix P] [--output table|json]');
  const output = f.values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new CommandUsageError(`--output must be table or json (got ${JSON.stringify(output)})`);
  const { base, auth } = commandClient(f.values);
  const q = f.values.prefix !== undefined ? `?prefix=${encodeURIComponent(f.values.prefix)}` : '';
  const r = await api<{ files: Array<{ path: string; size: number; sha256: string }> }>(base, 'GET', `/api/v1/runs/${encodeURIComponent(run)}/artifacts${q}`, undefined, auth);
  if (output === 'json') {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  if (r.files.length === 0) {
    console.log(`run ${safeText(run)} has no artifacts`);
    return 0;
  }
  console.log(table(['PATH', 'SIZE', 'SHA256'], r.files.map((x) => [x.path, humanBytes(x.size), x.sha256])));
  const total = r.files.reduce((n, x) => n + x.size, 0);
  console.log(`${r.files.length} file(s), ${humanBytes(total)}`);
  return 0;
}

/** One progress line: bytes, percent, rate (redrawn in place). */
export function progressText(done: number, total: number, seconds: number): string {
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
  const width = 24;
  const filled = Math.round((pct / 100) * width);
  const rate = seconds > 0 ? done / seconds : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${humanBytes(done)} / ${humanBytes(total)} ${pct.toFixed(0).padStart(3)}% ${humanBytes(rate)}/s`;
}

async function download(args: string[]): Promise<number> {
  const f = commandFlags(args, { force: { type: 'boolean' }, quiet: { type: 'boolean' } }, 'download');
  const [run, artifact, destArg] = f.positionals;
  if (!run || !artifact || f.positionals.length > 3) throw new CommandUsageError('usage: tunehive download RUN PATH [DEST] [--force] [--quiet]');
  const name = artifact.slice(artifact.lastIndexOf('/') + 1);
  let dest = destArg ?? name;
  if (existsSync(dest) && statSync(dest).isDirectory()) dest = path.join(dest, name);
  if (existsSync(dest) && !f.values.force) throw new CommandUsageError(`${dest} exists; pass --force to replace it`);
  const { base, auth } = commandClient(f.values);
  const url = `${base}/api/v1/runs/${encodeURIComponent(run)}/artifacts/${urlPath(artifact)}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: auth.token ? { authorization: `Bearer ${auth.token}` } : {} });
  } catch (err) {
    throw new ApiError(`cannot reach the Tunehive API at ${base} (${(err as Error).cause ?? (err as Error).message}).`, 0);
  }
  if (!res.ok) {
    // The error answers are JSON: let the one client turn them into a message.
    await res.body?.cancel();
    await api(base, 'GET', `/api/v1/runs/${encodeURIComponent(run)}/artifacts/${urlPath(artifact)}`, undefined, auth);
    throw new ApiError(`HTTP ${res.status} for ${url}`, res.status);
  }
  const total = Number(res.headers.get('content-length') ?? 0);
  const expected = res.headers.get('x-content-sha256');
  const tmp = `${dest}.part-${process.pid}`;
  const out = createWriteStream(tmp);
  const hash = createHash('sha256');
  const tty = process.stderr.isTTY && !f.values.quiet;
  const started = Date.now();
  let done = 0;
  let drawn = 0;
  const draw = (force = false) => {
    if (!tty || (!force && Date.now() - drawn < 100)) return;
    drawn = Date.now();
    process.stderr.write(`\r${progressText(done, total, (Date.now() - started) / 1000)}`);
  };
  try {
    for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      done += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
      draw();
    }
    out.end();
    await once(out, 'close');
    draw(true);
    if (tty) process.stderr.write('\n');
    const actual = hash.digest('hex');
    if (done !== total) throw new Error(`${done} of ${total} bytes arrived`);
    if (expected && actual !== expected) throw new Error(`SHA-256 mismatch: got ${actual}, the run lists ${expected}`);
    await rename(tmp, dest);
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    console.log(`${safeText(dest)}: ${humanBytes(done)} in ${seconds.toFixed(1)} s (${humanBytes(done / seconds)}/s), sha256 ${actual}${expected ? ' (checked)' : ''}`);
    return 0;
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    if (tty) process.stderr.write('\n');
    say(`tunehive: download of ${safeText(artifact)} failed: ${safeText((err as Error).message)} (nothing was written to ${safeText(dest)})`);
    return 1;
  }
}
