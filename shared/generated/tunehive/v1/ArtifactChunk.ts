// Original file: proto/tunehive/v1/trials.proto

import type { CheckpointFile as _tunehive_v1_CheckpointFile, CheckpointFile__Output as _tunehive_v1_CheckpointFile__Output } from '../../tunehive/v1/CheckpointFile.js';

export interface ArtifactChunk {
  'trialId'?: (string);
  'attempt'?: (number);
  'attemptSecret'?: (string);
  'files'?: (_tunehive_v1_CheckpointFile)[];
  'fileIndex'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'fileSha256'?: (string);
}

export interface ArtifactChunk__Output {
  'trialId': (string);
  'attempt': (number);
  'attemptSecret': (string);
  'files': (_tunehive_v1_CheckpointFile__Output)[];
  'fileIndex': (number);
  'data': (Buffer);
  'fileSha256': (string);
}
