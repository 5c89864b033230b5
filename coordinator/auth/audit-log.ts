/**
 * The audit log: one entry per write through the API (who, what, on what, with what result,
 * from where, when) in a capped Redis stream, plus a copy in the stream of the project it
 * concerns, so a project's owners read theirs without scanning everyone's. Both are capped
 * with XADD MAXLEN ~ N: the log is bounded and its oldest entries go first.
 */
import { type RedisClient, spreadPipeline } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';

export interface AuditEntry {
  /** The stream id: when (ms) and a sequence number; also the page cursor. */
  id: string;
  time: string;
  credentialId: string;
  owner: string;
  method: string;
  route: string;
  /** The ids the request named (path parameters) and the id it created, if any. */
  target: Record<string, string>;
  project: string | null;
  status: number;
  ip: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'time'>;

export class AuditLog {
  constructor(private readonly redis: RedisClient, private readonly prefix = 'th', private readonly maxLen = 100_000) {}

  async record(e: NewAuditEntry): Promise<void> {
    const fields = ['cred', e.credentialId, 'owner', e.owner, 'method', e.method, 'route', e.route, 'target', JSON.stringify(e.target),
      'project', e.project ?? '', 'status', String(e.status), 'ip', e.ip];
    const pipe = spreadPipeline(this.redis).xadd(keys.audit(this.prefix), 'MAXLEN', '~', String(this.maxLen), '*', ...fields);
    if (e.project) pipe.xadd(keys.projectAudit(this.prefix, e.project), 'MAXLEN', '~', String(this.maxLen), '*', ...fields);
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  }

  /**
   * Newest first, `limit` entries before the cursor `before` (a previous page's `next`);
   * `project` reads that project's stream only.
   */
  async read(o: { project?: string; before?: string; limit: number }): Promise<{ entries: AuditEntry[]; next: string | null }> {
    const key = o.project ? keys.projectAudit(this.prefix, o.project) : keys.audit(this.prefix);
    const rows = (await this.redis.xrevrange(key, o.before ? `(${o.before}` : '+', '-', 'COUNT', o.limit + 1)) as Array<[string, string[]]>;
    const entries = rows.slice(0, o.limit).map(([id, flat]) => toEntry(id, flat));
    return { entries, next: rows.length > o.limit ? entries[entries.length - 1]!.id : null };
  }
}

function toEntry(id: string, flat: string[]): AuditEntry {
  const h: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  let target: Record<string, string> = {};
  try {
    target = JSON.parse(h.target ?? '{}') as Record<string, string>;
  } catch {
    // a hand-edited entry: keep the rest of it
  }
  return {
    id, time: new Date(Number(id.split('-')[0])).toISOString(), credentialId: h.cred ?? '', owner: h.owner ?? '', method: h.method ?? '',
    route: h.route ?? '', target, project: h.project || null, status: Number(h.status ?? 0), ip: h.ip ?? '',
  };
}
