/** `GET /api/v1/audit`: the audit log, newest first, a page at a time (admins: all; owners: their projects). */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProjectNameSchema } from '../../shared/study-spec.js';
import { forbidden } from '../auth/access.js';
import { principal, projectNotFound, type HttpAuth } from '../auth/http-auth.js';
import { errorResponses } from './schemas.js';

const Entry = Type.Object({
  id: Type.String({ description: 'stream id; the page cursor' }), time: Type.String(), credentialId: Type.String(), owner: Type.String(),
  method: Type.String(), route: Type.String(), target: Type.Record(Type.String(), Type.String()), project: Type.Union([Type.String(), Type.Null()]),
  status: Type.Integer(), ip: Type.String(),
});
const AuditQuery = Type.Object({
  project: Type.Optional(ProjectNameSchema),
  before: Type.Optional(Type.String({ pattern: '^\\d{1,15}-\\d{1,15}$', description: 'the `next` of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'entries per page (default 100)' })),
}, { additionalProperties: false });

export const auditRoutes: FastifyPluginAsync<{ auth: HttpAuth }> = async (plain, { auth }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/audit', {
    schema: { summary: 'The audit log of writes, newest first: every entry (admins) or one project\'s (its owners: ?project=NAME)', querystring: AuditQuery,
      response: { 200: Type.Object({ entries: Type.Array(Entry), next: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses } },
    config: { auth: { token: true, note: 'admin, or role owner in ?project' } },
  }, async (req) => {
    const who = principal(req);
    const { project, before } = req.query;
    if (project === undefined) {
      if (!who.admin) throw forbidden('the whole audit log needs an admin token; project owners read theirs with ?project=NAME');
    } else {
      if (!(await auth.projects.exists(project))) throw projectNotFound(project, 'query.project')();
      await auth.access.require(who, project, 'owner', projectNotFound(project, 'query.project'));
    }
    return auth.audit.read({ ...(project ? { project } : {}), ...(before ? { before } : {}), limit: req.query.limit ?? 100 });
  });
};
