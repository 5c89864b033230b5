// Original file: proto/tunehive/v1/trials.proto

import type { Long } from '@grpc/proto-loader';

export interface CheckpointFile {
  'path'?: (string);
  'size'?: (number | string | Long);
}

export interface CheckpointFile__Output {
  'path': (string);
  'size': (number);
}
