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
import { atLeast, lower } from './roles.js';

export class Access {
  constructor(private readonly projects: ProjectStore) {}

  /** The principal's effective role in the project, or undefined (cannot even read it). */
  async roleIn(who: Principal, project: string): Promise<Role | undefined> {
    if (who.admin) return 'admin';
    if (who.project !== '*' && who.project !== project) return undefined;
    const member = await this.projects.roleOf(who.owner, project);
    return member ? lower(member, who.role) : undefined;
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
