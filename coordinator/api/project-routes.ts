/**
 * Projects and their members. Anyone with an unrestricted token may create a project and owns
 * it; owners manage members. Lists show only what the caller may read.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { ProjectNameSchema } from '../../shared/study-spec.js';
import { forbidden } from '../auth/access.js';
import { principal, type HttpAuth } from '../auth/http-auth.js';
import { atLeast, lower, OWNER_NAME, PROJECT_ROLES, type ProjectRole } from '../auth/roles.js';
import type { ProjectRecord } from '../store/project-store.js';
import { errorResponses } from './schemas.js';

const RoleSchema = Type.Enum([...PROJECT_ROLES], { description: `must be one of ${PROJECT_ROLES.join(', ')}` });
const ProjectView = Type.Object({
  name: Type.String(), description: Type.String(), createdAt: Type.String(), createdBy: Type.String(),
  role: Type.String({ description: "the caller's effective role in it (admin for admins)" }),
});
const ProjectDetail = Type.Object({ ...ProjectView.properties, members: Type.Array(Type.Object({ owner: Type.String(), role: Type.String() })) });
const NameParams = Type.Object({ name: Type.String({ maxLength: 64, description: 'a project name' }) });
const MemberParams = Type.Object({ name: Type.String({ maxLength: 64 }), owner: Type.String({ pattern: OWNER_NAME.source, description: 'a token owner (user) name' }) });

export const projectRoutes: FastifyPluginAsync<{ auth: HttpAuth }> = async (plain, { auth }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const view = (p: ProjectRecord, role: string) => ({ ...p, createdAt: new Date(p.createdAt).toISOString(), role });

  app.post('/projects', {
    schema: {
      summary: 'Create a project; the caller becomes its owner',
      body: Type.Object({ name: ProjectNameSchema, description: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }),
      response: { 201: ProjectView, ...errorResponses },
    },
    config: { auth: { token: true, note: 'a token not limited to one project, role editor or more' } },
  }, async (req, reply) => {
    const who = principal(req);
    if (who.project !== '*') throw forbidden(`this token is limited to project "${who.project}"; creating projects needs one that is not`);
    if (!atLeast(who.role, 'editor')) throw forbidden(`creating a project needs role editor or more; the token has ${who.role}`);
    const { name, description } = req.body;
    const created = await auth.projects.create(name, who.owner, description ?? '');
    auth.access.forget(who.owner, name);
    // Only a created project is the request's project: a refused create of a taken name goes to
    // the global log only, or anyone could flood (and age out) another project's audit stream.
    if (created) req.authProject = name;
    if (!created) {
      // Names are global, so a taken one is taken for everyone; nothing about the project is shown.
      throw new TunehiveError('TH_ERR_PROJECT_EXISTS', `project ${JSON.stringify(name)} cannot be created: the name is taken`, [{ field: 'name', reason: 'is taken' }]);
    }
    return reply.status(201).send(view((await auth.projects.get(name))!, who.admin ? 'admin' : 'owner'));
  });

  app.get('/projects', {
    schema: { summary: 'The projects the caller may read, with its role in each', response: { 200: Type.Object({ projects: Type.Array(ProjectView) }), ...errorResponses } },
    config: { auth: { token: true, note: 'lists only the projects the token may read' } },
  }, async (req) => {
    const who = principal(req);
    const names = (await auth.access.readable(who)) ?? (await auth.projects.names());
    const mine = who.admin ? new Map<string, ProjectRole>() : await auth.projects.projectsOf(who.owner);
    const projects = await auth.projects.list(names);
    return { projects: projects.map((p) => view(p, who.admin ? 'admin' : lower(mine.get(p.name)!, who.role))) };
  });

  app.get('/projects/:name', {
    schema: { summary: 'One project and its members', params: NameParams, response: { 200: ProjectDetail, ...errorResponses } },
    config: { auth: { project: 'viewer' } },
  }, async (req) => {
    const who = principal(req);
    const p = (await auth.projects.get(req.params.name))!;
    const members = [...(await auth.projects.members(p.name))].map(([owner, role]) => ({ owner, role })).sort((a, b) => (a.owner < b.owner ? -1 : 1));
    return { ...view(p, (await auth.access.roleIn(who, p.name))!), members };
  });

  const ownersLeft = async (project: string, without: string) => [...(await auth.projects.members(project))].filter(([o, r]) => r === 'owner' && o !== without).length;

  app.put('/projects/:name/members/:owner', {
    schema: {
      summary: "Give an owner (user) a role in the project, or change it", params: MemberParams,
      body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
      response: { 200: Type.Object({ project: Type.String(), owner: Type.String(), role: Type.String() }), ...errorResponses },
    },
    config: { auth: { project: 'owner' } },
  }, async (req) => {
    const { name, owner } = req.params;
    const { role } = req.body;
    if (role !== 'owner' && (await auth.projects.roleOf(owner, name)) === 'owner' && (await ownersLeft(name, owner)) === 0) {
      throw new TunehiveError('TH_ERR_PROJECT_LAST_OWNER', `${owner} is the last owner of project "${name}"; make someone else owner first`, [{ field: 'role', reason: 'would leave the project without an owner' }]);
    }
    await auth.projects.setMember(name, owner, role);
    auth.access.forget(owner, name);
    return { project: name, owner, role };
  });

  app.delete('/projects/:name', {
    schema: { summary: 'Delete an empty project (delete its studies first)', params: NameParams, response: { 200: Type.Object({ project: Type.String(), deleted: Type.Literal(true) }), ...errorResponses } },
    config: { auth: { project: 'owner' } },
  }, async (req) => {
    const { name } = req.params;
    if (name === 'default') throw new TunehiveError('TH_ERR_PROJECT_NOT_EMPTY', 'the "default" project cannot be deleted', [{ field: 'params.name', reason: 'is the default project' }]);
    const studies = await auth.projects.studyCount(name);
    if (studies > 0) {
      throw new TunehiveError('TH_ERR_PROJECT_NOT_EMPTY', `project "${name}" still holds ${studies} studies; delete them first (DELETE /api/v1/studies/:id)`, [{ field: 'params.name', reason: `holds ${studies} studies` }]);
    }
    // Its models would outlive it (and pass to a new project of the same name).
    const models = (await auth.modelsIn?.(name)) ?? 0;
    if (models > 0) {
      throw new TunehiveError('TH_ERR_PROJECT_NOT_EMPTY', `project "${name}" still holds ${models} registered models; delete them first (DELETE /api/v1/models/:name)`, [{ field: 'params.name', reason: `holds ${models} registered models` }]);
    }
    for (const owner of await auth.projects.remove(name)) auth.access.forget(owner, name);
    // The deletion is audited in the global stream only: a project stream would outlive its project.
    delete req.authProject;
    return { project: name, deleted: true as const };
  });

  app.delete('/projects/:name/members/:owner', {
    schema: { summary: 'Take an owner (user) out of the project', params: MemberParams, response: { 200: Type.Object({ project: Type.String(), owner: Type.String(), removed: Type.Boolean() }), ...errorResponses } },
    config: { auth: { project: 'owner' } },
  }, async (req) => {
    const { name, owner } = req.params;
    if ((await auth.projects.roleOf(owner, name)) === 'owner' && (await ownersLeft(name, owner)) === 0) {
      throw new TunehiveError('TH_ERR_PROJECT_LAST_OWNER', `${owner} is the last owner of project "${name}"; make someone else owner first`, [{ field: 'params.owner', reason: 'is the last owner' }]);
    }
    const removed = await auth.projects.removeMember(name, owner);
    auth.access.forget(owner, name);
    return { project: name, owner, removed };
  });
};
