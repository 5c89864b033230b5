/**
 * One real redis-server for the whole run; each test file uses its own key prefix. It runs with
 * a password (the default user's, random): `redisUrl` carries it, so every test proves that
 * Tunehive logs in. Tests of the ACL users create them per prefix (shared/redis-acl.ts).
 */
import type { TestProject } from 'vitest/node';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalRedis, type LocalRedis } from '../../cli/local-redis.js';

let redis: LocalRedis | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tunehive-test-redis-'));
  redis = await startLocalRedis({ dataDir: dir, appendOnly: false });
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
