/**
 * The API client: same-origin fetches (the session cookie goes along, or a reverse proxy's
 * Authorization header), the CSRF header on every write, errors as {status, message, fields}.
 */
const CSRF_KEY = 'tunehive.csrf';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly fields: Array<{ field: string; reason: string }> = []) { super(message); }
}

export function setCsrf(token: string | null): void {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}

export async function api<T = any>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const csrf = sessionStorage.getItem(CSRF_KEY);
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['x-tunehive-csrf'] = csrf;
  const res = await fetch(url, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  if (!res.ok) {
    const e = json?.error;
    throw new ApiError(res.status, e?.message ?? `${method} ${url}: HTTP ${res.status}`, e?.fields ?? []);
  }
  return json as T;
}

export const get = <T = any>(url: string) => api<T>('GET', url);

/** A GET that answers undefined for a route the coordinator does not have (an older server). */
export async function getOptional<T = any>(url: string): Promise<T | undefined> {
  try { return await get<T>(url); } catch (err) {
    if (err instanceof ApiError && err.status === 404 && /no route/.test(err.message)) return undefined;
    throw err;
  }
}

export const enc = encodeURIComponent;
