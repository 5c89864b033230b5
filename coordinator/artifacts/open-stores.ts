/**
 * The coordinator's stores from its options: `DIR` or `s3://bucket/prefix` for artifacts and
 * for checkpoints (`--artifact-store`, `--checkpoint-store`), one S3 endpoint for both
 * (`--s3-endpoint`, credentials from the standard AWS environment variables).
 */
import { FsCheckpointStore, type CheckpointStore } from '../checkpoints/checkpoint-store.js';
import type { ArtifactStore } from './artifact-store.js';
import { FsArtifactStore } from './fs-artifact-store.js';
import { ObjectCheckpointStore } from './object-checkpoint-store.js';
import { parseS3Url, S3ArtifactStore } from './s3-artifact-store.js';

export interface S3Settings {
  endpoint?: string;
  region?: string;
  /** Default: the SDK's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export const isS3Location = (where: string) => where.startsWith('s3://');

/** `where` is a folder or `s3://bucket/prefix`. */
export function openArtifactStore(where: string, s3: S3Settings = {}): ArtifactStore {
  if (!isS3Location(where)) return new FsArtifactStore(where);
  const loc = parseS3Url(where);
  if (!loc) throw new Error(`${where} is not an S3 location (s3://bucket or s3://bucket/prefix; bucket names are 3-63 lowercase letters, digits, dots and dashes)`);
  return new S3ArtifactStore({ ...loc, ...s3 });
}

/** A folder keeps the folder layout (FsCheckpointStore); S3 uses manifests (ObjectCheckpointStore). */
export function openCheckpointStore(where: string, s3: S3Settings = {}): { store: CheckpointStore; close(): void } {
  if (!isS3Location(where)) return { store: new FsCheckpointStore(where), close: () => undefined };
  const objects = openArtifactStore(where, s3);
  return { store: new ObjectCheckpointStore(objects), close: () => void objects.close?.() };
}
