/**
 * Artifacts of a run over HTTP: upload (the raw body, streamed into the store: never through
 * the JSON body limit), list, download (streamed, with Range) and delete. Reads need `viewer`
 * in the run's project, writes `editor`.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import type { ArtifactService } from '../artifacts/artifact-service.js';
import type { ByteRange } from '../artifacts/artifact-store.js';
import { errorResponses } from './schemas.js';

const RunParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'must be a run id' }) });
const FileParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'must be a run id' }), '*': Type.String({ maxLength: 4096 }) });
const ListQuery = Type.Object({
  prefix: Type.Optional(Type.String({ maxLength: 1024, description: 'must be a path prefix of at most 1024 characters' })),
}, { additionalProperties: false });
const Entry = Type.Object({
  path: Type.String(), size: Type.Integer(), sha256: Type.String({ description: 'hex SHA-256 of the bytes' }),
  contentType: Type.String(), time: Type.Integer({ description: 'when it was stored (ms since the epoch)' }),
});
const ListReply = Type.Object({ files: Type.Array(Entry) });
const DeleteReply = Type.Object({ deleted: Type.Integer({ description: 'artifacts removed (a folder: all below it)' }), bytes: Type.Integer() });
const PutHeaders = Type.Object({
  'content-length': Type.Optional(Type.String({ pattern: '^[0-9]{1,13}$', description: 'must be the body\'s size in bytes (uploads are never chunked without it)' })),
  'x-content-sha256': Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$', description: 'must be the hex SHA-256 of the body (64 hex digits)' })),
});
const RangeHeaders = Type.Object({ range: Type.Optional(Type.String({ maxLength: 200 })) });

/** One `bytes=` range of a `size`-byte object; undefined for a header we may ignore (send it all), 'unsatisfiable' for 416. */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges or another unit: RFC 9110 lets a server answer with the whole object.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || (m[2] !== '' && Number(m[2]) < start)) return 'unsatisfiable';
  return { start, end };
}

/** `attachment`, with the name both ASCII-safe and exact (RFC 6266 filename*). */
export function disposition(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export const artifactRoutes: FastifyPluginAsync<{ artifacts: ArtifactService }> = async (app, { artifacts }) => {
  // The body is the artifact itself, whatever its type: streamed by the handler, not parsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.put('/runs/:id/artifacts/*', {
    schema: {
      summary: 'Upload one artifact of a run (the raw body; Content-Length required, x-content-sha256 checked when given)',
      params: FileParams, headers: PutHeaders, response: { 201: Entry, ...errorResponses },
    },
    config: { auth: { run: 'editor' } },
  }, async (req, reply) => {
    const length = req.headers['content-length'];
    if (length === undefined) {
      throw new TunehiveError('TH_ERR_REQUEST_INVALID', 'an artifact upload needs Content-Length (its size is checked against the quotas before any byte is stored)',
        [{ field: 'headers.content-length', reason: 'is required (missing)' }]);
    }
    const run = await artifacts.run(req.params.id);
    const sha = req.headers['x-content-sha256'];
    const entry = await artifacts.putOne(run, req.params['*'], req.raw, { size: Number(length), ...(sha ? { sha256: sha.toLowerCase() } : {}) });
    req.auditTarget = { runId: run.runId, artifact: entry.path };
    return reply.status(201).send(entry);
  });

  r.get('/runs/:id/artifacts', {
    schema: { summary: 'List the artifacts of a run', params: RunParams, querystring: ListQuery, response: { 200: ListReply, ...errorResponses } },
    config: { auth: { run: 'viewer' } },
  }, async (req) => {
    const run = await artifacts.run(req.params.id);
    return { files: await artifacts.list(run, req.query.prefix ?? '') };
  });

  r.get('/runs/:id/artifacts/*', {
    schema: {
      summary: 'Download one artifact of a run (streamed; one byte range with Range: bytes=a-b)',
      params: FileParams, headers: RangeHeaders,
      response: { 200: { description: 'the artifact\'s bytes', content: { '*/*': { schema: {} } } }, 206: { description: 'the requested range', content: { '*/*': { schema: {} } } }, 416: { description: 'the range lies outside the artifact', content: { '*/*': { schema: {} } } }, ...errorResponses },
    } as never,
    config: { auth: { run: 'viewer' } },
  }, async (req, reply) => {
    const params = req.params as { id: string; '*': string };
    const run = await artifacts.run(params.id);
    const entry = await artifacts.entry(run, params['*']);
    const range = parseRange(req.headers.range, entry.size);
    void reply.header('accept-ranges', 'bytes').header('etag', `"${entry.sha256}"`).header('x-content-sha256', entry.sha256)
      .header('x-content-type-options', 'nosniff').header('content-disposition', disposition(entry.path)).header('last-modified', new Date(entry.time).toUTCString());
    if (range === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${entry.size}`)
        .send({ error: { code: 'TH_ERR_REQUEST_INVALID', message: `range ${req.headers.range} lies outside the artifact's ${entry.size} bytes`, fields: [{ field: 'headers.range', reason: `outside the ${entry.size} bytes` }] } });
    }
    void reply.type(entry.contentType);
    if (range) {
      void reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${entry.size}`).header('content-length', range.end - range.start + 1);
      return reply.send(await artifacts.open(run, entry.path, range));
    }
    void reply.header('content-length', entry.size);
    return reply.send(entry.size === 0 ? '' : await artifacts.open(run, entry.path));
  });

  r.delete('/runs/:id/artifacts/*', {
    schema: { summary: 'Delete an artifact of a run (a folder: every artifact below it)', params: FileParams, response: { 200: DeleteReply, ...errorResponses } },
    config: { auth: { run: 'editor' } },
  }, async (req) => {
    const run = await artifacts.run(req.params.id);
    const gone = await artifacts.remove(run, req.params['*']);
    req.auditTarget = { runId: run.runId, artifact: req.params['*'] };
    return { deleted: gone.files, bytes: gone.bytes };
  });
};
