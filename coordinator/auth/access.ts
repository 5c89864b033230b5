/**
 * What a principal may do in a project. Default is no access: an owner who is no member of a
 * project has no role in it, and a project it cannot read is answered like one that does not
 * exist (404), so names never leak. A readable project with too small a role is a 403 that
 * names the missing role.
 */
import { TunehiveError, type ErrorCode } from '../../shared/errors.js';
import type { Role } from '../store/credential-store.js';
import type { ProjectStore } from '../store/project-store.js';
import type { Principal } from './principal.js';
import { atLeast, lower, type ProjectRole } from './roles.js';

export class Access {
  /**
   * Memberships read in the last `cacheMs` (like verified tokens): a request costs no Redis
   * round trip for its role. A membership change is seen at once on the replica that made it
   * and within `cacheMs` on the others.
   */
  private readonly members = new Map<string, { role: ProjectRole | undefined; until: number }>();

  constructor(private readonly projects: ProjectStore, private readonly o: { cacheMs?: number; maxEntries?: number } = {}) {}

  /** The principal's effective role in the project, or undefined (cannot even read it). */
  async roleIn(who: Principal, project: string): Promise<Role | undefined> {
    if (who.admin) return 'admin';
    // A run token acts for its trial, not for a member: its role, in its run's project only.
    if (who.runId !== undefined) return who.project === project ? who.role : undefined;
    if (who.project !== '*' && who.project !== project) return undefined;
    const member = await this.membership(who.owner, project);
    return member ? lower(member, who.role) : undefined;
  }

  private async membership(owner: string, project: string, now = Date.now()): Promise<ProjectRole | undefined> {
    const key = `${project}\n${owner}`;
    const hit = this.members.get(key);
    if (hit && hit.until > now) return hit.role;
    const role = await this.projects.roleOf(owner, project);
    const cacheMs = this.o.cacheMs ?? 2000;
    if (cacheMs > 0) {
      this.members.delete(key);
      if (this.members.size >= (this.o.maxEntries ?? 10_000)) this.members.delete(this.members.keys().next().value!);
      this.members.set(key, { role, until: now + cacheMs });
    }
    return role;
  }

  /** A membership changed on this replica: forget what was cached about it. */
  forget(owner: string, project: string): void {
    this.members.delete(`${project}\n${owner}`);
  }

  /**
   * Checks that the principal has at least `wanted` in the project. `notFound` is what an
   * unreadable project is answered with (the same error as an unknown study, trial or project).
   */
  async require(who: Principal, project: string, wanted: Role, notFound: () => TunehiveError): Promise<Role> {
    const role = await this.roleIn(who, project);
    if (role === undefined) throw notFound();
    if (!atLeast(role, wanted)) throw forbidden(`this needs role ${wanted} in project "${project}"; the token has ${role}`);
    return role;
  }

  /** The projects the principal may read: undefined means all of them (admins). */
  async readable(who: Principal): Promise<string[] | undefined> {
    if (who.admin) return undefined;
    const mine = await this.projects.projectsOf(who.owner);
    return [...mine.keys()].filter((p) => who.project === '*' || who.project === p).sort();
  }
}

export function forbidden(reason: string): TunehiveError {
  return new TunehiveError('TH_ERR_AUTH_FORBIDDEN', reason, [{ field: 'headers.authorization', reason }]);
}

export function notFound(code: ErrorCode, field: string, what: string): () => TunehiveError {
  return () => new TunehiveError(code, what, [{ field, reason: what }]);
}

export function requireAdmin(who: Principal, what: string): void {
  if (!who.admin) throw forbidden(`${what} needs an admin token`);
}
