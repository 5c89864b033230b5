/**
 * The digest of the image a container runs, from the engine's inspect (what ran, not what the
 * spec named: a tag can move). The container's `Image` is the local image id; the image's
 * `RepoDigests` give the registry digest (`repo@sha256:...`) a rerun can pull anywhere. An image
 * built locally has none: then the image id is recorded. Never throws (undefined: unknown).
 */
import type { DockerEngineClient } from './engine-client.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The digest, and the reference that runs exactly that image again (`repo@sha256:...`, or the local image id). */
export interface ImageDigest { digest: string; pinned: string }

export async function runningImageDigest(engine: DockerEngineClient, containerId: string, reference: string): Promise<ImageDigest | undefined> {
  try {
    const c = await engine.call('GET', `/containers/${containerId}/json`);
    const imageId = (c.body as { Image?: unknown } | null)?.Image;
    if (c.status !== 200 || typeof imageId !== 'string' || !DIGEST.test(imageId)) return undefined;
    const img = await engine.call('GET', `/images/${encodeURIComponent(imageId)}/json`);
    const repoDigests = (img.body as { RepoDigests?: unknown } | null)?.RepoDigests;
    const repo = repositoryOf(reference);
    if (img.status === 200 && Array.isArray(repoDigests)) {
      const digests = repoDigests.filter((d): d is string => typeof d === 'string' && d.includes('@sha256:'));
      const mine = digests.find((d) => d.slice(0, d.indexOf('@')) === repo) ?? digests[0];
      if (mine) {
        const digest = mine.slice(mine.indexOf('@') + 1);
        if (DIGEST.test(digest)) return { digest, pinned: `${repo}@${digest}` };
      }
    }
    return { digest: imageId, pinned: imageId };
  } catch {
    return undefined;
  }
}

/** `registry:5000/org/name:tag@sha256:...` -> `registry:5000/org/name`. */
export function repositoryOf(reference: string): string {
  const noDigest = reference.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}
