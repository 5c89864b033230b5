/** The CLI's client of the study API: turns API errors into messages a person can act on. */
export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export function apiBase(flag?: string): string {
  return (flag ?? process.env.TUNEHIVE_API ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/** How the CLI authenticates: the token and where it came from (named in a 401's advice). */
export interface ClientAuth { token?: string; source: string }

export async function api<T = any>(base: string, method: string, path: string, body?: { text: string; type: string }, auth?: ClientAuth): Promise<T> {
  let res: Response;
  const headers: Record<string, string> = body ? { 'content-type': body.type } : {};
  if (auth?.token) headers.authorization = `Bearer ${auth.token}`;
  try {
    res = await fetch(`${base}${path}`, { method, headers, body: body?.text, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    throw new ApiError(`cannot reach the Tunehive API at ${base} (${(err as Error).cause ?? (err as Error).message}).\n` +
      `Start one with \`tunehive dev\`, or point the CLI at yours with --api URL or TUNEHIVE_API=URL.`, 0);
  }
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(`unexpected response from ${base}${path} (HTTP ${res.status}): ${text.slice(0, 200)}`, res.status);
  }
  if (res.status === 401) {
    const why = auth?.token ? `the token from ${auth.source} was refused (unknown, expired or revoked)` : 'no token was given';
    throw new ApiError(`${base} needs an API token: ${why}.\n` +
      'Fix: run `tunehive login` (stores a token for this API), or set TUNEHIVE_TOKEN=<token>, or pass --token / --token-file.\n' +
      'The coordinator printed an admin token on its first start; an admin creates more with `tunehive token create`.', 401);
  }
  if (!res.ok) {
    const e = json.error ?? {};
    const fields = (e.fields ?? []) as Array<{ field: string; reason: string }>;
    const detail = fields.length ? `\n${fields.map((f) => `  - ${f.field}: ${f.reason}`).join('\n')}` : '';
    throw new ApiError(`${fields.length ? (e.code === 'TH_ERR_SPEC_INVALID' ? 'the study spec is invalid:' : e.message) : e.message ?? `HTTP ${res.status}`}${detail}`, res.status);
  }
  return json as T;
}

export interface DeletedStudy { studyId: string; state: string; trials: number; keys: number; jobs: number; checkpointTrials: number }

/** `DELETE /api/v1/studies/:id`; `force` also deletes a RUNNING study (stopped first). */
export function deleteStudy(base: string, id: string, force = false, auth?: ClientAuth): Promise<DeletedStudy> {
  return api<DeletedStudy>(base, 'DELETE', `/api/v1/studies/${encodeURIComponent(id)}${force ? '?force=true' : ''}`, undefined, auth);
}
