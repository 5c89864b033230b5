// Original file: proto/tunehive/v1/trials.proto

import type { Hardware as _tunehive_v1_Hardware, Hardware__Output as _tunehive_v1_Hardware__Output } from '../../tunehive/v1/Hardware.js';

export interface JoinRequest {
  'joinToken'?: (string);
  'workerId'?: (string);
  'hardware'?: (_tunehive_v1_Hardware | null);
}

export interface JoinRequest__Output {
  'joinToken': (string);
  'workerId': (string);
  'hardware': (_tunehive_v1_Hardware__Output | null);
}
