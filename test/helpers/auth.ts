/** HTTP calls with a chosen token (or none), and users made by the admin: for the auth tests. */
import { TEST_ADMIN_TOKEN } from './env.js';

export interface Reply { status: number; body: any; headers: Headers; text: string }

export async function call(base: string, method: string, url: string, o: { token?: string | null; body?: unknown; authorization?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? TEST_ADMIN_TOKEN : o.token;
  if (o.authorization !== undefined) headers.authorization = o.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${url}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (the docs page, /metrics)
  }
  return { status: res.status, body, headers: res.headers, text };
}

/**
 * A user `owner` with `role` in `project` (made a member by the admin) and a token of theirs
 * (role cap owner, every project, unless `tokenRole`/`tokenProject` say otherwise).
 */
export async function userToken(base: string, owner: string, memberships: Record<string, 'viewer' | 'editor' | 'owner'>, o: { tokenRole?: string; tokenProject?: string; scopes?: string[]; ttl?: string } = {}): Promise<{ token: string; id: string }> {
  for (const [project, role] of Object.entries(memberships)) {
    const m = await call(base, 'PUT', `/api/v1/projects/${project}/members/${owner}`, { body: { role } });
    if (m.status !== 200) throw new Error(`membership ${owner}@${project}: ${m.status} ${m.text}`);
  }
  const t = await call(base, 'POST', '/api/v1/tokens', { body: { owner, role: o.tokenRole ?? 'owner', project: o.tokenProject ?? '*', ...(o.scopes ? { scopes: o.scopes } : {}), ...(o.ttl ? { ttl: o.ttl } : {}) } });
  if (t.status !== 201) throw new Error(`token for ${owner}: ${t.status} ${t.text}`);
  return { token: t.body.token, id: t.body.id };
}

export async function ensureProject(base: string, name: string): Promise<void> {
  const r = await call(base, 'POST', '/api/v1/projects', { body: { name } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`project ${name}: ${r.status} ${r.text}`);
}

/** An ask/tell study in a project, with one asked trial that reported one intermediate value. */
export async function studyWithTrial(base: string, project: string, token?: string): Promise<{ studyId: string; trialId: string }> {
  const spec = { name: `s-${project}`, project, objective: { metric: 'loss', direction: 'minimize' }, searchSpace: { x: { type: 'float', min: 0, max: 1 } }, maxTrials: 50 };
  const s = await call(base, 'POST', '/api/v1/studies', { body: spec, ...(token ? { token } : {}) });
  if (s.status !== 201) throw new Error(`study in ${project}: ${s.status} ${s.text}`);
  const t = await call(base, 'POST', `/api/v1/studies/${s.body.id}/trials/ask`, { ...(token ? { token } : {}) });
  await call(base, 'POST', `/api/v1/studies/${s.body.id}/trials/${t.body.number}/tell`, { body: { step: 1, value: 0.5 }, ...(token ? { token } : {}) });
  return { studyId: s.body.id, trialId: t.body.id };
}
