// Original file: proto/tunehive/v1/trials.proto

import type { MetricPoint as _tunehive_v1_MetricPoint, MetricPoint__Output as _tunehive_v1_MetricPoint__Output } from '../../tunehive/v1/MetricPoint.js';
import type { Long } from '@grpc/proto-loader';

export interface MetricBatch {
  'attempt'?: (number);
  'seq'?: (number | string | Long);
  'points'?: (_tunehive_v1_MetricPoint)[];
}

export interface MetricBatch__Output {
  'attempt': (number);
  'seq': (number);
  'points': (_tunehive_v1_MetricPoint__Output)[];
}
