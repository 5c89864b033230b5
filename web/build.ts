/**
 * Builds the browser app (web/src, Preact + TSX) into dist/web with esbuild: one bundle, one
 * stylesheet, index.html. `ensureWebBuild()` rebuilds only when a source is newer than the
 * output, so `npm start` and `npm test` can call it every time (esbuild takes well under a second).
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WEB_OUT = path.join(ROOT, 'dist', 'web');
const STAMP = path.join(WEB_OUT, '.stamp');
/** What the bundle is made of: the app and the shared modules it imports. */
const SOURCES = [path.join(ROOT, 'web'), path.join(ROOT, 'shared')];

function newest(p: string): number {
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let m = s.mtimeMs;
  for (const e of readdirSync(p)) if (e !== 'node_modules') m = Math.max(m, newest(path.join(p, e)));
  return m;
}

/** Each file lands whole (written aside, then renamed): a test reading it while another builds sees one version. */
function writeAtomic(file: string, bytes: Uint8Array | string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

export async function buildWeb(): Promise<void> {
  mkdirSync(path.join(WEB_OUT, 'assets'), { recursive: true });
  const r = await build({
    entryPoints: [path.join(ROOT, 'web/src/main.tsx')],
    bundle: true, minify: true, sourcemap: true, format: 'esm', target: 'es2022',
    outfile: path.join(WEB_OUT, 'assets/app.js'), write: false,
    jsx: 'automatic', jsxImportSource: 'preact',
    logLevel: 'warning', legalComments: 'none',
  });
  for (const f of r.outputFiles) writeAtomic(f.path, f.contents);
  writeAtomic(path.join(WEB_OUT, 'index.html'), readFileSync(path.join(ROOT, 'web/index.html')));
  writeAtomic(STAMP, String(Date.now()));
}

/** Builds when the output is missing or older than a source; returns whether it built. */
export async function ensureWebBuild(): Promise<boolean> {
  if (existsSync(STAMP) && existsSync(path.join(WEB_OUT, 'index.html')) && statSync(STAMP).mtimeMs >= Math.max(...SOURCES.map(newest))) return false;
  await buildWeb();
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = Date.now();
  const built = process.argv.includes('--if-stale') ? await ensureWebBuild() : (await buildWeb(), true);
  if (built) console.log(`web: built ${path.relative(ROOT, WEB_OUT)} in ${Date.now() - t0} ms`);
}
