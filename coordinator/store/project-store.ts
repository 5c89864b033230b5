/**
 * Projects (tenants) and their members in Redis. A project is a hash, its members a hash
 * owner -> role, and each owner has the reverse hash project -> role, so both "who is in P"
 * and "which projects may X read" are one read, whatever the number of projects. The two
 * membership hashes are written in one MULTI, so they never disagree.
 *
 * What a role allows is decided in coordinator/auth/access.ts; this module only stores.
 */
import { type RedisClient, spreadPipeline, slotMulti } from '../../shared/redis.js';
import { keys } from '../../shared/redis-keys.js';
import type { ProjectRole } from '../auth/roles.js';

export interface ProjectRecord {
  name: string;
  description: string;
  createdAt: number;
  createdBy: string;
}

export class ProjectStore {
  constructor(private readonly redis: RedisClient, private readonly prefix = 'th') {}

  /** Creates the project with `owner` as its owner; false when the name is taken. */
  async create(name: string, owner: string, description = '', now = Date.now()): Promise<boolean> {
    const p = this.prefix;
    // HSETNX on the project's own hash decides a race between two creators of one name.
    const won = await this.redis.hsetnx(keys.project(p, name), 'createdAt', String(now));
    if (won !== 1) return false;
    // Atomic per hash tag on a Cluster (project keys are in different slots).
    await slotMulti(this.redis)
      .hset(keys.project(p, name), { createdBy: owner, description })
      .zadd(keys.projects(p), now, name)
      .hset(keys.projectMembers(p, name), owner, 'owner')
      .hset(keys.memberProjects(p, owner), name, 'owner')
      .exec();
    return true;
  }

  /** Idempotent: every replica makes sure the "default" project exists at start. */
  async ensure(name: string, owner: string, description = ''): Promise<void> {
    if (await this.get(name)) return;
    await this.create(name, owner, description);
  }

  async get(name: string): Promise<ProjectRecord | undefined> {
    const h = await this.redis.hgetall(keys.project(this.prefix, name));
    if (!h.createdAt) return undefined;
    return { name, description: h.description ?? '', createdAt: Number(h.createdAt), createdBy: h.createdBy ?? '' };
  }

  async exists(name: string): Promise<boolean> {
    return (await this.redis.exists(keys.project(this.prefix, name))) === 1;
  }

  /** Every project name, oldest first (admins). */
  async names(): Promise<string[]> {
    return this.redis.zrange(keys.projects(this.prefix), '0', '-1');
  }

  async list(names: readonly string[]): Promise<ProjectRecord[]> {
    if (names.length === 0) return [];
    const pipe = spreadPipeline(this.redis);
    for (const n of names) pipe.hgetall(keys.project(this.prefix, n));
    const rows = (await pipe.exec()) ?? [];
    return names.flatMap((name, i) => {
      const h = rows[i]?.[1] as Record<string, string> | undefined;
      return h?.createdAt ? [{ name, description: h.description ?? '', createdAt: Number(h.createdAt), createdBy: h.createdBy ?? '' }] : [];
    });
  }

  /** The owner's role in the project, or undefined (no access). */
  async roleOf(owner: string, project: string): Promise<ProjectRole | undefined> {
    return ((await this.redis.hget(keys.projectMembers(this.prefix, project), owner)) ?? undefined) as ProjectRole | undefined;
  }

  /** The projects an owner is a member of, with the role in each. */
  async projectsOf(owner: string): Promise<Map<string, ProjectRole>> {
    const h = await this.redis.hgetall(keys.memberProjects(this.prefix, owner));
    return new Map(Object.entries(h) as Array<[string, ProjectRole]>);
  }

  async members(project: string): Promise<Map<string, ProjectRole>> {
    const h = await this.redis.hgetall(keys.projectMembers(this.prefix, project));
    return new Map(Object.entries(h) as Array<[string, ProjectRole]>);
  }

  async setMember(project: string, owner: string, role: ProjectRole): Promise<void> {
    const p = this.prefix;
    await slotMulti(this.redis).hset(keys.projectMembers(p, project), owner, role).hset(keys.memberProjects(p, owner), project, role).exec();
  }

  /** How many studies the project holds (its index). */
  async studyCount(name: string): Promise<number> {
    return this.redis.zcard(keys.projectStudies(this.prefix, name));
  }

  /**
   * Deletes a project that holds no study: its record, its members (both directions), its
   * studies index and its audit stream. Returns the owners who were members.
   */
  async remove(name: string): Promise<string[]> {
    const p = this.prefix;
    const owners = [...(await this.members(name)).keys()];
    // One UNLINK per key: a multi-key command must stay in one slot of a Cluster.
    const m = slotMulti(this.redis).unlink(keys.project(p, name)).unlink(keys.projectMembers(p, name)).unlink(keys.projectStudies(p, name)).unlink(keys.projectAudit(p, name))
      .zrem(keys.projects(p), name);
    for (const owner of owners) m.hdel(keys.memberProjects(p, owner), name);
    // Queue bookkeeping of the project: workers stop looking for its queues.
    m.zrem(keys.queuedProjects(p), name);
    await m.exec();
    return owners;
  }

  /** False when the owner was not a member. */
  async removeMember(project: string, owner: string): Promise<boolean> {
    const p = this.prefix;
    const [[, removed]] = (await slotMulti(this.redis).hdel(keys.projectMembers(p, project), owner).hdel(keys.memberProjects(p, owner), project).exec()) as [[null, number], unknown];
    return removed === 1;
  }
}
