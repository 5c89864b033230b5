/**
 * Roles and scopes. Per project: viewer < editor < owner; `admin` is global and above all of
 * them. A token carries the highest role it may exercise; the effective role in a project is
 * the lower of that and its owner's membership (admins need no membership).
 */
import type { Role } from '../store/credential-store.js';

export type ProjectRole = Exclude<Role, 'admin'>;
export const PROJECT_ROLES: readonly ProjectRole[] = ['viewer', 'editor', 'owner'];

const RANK: Record<Role, number> = { viewer: 1, editor: 2, owner: 3, admin: 4 };

export function atLeast(role: Role | undefined, wanted: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[wanted];
}

export function lower(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

/**
 * Scopes grant what no project role covers. `metrics`: read /metrics (Prometheus scrapers get
 * a token with this scope and role viewer on no project, so they can read nothing else).
 */
export const SCOPES = ['metrics'] as const;
export type Scope = (typeof SCOPES)[number];

/** Owner names become parts of key names: a conservative charset. */
export const OWNER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
