/** `tunehive token ...` and `tunehive project ...`: thin clients of /api/v1/tokens and /api/v1/projects. */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { safeText, table } from './format.js';

type Call = (method: string, path: string, body?: unknown) => Promise<any>;
type Values = Record<string, string | boolean | string[] | undefined>;

class UsageError extends Error {
  override name = 'UsageError';
}

const str = (v: Values[string]) => (typeof v === 'string' ? v : undefined);
const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

export async function tokenCommand(sub: string | undefined, v: Values, args: string[], call: Call, say: (m: string) => void): Promise<number> {
  switch (sub) {
    case 'create': {
      const body: Record<string, unknown> = {};
      for (const k of ['kind', 'project', 'role', 'ttl', 'description', 'owner'] as const) if (str(v[k]) !== undefined) body[k] = str(v[k]);
      if (str(v.projects) !== undefined) body.projects = str(v.projects)!.split(',').map((p) => p.trim()).filter(Boolean);
      if (Array.isArray(v.scope)) body.scopes = v.scope;
      if (str(v['max-uses']) !== undefined) body.maxUses = Number(v['max-uses']);
      const t = await call('POST', '/api/v1/tokens', body);
      // The secret alone on stdout (for `$(tunehive token create ...)`), the facts on stderr.
      console.log(t.token);
      say(`token ${safeText(t.id)} (${safeText(t.kind)}) for ${safeText(t.owner)}: ${t.kind === 'worker-join' ? `projects ${safeText((t.projects ?? []).join(','))}` : `role ${safeText(t.role)}, project ${safeText(t.project)}`}` +
        `, expires ${when(t.expiresAt)}. It is shown only now: keep it somewhere safe.`);
      return 0;
    }
    case 'list': {
      const q = new URLSearchParams();
      if (str(v.owner)) q.set('owner', str(v.owner)!);
      if (str(v.kind)) q.set('kind', str(v.kind)!);
      const r = await call('GET', `/api/v1/tokens${q.size ? `?${q}` : ''}`);
      console.log(table(['id', 'kind', 'owner', 'project', 'role', 'expires', 'revoked', 'description'],
        r.tokens.map((t: any) => [t.id, t.kind, safeText(t.owner), safeText(t.kind === 'worker-join' ? (t.projects ?? []).join(',') : t.project), t.role, when(t.expiresAt), when(t.revokedAt), safeText(t.description).slice(0, 40)])));
      return 0;
    }
    case 'revoke': {
      const id = args[0];
      if (!id) throw new UsageError('tunehive token revoke needs a token id (see tunehive token list)');
      const t = await call('DELETE', `/api/v1/tokens/${encodeURIComponent(id.replace(/^th[kjw]_([0-9a-f]{16})_.*$/, '$1'))}`);
      say(`token ${safeText(t.id)} revoked (every coordinator refuses it within 2 s)`);
      return 0;
    }
    default:
      throw new UsageError('tunehive token needs a subcommand: create, list or revoke');
  }
}

export async function projectCommand(sub: string | undefined, v: Values, args: string[], call: Call, say: (m: string) => void): Promise<number> {
  switch (sub) {
    case 'create': {
      if (!args[0]) throw new UsageError('tunehive project create needs a name');
      const p = await call('POST', '/api/v1/projects', { name: args[0], ...(str(v.description) ? { description: str(v.description) } : {}) });
      say(`project ${safeText(p.name)} created; you own it`);
      return 0;
    }
    case 'list': {
      const r = await call('GET', '/api/v1/projects');
      console.log(table(['project', 'role', 'created', 'description'], r.projects.map((p: any) => [safeText(p.name), p.role, when(p.createdAt), safeText(p.description).slice(0, 50)])));
      return 0;
    }
    case 'show': {
      if (!args[0]) throw new UsageError('tunehive project show needs a name');
      const p = await call('GET', `/api/v1/projects/${encodeURIComponent(args[0])}`);
      console.log(table(['member', 'role'], p.members.map((m: any) => [safeText(m.owner), m.role])));
      return 0;
    }
    case 'member': {
      const [name, owner, role] = args;
      if (!name || !owner || (!role && !v.remove)) throw new UsageError('usage: tunehive project member NAME OWNER viewer|editor|owner, or NAME OWNER --remove');
      const path = `/api/v1/projects/${encodeURIComponent(name)}/members/${encodeURIComponent(owner)}`;
      if (v.remove) {
        await call('DELETE', path);
        say(`${safeText(owner)} removed from ${safeText(name)}`);
      } else {
        await call('PUT', path, { role });
        say(`${safeText(owner)} is ${safeText(role!)} of ${safeText(name)}`);
      }
      return 0;
    }
    case 'delete': {
      if (!args[0]) throw new UsageError('tunehive project delete needs a name (the project must hold no study)');
      await call('DELETE', `/api/v1/projects/${encodeURIComponent(args[0])}`);
      say(`project ${safeText(args[0])} deleted`);
      return 0;
    }
    default:
      throw new UsageError('tunehive project needs a subcommand: create, list, show, member or delete');
  }
}

/** A secret from the terminal (not echoed) or, when stdin is not a terminal, its first line. */
export async function readSecret(prompt: string): Promise<string | undefined> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) {
      text += String(chunk);
      if (text.length > 8192) break;
    }
    return text.split('\n')[0]?.trim() || undefined;
  }
  process.stderr.write(prompt);
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return (await rl.question('')).trim() || undefined;
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
