/**
 * The one rule for an artifact's path inside its run, at both ends (the worker checks a
 * program's `tunehive.artifact=` line with it, the coordinator every upload and download).
 * Paths become object keys and file names: relative, '/'-separated, no '.', '..' or empty
 * parts, no backslash, NUL or other control character, bounded in length and depth.
 */
import { safeRelativePath } from './checkpoint-files.js';

export const ARTIFACT_PATH_LIMITS = { bytes: 1024, depth: 32, partBytes: 255 } as const;

/** Why `p` cannot be an artifact path, or undefined when it can. */
export function artifactPathProblem(p: string): string | undefined {
  if (typeof p !== 'string' || p === '') return 'must be a non-empty relative path such as "model/weights.bin"';
  if (Buffer.byteLength(p) > ARTIFACT_PATH_LIMITS.bytes) return `is longer than ${ARTIFACT_PATH_LIMITS.bytes} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'contains a control character (NUL, newline, ...)';
  if (p.includes('\\')) return 'contains a backslash (separate folders with "/")';
  if (p.startsWith('/')) return 'is absolute (it must be relative to the run\'s artifacts)';
  if (!safeRelativePath(p)) return 'has an empty, "." or ".." part (it must stay inside the run\'s artifacts)';
  const parts = p.split('/');
  if (parts.length > ARTIFACT_PATH_LIMITS.depth) return `is nested deeper than ${ARTIFACT_PATH_LIMITS.depth} folders`;
  if (parts.some((s) => Buffer.byteLength(s) > ARTIFACT_PATH_LIMITS.partBytes)) return `has a part longer than ${ARTIFACT_PATH_LIMITS.partBytes} bytes`;
  return undefined;
}

/** Content types by extension (what a browser or `curl -O` needs); anything else is a byte stream. */
const TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8', log: 'text/plain; charset=utf-8', md: 'text/markdown; charset=utf-8', csv: 'text/csv; charset=utf-8',
  tsv: 'text/tab-separated-values; charset=utf-8', json: 'application/json', jsonl: 'application/x-ndjson', yaml: 'application/yaml', yml: 'application/yaml',
  html: 'text/html; charset=utf-8', xml: 'application/xml', svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif',
  webp: 'image/webp', pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar', npy: 'application/octet-stream',
  parquet: 'application/vnd.apache.parquet', onnx: 'application/octet-stream', mp4: 'video/mp4', wav: 'audio/wav',
};

export function contentTypeOf(p: string): string {
  const dot = p.lastIndexOf('.');
  const slash = p.lastIndexOf('/');
  if (dot <= slash + 1) return 'application/octet-stream';
  return TYPES[p.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}
