/**
 * `npm run compat:katib -- DIR`: submits every Katib Experiment file (*.yaml, *.yml, *.json) under
 * DIR to a real coordinator it starts (with its own redis-server on a free port), as
 * `tunehive submit` would, and prints a table: file, accepted / refused, the reason. Accepted
 * studies are stopped and deleted again; nothing outside a temporary folder is touched.
 * Namespaces the files name are created as projects first (a Katib namespace is a project).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parse } from 'yaml';
import { startLocalRedis } from '../cli/local-redis.js';
import { startCoordinator } from '../coordinator/main.js';

const root = process.argv.slice(2).find((a) => a !== '--');
if (!root) {
  console.error('usage: npm run compat:katib -- DIR');
  process.exit(64);
}

function filesUnder(dir: string, out: string[] = [], depth = 0): string[] {
  if (depth > 16) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) filesUnder(p, out, depth + 1);
    else if (/\.(ya?ml|json)$/.test(name)) out.push(p);
  }
  return out;
}

const files = filesUnder(path.resolve(root));
const ADMIN = randomBytes(24).toString('hex');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-katib-compat-'));
const redis = await startLocalRedis({ dataDir: path.join(dir, 'redis') });
const c = await startCoordinator({
  redisUrl: redis.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, prefix: 'compat', log: pino({ level: 'silent' }),
  reconcileIntervalMs: 600_000, checkpointDir: path.join(dir, 'ckpt'), adminToken: ADMIN,
});

async function call(method: string, url: string, body?: { text: string; type: string }): Promise<{ status: number; json: any }> {
  const r = await fetch(`${c.httpUrl}${url}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': body.type } : {}) }, ...(body ? { body: body.text } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

const rows: string[][] = [];
let accepted = 0;
try {
  const namespaces = new Set<string>();
  for (const f of files) {
    try {
      const ns = (parse(readFileSync(f, 'utf8')) as { metadata?: { namespace?: unknown } })?.metadata?.namespace;
      if (typeof ns === 'string' && /^[a-z0-9][a-z0-9-]{0,62}$/.test(ns) && ns !== 'default') namespaces.add(ns);
    } catch { /* reported when submitted */ }
  }
  for (const ns of namespaces) await call('POST', '/api/v1/projects', { text: JSON.stringify({ name: ns }), type: 'application/json' });
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const r = await call('POST', '/api/v1/studies', { text, type: f.endsWith('.json') ? 'application/json' : 'application/yaml' });
    const name = path.relative(path.resolve(root), f);
    if (r.status === 201) {
      accepted++;
      const s = r.json as { id: string; algorithm?: string };
      rows.push([name, 'accepted', `study ${s.id}`]);
      await call('POST', `/api/v1/studies/${s.id}/stop`);
      await call('DELETE', `/api/v1/studies/${s.id}`);
    } else {
      const fields: Array<{ field: string; reason: string }> = r.json?.error?.fields ?? [];
      const reason = fields.length > 0 ? fields.map((x) => `${x.field}: ${x.reason}`).join('; ') : `${r.status} ${r.json?.error?.message ?? ''}`;
      rows.push([name, `refused (${r.status})`, reason]);
    }
  }
} finally {
  await c.close();
  redis.process.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length), i === 0 ? 4 : 6));
console.log(`| ${'file'.padEnd(widths[0]!)} | ${'result'.padEnd(widths[1]!)} | reason |`);
console.log(`| ${'-'.repeat(widths[0]!)} | ${'-'.repeat(widths[1]!)} | --- |`);
for (const r of rows) console.log(`| ${r[0]!.padEnd(widths[0]!)} | ${r[1]!.padEnd(widths[1]!)} | ${r[2]!.replaceAll('|', '\\|')} |`);
console.log(`\n${accepted} of ${files.length} files accepted, ${files.length - accepted} refused (${root})`);
