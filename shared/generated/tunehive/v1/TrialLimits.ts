// Original file: proto/tunehive/v1/trials.proto

import type { Long } from '@grpc/proto-loader';

export interface TrialLimits {
  'maxMetricPoints'?: (number | string | Long);
  'maxCheckpointBytes'?: (number | string | Long);
  'maxCheckpointFiles'?: (number | string | Long);
  'maxArtifactBytes'?: (number | string | Long);
  'maxArtifactFiles'?: (number | string | Long);
}

export interface TrialLimits__Output {
  'maxMetricPoints': (number);
  'maxCheckpointBytes': (number);
  'maxCheckpointFiles': (number);
  'maxArtifactBytes': (number);
  'maxArtifactFiles': (number);
}
