/**
 * What every client command of the CLI shares: its flags (with --api, --token, --token-file),
 * the API client they make, and one mapping of failures to exit codes — a usage error or a 4xx
 * answer (other than 401) is a message with the fix and exit 2, never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { resolveToken } from './credentials.js';
import { safeText } from './format.js';
import { api, apiBase, ApiError, type ClientAuth } from './http-client.js';

export class CommandUsageError extends Error {}

const CLIENT = { api: { type: 'string' }, token: { type: 'string' }, 'token-file': { type: 'string' } } as const;
type ClientValues = { api?: string | boolean | undefined; token?: string | boolean | undefined; 'token-file'?: string | boolean | undefined };

/** `usage`, when given, is printed under a refused flag; otherwise the user is sent to `tunehive help`. */
export function commandFlags<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, command: string, usage?: string) {
  try {
    return parseArgs({ args, options: { ...CLIENT, ...options }, allowPositionals: true as const, strict: true as const });
  } catch (err) {
    const hint = usage ? `usage: ${usage}` : `Run \`tunehive help\` for the options of \`tunehive ${command}\`.`;
    throw new CommandUsageError(`${(err as Error).message.split('\n')[0]}\n${hint}`);
  }
}

export function commandClient(v: ClientValues): { base: string; auth: ClientAuth; get: <T = any>(path: string) => Promise<T>; post: <T = any>(path: string, body: unknown) => Promise<T> } {
  const base = apiBase(typeof v.api === 'string' ? v.api : undefined);
  let auth: ClientAuth;
  try {
    auth = resolveToken(base, { ...(typeof v.token === 'string' ? { flag: v.token } : {}), ...(typeof v['token-file'] === 'string' ? { file: v['token-file'] } : {}) });
  } catch (err) {
    throw new CommandUsageError(`cannot read --token-file: ${(err as Error).message}`);
  }
  return {
    base, auth,
    get: (path) => api(base, 'GET', path, undefined, auth),
    post: (path, body) => api(base, 'POST', path, { text: JSON.stringify(body), type: 'application/json' }, auth),
  };
}

/**
 * Runs a command: usage errors and 4xx answers (but 401, which main.ts explains) exit 2 with their
 * message; `explain` may turn a server's refusal into one with the fix (a filter's caret).
 */
export async function runCommand(run: () => Promise<number>, explain: (err: ApiError) => Error = (e) => e): Promise<number> {
  try {
    return await run();
  } catch (err) {
    const shown = err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 401 ? explain(err) : err instanceof CommandUsageError ? err : undefined;
    if (shown) {
      process.stderr.write(`tunehive: ${safeText(shown.message, { multiline: true })}\n`);
      return 2;
    }
    throw err;
  }
}
