/**
 * Browser sessions for the dashboard: log in with a token (POST /session sets the HttpOnly
 * `th_session` cookie) and log out (DELETE /session). GET /whoami (token-routes.ts, with the
 * fields made here) tells the page whether a login form is needed at all (a reverse proxy doing single
 * sign-on already sends an Authorization header).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { TunehiveError } from '../../shared/errors.js';
import { principal, type HttpAuth } from '../auth/http-auth.js';
import { principalOf } from '../auth/principal.js';
import { cookieValue, csrfMatches, SESSION_COOKIE, sessionCookie, type SessionStore } from '../auth/session-store.js';
import { errorResponses } from './schemas.js';

const LoginBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 4096, description: 'an API token (thk_...) or an operator secret' }),
}, { additionalProperties: false });
const LoginReply = Type.Object({
  owner: Type.String(), admin: Type.Boolean(),
  csrf: Type.String({ description: 'send as header x-tunehive-csrf with every write authenticated by the cookie' }),
});

/** What GET /whoami adds for the dashboard (contract fields); token-routes.ts serves the route. */
export const WhoamiDashboardFields = {
  via: Type.Union([Type.Literal('header'), Type.Literal('cookie')], { description: 'how the request was authenticated' }),
  projects: Type.Array(Type.Object({ name: Type.String(), role: Type.String() }), { description: "the projects the caller may read, with its effective role in each" }),
  csrf: Type.Optional(Type.String({ description: 'cookie sessions only: the CSRF token of the session (a reloaded page gets it back here)' })),
};

/** The dashboard's part of the whoami answer. */
export async function whoamiDashboard(req: FastifyRequest, auth: HttpAuth): Promise<{ via: 'header' | 'cookie'; projects: Array<{ name: string; role: string }>; csrf?: string }> {
  const who = principal(req);
  const readable = await auth.access.readable(who);
  const names = readable ?? (await auth.projects.names());
  const projects: Array<{ name: string; role: string }> = [];
  for (const name of names) {
    const role = await auth.access.roleIn(who, name);
    if (role) projects.push({ name, role });
  }
  return { via: req.authVia ?? 'header', projects, ...(req.authVia === 'cookie' && req.session ? { csrf: req.session.csrf } : {}) };
}

export interface SessionRouteOptions { auth: HttpAuth; sessions: SessionStore }

const secure = (req: FastifyRequest) => req.protocol === 'https';
const clearCookie = (req: FastifyRequest, reply: FastifyReply) => reply.header('set-cookie', sessionCookie('', { secure: secure(req), maxAgeMs: 0 }));

export const sessionRoutes: FastifyPluginAsync<SessionRouteOptions> = async (plain, { auth, sessions }) => {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/session', {
    schema: { summary: 'Log in: trade a token for an HttpOnly session cookie (th_session) and a CSRF token', body: LoginBody, response: { 200: LoginReply, ...errorResponses } },
    // Public (there is no session yet); a wrong token counts against the address's failure budget like a bad header.
    config: { auth: { public: true } },
  }, async (req, reply) => {
    const rec = await app.verifyPresentedToken(req, reply, req.body.token).catch((err: unknown) => {
      // The same refusal as a bad header, but about the field the login actually sent.
      if (err instanceof TunehiveError && err.status === 401) throw new TunehiveError(err.code, err.message, [{ field: 'token', reason: err.message }]);
      throw err;
    });
    // The browser drops the cookie it held for the new one: a copy of the old value (a stolen
    // one) must not keep a session alive for its sliding 12 h nobody can end any more.
    const prior = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (prior !== undefined) await sessions.remove(prior);
    const { sid, csrf } = await sessions.create(rec.id);
    const p = principalOf(rec);
    // The audit log (onResponse) records writes of a known principal: a login is one.
    req.principal = p;
    void reply.header('set-cookie', sessionCookie(sid, { secure: secure(req) })).header('cache-control', 'no-store');
    return { owner: p.owner, admin: p.admin, csrf };
  });

  app.delete('/session', {
    schema: { summary: 'Log out: the session is deleted and the cookie cleared', response: { 204: Type.Null(), ...errorResponses } },
    // Public so that an expired session can still clear its cookie; a live one needs its CSRF header.
    config: { auth: { public: true } },
  }, async (req, reply) => {
    const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (sid !== undefined) {
      const s = await sessions.lookup(sid);
      if (s && !csrfMatches(req.headers['x-tunehive-csrf'], s.csrf)) {
        const reason = 'logging out a live session needs the header x-tunehive-csrf with its CSRF token';
        throw new TunehiveError('TH_ERR_AUTH_CSRF', reason, [{ field: 'headers.x-tunehive-csrf', reason }]);
      }
      if (s) req.principal = principalOf(s.credential);
      await sessions.remove(sid);
    }
    clearCookie(req, reply);
    return reply.status(204).send(null);
  });
};
