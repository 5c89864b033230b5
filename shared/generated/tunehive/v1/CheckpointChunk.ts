// Original file: proto/tunehive/v1/trials.proto

import type { CheckpointFile as _tunehive_v1_CheckpointFile, CheckpointFile__Output as _tunehive_v1_CheckpointFile__Output } from '../../tunehive/v1/CheckpointFile.js';
import type { Long } from '@grpc/proto-loader';

export interface CheckpointChunk {
  'trialId'?: (string);
  'attempt'?: (number);
  'step'?: (number | string | Long);
  'files'?: (_tunehive_v1_CheckpointFile)[];
  'checkpointId'?: (string);
  'fileIndex'?: (number);
  'data'?: (Buffer | Uint8Array | string);
  'sha256'?: (string);
  'attemptSecret'?: (string);
}

export interface CheckpointChunk__Output {
  'trialId': (string);
  'attempt': (number);
  'step': (number);
  'files': (_tunehive_v1_CheckpointFile__Output)[];
  'checkpointId': (string);
  'fileIndex': (number);
  'data': (Buffer);
  'sha256': (string);
  'attemptSecret': (string);
}
