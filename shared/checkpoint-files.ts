/**
 * The one rule for paths inside a checkpoint, used by both ends: relative, '/'-separated,
 * no '..', no absolute paths, so an upload or a download can never write outside its folder.
 */
import path from 'node:path';

export function safeRelativePath(p: string): string | undefined {
  if (p === '' || p.includes('\0') || p.startsWith('/') || p.includes('\\')) return undefined;
  const parts = p.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return parts.join(path.sep);
}
