/**
 * The data version DVC already computed: the hashes recorded in `*.dvc` files and `dvc.lock`
 * found in the working directory (a bounded walk: depth, entries and file sizes are capped, and
 * .git, node_modules, .dvc and virtual environments are skipped). Parsed with `yaml`; a file
 * that does not parse is skipped, never an error of the trial.
 *
 *   foo.dvc:   outs: [{ md5: ..., size: ..., path: foo }]            (DVC 3 adds `hash: md5`)
 *   dvc.lock:  stages: { train: { outs: [{ path: model.pkl, md5: ... }] } }
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { Provenance } from '../../shared/run-model.js';

export type DvcHash = Provenance['data']['dvc'][number];

export interface DvcLimits { depth: number; entries: number; fileBytes: number; hashes: number }
export const DEFAULT_DVC_LIMITS: DvcLimits = { depth: 4, entries: 20_000, fileBytes: 1024 * 1024, hashes: 1000 };

const SKIP = new Set(['.git', 'node_modules', '.dvc', '.venv', 'venv', '__pycache__', '.tox']);

export async function dvcHashes(root: string, limits: DvcLimits = DEFAULT_DVC_LIMITS): Promise<DvcHash[]> {
  const files = await findDvcFiles(root, limits);
  const out: DvcHash[] = [];
  for (const file of files) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    let doc: unknown;
    try {
      const s = await stat(file);
      if (s.size > limits.fileBytes) continue;
      doc = parse(await readFile(file, 'utf8'), { maxAliasCount: 100 });
    } catch {
      continue;
    }
    const base = path.posix.dirname(rel);
    for (const o of outsOf(doc)) {
      if (out.length >= limits.hashes) return out;
      out.push({ path: (base === '.' ? o.path : `${base}/${o.path}`).slice(0, 4096), hash: o.hash, file: rel.slice(0, 4096) });
    }
  }
  return out;
}

type Out = { path: string; hash: string };

function outsOf(doc: unknown): Out[] {
  if (typeof doc !== 'object' || doc === null) return [];
  const d = doc as { outs?: unknown; stages?: unknown };
  const list: unknown[] = [];
  if (Array.isArray(d.outs)) list.push(...d.outs);
  if (typeof d.stages === 'object' && d.stages !== null) {
    for (const stage of Object.values(d.stages as Record<string, unknown>)) {
      const outs = (stage as { outs?: unknown } | null)?.outs;
      if (Array.isArray(outs)) list.push(...outs);
    }
  }
  const out: Out[] = [];
  for (const o of list) {
    if (typeof o !== 'object' || o === null) continue;
    const e = o as Record<string, unknown>;
    if (typeof e.path !== 'string' || e.path === '') continue;
    // DVC 3 writes `hash: md5` (the algorithm's name) beside the md5 value; older files `md5` only.
    const hash = [e.md5, e.etag, e.checksum, e.hash].find((h): h is string => typeof h === 'string' && /^[0-9a-fA-F]{8,128}(\.dir)?$/.test(h));
    if (hash) out.push({ path: e.path, hash: hash.slice(0, 128) });
  }
  return out;
}

async function findDvcFiles(root: string, limits: DvcLimits): Promise<string[]> {
  const found: string[] = [];
  let seen = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (++seen > limits.entries) return;
      const full = path.join(dir, e.name);
      if (e.isFile() && (e.name === 'dvc.lock' || e.name.endsWith('.dvc'))) found.push(full);
      else if (e.isDirectory() && depth < limits.depth && !SKIP.has(e.name)) await walk(full, depth + 1);
    }
  };
  await walk(root, 0);
  return found;
}
