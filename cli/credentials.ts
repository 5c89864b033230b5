/**
 * Which token the CLI sends, and where `tunehive login` keeps it. Order: --token (or
 * --token-file), TUNEHIVE_TOKEN, the stored login for this API address, then the local
 * stack's admin token (`.tunehive/admin-token`, written by `tunehive dev`/`npm start`) when
 * the API is on this machine. The stored file is `$XDG_CONFIG_HOME/tunehive/credentials`
 * (or `~/.config/tunehive/credentials`), mode 0600, JSON: { "tokens": { "<api url>": "<token>" } }.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'tunehive', 'credentials');
}

/** The local stack's admin token (see cli/dev-stack.ts). */
export const LOCAL_TOKEN_FILE = path.join('.tunehive', 'admin-token');

interface Stored { tokens: Record<string, string> }

function readStored(file: string): Stored {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Stored>;
    return { tokens: parsed.tokens && typeof parsed.tokens === 'object' ? parsed.tokens : {} };
  } catch {
    return { tokens: {} };
  }
}

export function storeLogin(apiBase: string, token: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = credentialsFile(env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const stored = readStored(file);
  stored.tokens[apiBase] = token;
  writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync's mode applies only when it creates the file.
  chmodSync(file, 0o600);
  return file;
}

const isLoopback = (base: string) => {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(base).hostname);
  } catch {
    return false;
  }
};

export function resolveToken(apiBase: string, o: { flag?: string; file?: string } = {}, env: NodeJS.ProcessEnv = process.env): { token?: string; source: string } {
  if (o.flag) return { token: o.flag.trim(), source: '--token' };
  if (o.file) return { token: readFileSync(o.file, 'utf8').trim(), source: `--token-file ${o.file}` };
  if (env.TUNEHIVE_TOKEN) return { token: env.TUNEHIVE_TOKEN.trim(), source: 'TUNEHIVE_TOKEN' };
  const stored = readStored(credentialsFile(env)).tokens[apiBase];
  if (stored) return { token: stored, source: `the login stored in ${credentialsFile(env)}` };
  if (isLoopback(apiBase) && existsSync(LOCAL_TOKEN_FILE)) {
    return { token: readFileSync(LOCAL_TOKEN_FILE, 'utf8').trim(), source: `the local stack's ${LOCAL_TOKEN_FILE}` };
  }
  return { source: 'none' };
}
