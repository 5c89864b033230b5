/**
 * API tokens and worker join tokens: create (the secret is in this answer only), list, revoke.
 * A token never gets more than its creator has: no higher role, no other owner (unless the
 * creator is an admin), no project outside the creator's, no scope it lacks, no later expiry.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { ProjectNameSchema } from '../../shared/study-spec.js';
import { forbidden } from '../auth/access.js';
import { principal, projectNotFound, type HttpAuth } from '../auth/http-auth.js';
import type { Principal } from '../auth/principal.js';
import { atLeast, OWNER_NAME, SCOPES } from '../auth/roles.js';
import { parseTtl } from '../auth/ttl.js';
import { ROLES, type CredentialRecord, type NewCredential, type Role } from '../store/credential-store.js';
import { errorResponses } from './schemas.js';
import { whoamiDashboard, WhoamiDashboardFields } from './session-routes.js';

const ProjectOrAll = Type.Union([ProjectNameSchema, Type.Literal('*')], { description: 'a project name, or "*" for every project the owner may use' });
export const TokenCreateBody = Type.Object({
  kind: Type.Optional(Type.Union([Type.Literal('api'), Type.Literal('worker-join')], { description: 'must be "api" (default) or "worker-join"' })),
  owner: Type.Optional(Type.String({ pattern: OWNER_NAME.source, description: 'who the token acts for (default: the caller; another owner needs an admin token)' })),
  project: Type.Optional(ProjectOrAll),
  projects: Type.Optional(Type.Array(ProjectOrAll, { minItems: 1, maxItems: 100, description: 'worker-join: the projects the worker will serve' })),
  role: Type.Optional(Type.Enum([...ROLES], { description: `must be one of ${ROLES.join(', ')} (default: the caller's)` })),
  scopes: Type.Optional(Type.Array(Type.Enum([...SCOPES], { description: `must be one of ${SCOPES.join(', ')}` }), { maxItems: 10 })),
  ttl: Type.Optional(Type.String({ maxLength: 20, description: 'lifetime such as 24h or 30d (worker-join default 24h; api default: none, or the caller\'s remaining lifetime)' })),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'worker-join: how many workers may join with it' })),
}, { additionalProperties: false });

const TokenView = Type.Object({
  id: Type.String(), kind: Type.String(), owner: Type.String(), project: Type.String(), role: Type.String(), scopes: Type.Array(Type.String()),
  description: Type.String(), createdAt: Type.String(), expiresAt: Type.Union([Type.String(), Type.Null()]), revokedAt: Type.Union([Type.String(), Type.Null()]),
  uses: Type.Integer(), maxUses: Type.Union([Type.Integer(), Type.Null()]), projects: Type.Union([Type.Array(Type.String()), Type.Null()]),
});
const TokenCreated = Type.Object({ ...TokenView.properties, token: Type.String({ description: 'the secret: shown in this answer only' }) });
const TokenList = Type.Object({ tokens: Type.Array(TokenView) });
const TokenIdParams = Type.Object({ id: Type.String({ maxLength: 64, description: 'a token id (the part after thk_/thj_/thw_)' }) });
const TokenListQuery = Type.Object({
  owner: Type.Optional(Type.String({ maxLength: 128 })),
  kind: Type.Optional(Type.Union([Type.Literal('api'), Type.Literal('worker-join'), Type.Literal('worker')])),
}, { additionalProperties: false });

const JOIN_TTL_MS = 24 * 3_600_000;

export function tokenView(r: CredentialRecord): Static<typeof TokenView> {
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return { id: r.id, kind: r.kind, owner: r.owner, project: r.project, role: r.role, scopes: r.scopes, description: r.description, createdAt: new Date(r.createdAt).toISOString(),
    expiresAt: iso(r.expiresAt), revokedAt: iso(r.revokedAt), uses: r.uses, maxUses: r.maxUses ?? null, projects: r.projects ?? null };
}

const bad = (field: string, reason: string) => new TunehiveError('TH_ERR_REQUEST_INVALID', `${field}: ${reason}`, [{ field, reason }]);

/**
 * Whether a caller may see and revoke a token of its own owner: admins any; others a token no
 * stronger than themselves (a project-limited one only tokens limited to its project, and no
 * higher role, never a worker credential), and always themselves. Otherwise a viewer token handed to a CI job of one
 * project could list its owner's other tokens and revoke the owner's strongest ones.
 */
function mayManage(who: Principal, r: CredentialRecord): boolean {
  if (who.admin || r.id === who.credentialId) return true;
  // A worker credential's owner is its worker id, which any joiner chooses: one named like a
  // user is not that user's (workers are revoked by admins, DELETE /workers/:id).
  if (r.owner !== who.owner || r.kind === 'worker') return false;
  if (who.project !== '*' && r.project !== who.project) return false;
  return atLeast(who.role, r.role);
}

export const tokenRoutes: FastifyPluginAsync<{ auth: HttpAuth }> = async (plain, { auth }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  /** The caller's effective role in a project it names, 404 when it cannot read it. */
  const needIn = async (who: Principal, project: string, wanted: Role, field: string) => {
    if (!(await auth.projects.exists(project))) throw projectNotFound(project, field)();
    return auth.access.require(who, project, wanted, projectNotFound(project, field));
  };

  app.post('/tokens', {
    schema: { summary: 'Create an API token or a worker join token; the secret is in this answer only', body: TokenCreateBody, response: { 201: TokenCreated, ...errorResponses } },
    config: { auth: { token: true, note: 'never more than the caller has; worker-join needs role owner in each of its projects (or admin)' } },
  }, async (req, reply) => {
    const who = principal(req);
    const b = req.body;
    const now = Date.now();
    let ttlMs: number | undefined;
    if (b.ttl !== undefined) {
      const t = parseTtl(b.ttl);
      if (typeof t === 'string') throw bad('ttl', t);
      ttlMs = t;
    }
    const kind = b.kind ?? 'api';
    if (kind === 'worker-join') ttlMs ??= JOIN_TTL_MS;
    // Never outlive the creator: an unstated lifetime ends with the creator's, a longer one is refused.
    if (who.expiresAt !== undefined) {
      if (ttlMs === undefined) ttlMs = who.expiresAt - now;
      else if (now + ttlMs > who.expiresAt) throw forbidden('a token cannot outlive the token that creates it (ttl too long)');
    }
    let c: NewCredential;
    if (kind === 'worker-join') {
      if (b.owner !== undefined && b.owner !== who.owner && !who.admin) throw forbidden('only an admin token can create tokens for another owner');
      if (b.role !== undefined || b.scopes !== undefined) throw bad(b.role !== undefined ? 'role' : 'scopes', 'does not apply to a worker-join token (it only admits a worker)');
      const projects = b.projects ?? (b.project !== undefined ? [b.project] : who.admin ? ['*'] : undefined);
      if (!projects) throw bad('projects', 'is required: the projects the worker will serve (role owner needed in each; "*" needs admin)');
      for (const [i, p] of projects.entries()) {
        if (p === '*') {
          if (!who.admin) throw forbidden('a worker for every project ("*") needs an admin token');
        } else {
          await needIn(who, p, 'owner', `projects.${i}`);
        }
      }
      c = { kind, owner: b.owner ?? who.owner, project: '*', role: 'viewer', projects: [...new Set(projects)], description: b.description ?? '' };
      if (b.maxUses !== undefined) c.maxUses = b.maxUses;
    } else {
      if (b.maxUses !== undefined || b.projects !== undefined) throw bad(b.maxUses !== undefined ? 'maxUses' : 'projects', 'applies to worker-join tokens only');
      const owner = b.owner ?? who.owner;
      if (owner !== who.owner && !who.admin) throw forbidden('only an admin token can create tokens for another owner');
      const project = b.project ?? who.project;
      if (who.project !== '*' && project !== who.project) throw forbidden(`this token is limited to project "${who.project}"; it cannot create tokens for ${project === '*' ? 'every project' : `project "${project}"`}`);
      // A project-limited token of one's own gets at most the role held there now (admins make any).
      const held = project !== '*' && !who.admin ? await needIn(who, project, 'viewer', 'project') : who.role;
      const role: Role = b.role ?? held;
      if (!atLeast(who.role, role)) throw forbidden(`a token cannot have more than its creator: the caller's role is ${who.role}, asked for ${role}`);
      if (!atLeast(held, role)) throw forbidden(`a token cannot have more than its creator: the caller has role ${held} in project "${project}", asked for ${role}`);
      if (role === 'admin' && project !== '*') throw bad('role', 'admin is a global role: project must be "*"');
      if (project !== '*' && who.admin && !(await auth.projects.exists(project))) throw projectNotFound(project, 'project')();
      const scopes = b.scopes ?? [];
      const missing = scopes.find((s) => !who.admin && !who.scopes.includes(s));
      if (missing) throw forbidden(`a token cannot have a scope its creator lacks (${missing})`);
      c = { kind, owner, project, role, scopes, description: b.description ?? '' };
    }
    if (ttlMs !== undefined) c.ttlMs = ttlMs;
    const { token, record } = await auth.creds.create(c, now);
    req.auditTarget = { tokenId: record.id };
    return reply.status(201).send({ ...tokenView(record), token });
  });

  app.get('/whoami', {
    schema: { summary: 'The calling token: its owner, project, role, scopes and expiry (what `tunehive login` shows)',
      response: { 200: Type.Object({ credentialId: Type.String(), owner: Type.String(), project: Type.String(), role: Type.String(), scopes: Type.Array(Type.String()),
        admin: Type.Boolean(), expiresAt: Type.Union([Type.String(), Type.Null()]), ...WhoamiDashboardFields }), ...errorResponses } },
    config: { auth: { token: true } },
  }, async (req, reply) => {
    const who = principal(req);
    void reply.header('cache-control', 'no-store');
    return { ...who, expiresAt: who.expiresAt === undefined ? null : new Date(who.expiresAt).toISOString(), ...(await whoamiDashboard(req, auth)) };
  });

  app.get('/tokens', {
    schema: { summary: "List tokens (never their secrets): an admin's lists every one, others their owner's", querystring: TokenListQuery, response: { 200: TokenList, ...errorResponses } },
    config: { auth: { token: true, note: "admins see every token; others their owner's tokens no stronger than the caller" } },
  }, async (req) => {
    const who = principal(req);
    const owner = who.admin ? req.query.owner : who.owner;
    const list = await auth.creds.list({ ...(owner !== undefined ? { owner } : {}), ...(req.query.kind ? { kind: req.query.kind } : {}) });
    return { tokens: list.filter((r) => mayManage(who, r)).map(tokenView) };
  });

  app.delete('/tokens/:id', {
    schema: { summary: 'Revoke a token (every replica refuses it within 2 s)', params: TokenIdParams, response: { 200: TokenView, ...errorResponses } },
    config: { auth: { token: true, note: "admins revoke any token; others their owner's tokens no stronger than the caller (and the caller itself)" } },
  }, async (req) => {
    const who = principal(req);
    const rec = /^[0-9a-f]{16}$/.test(req.params.id) ? await auth.creds.get(req.params.id) : undefined;
    // Someone else's token is answered like an unknown one.
    if (!rec || !mayManage(who, rec)) {
      throw new TunehiveError('TH_ERR_TOKEN_NOT_FOUND', `no token with id ${JSON.stringify(req.params.id)}`, [{ field: 'params.id', reason: 'no such token (or not yours)' }]);
    }
    await auth.creds.revoke(rec.id);
    auth.verifier.forget(rec.id);
    return tokenView((await auth.creds.get(rec.id)) ?? rec);
  });
};
