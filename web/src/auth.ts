/**
 * Who is looking: whoami answers through the session cookie or a reverse proxy's Authorization
 * header (then no login form). Write buttons show only where the role allows a write.
 */
import { api, ApiError, get, setCsrf } from './api.js';
import { signal } from './signal.js';

export interface Me { owner: string; admin: boolean; via: 'header' | 'cookie' | string; projects: Array<{ name: string; role: string }>; csrf?: string }
export const me = signal<Me | null | undefined>(undefined);

const RANK: Record<string, number> = { viewer: 1, editor: 2, owner: 3, admin: 4 };

export async function loadMe(): Promise<Me | null> {
  try {
    const w = await get<any>('/api/v1/whoami');
    // Older coordinators answer one project and role per token.
    const projects = Array.isArray(w.projects) ? w.projects : w.project ? [{ name: w.project, role: w.role }] : [];
    const m: Me = { owner: w.owner, admin: !!w.admin, via: w.via ?? 'header', projects };
    if (typeof w.csrf === 'string') setCsrf(w.csrf);
    me.set(m);
    return m;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) { me.set(null); return null; }
    throw err;
  }
}

export async function login(token: string): Promise<void> {
  const r = await api<{ csrf: string }>('POST', '/api/v1/session', { token });
  setCsrf(r.csrf);
  await loadMe();
}

/**
 * A token from a sign-in link (the demo prints one) only fills the login form: signing in takes
 * the visitor's click, so a link from someone else cannot silently sign a browser in as them
 * (login CSRF), and a browser already signed in stays who it is.
 */
let linkToken: string | undefined;
export function offerLinkToken(token: string): void { linkToken = token; }
export function takeLinkToken(): string | undefined {
  const t = linkToken;
  linkToken = undefined;
  return t;
}

export async function logout(): Promise<void> {
  try { await api('DELETE', '/api/v1/session'); } finally { setCsrf(null); me.set(null); }
}

/** Whether the caller may write (editor or more) in a project. */
export function canWrite(project: string | undefined, m: Me | null | undefined = me.get()): boolean {
  if (!m) return false;
  if (m.admin) return true;
  const p = m.projects.find((x) => x.name === project || x.name === '*');
  return !!p && (RANK[p.role] ?? 0) >= RANK.editor!;
}
