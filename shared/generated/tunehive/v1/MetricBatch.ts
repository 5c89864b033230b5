// Original file: proto/tunehive/v1/trials.proto

import type { MetricPoint as _tunehive_v1_MetricPoint, MetricPoint__Output as _tunehive_v1_MetricPoint__Output } from '../../tunehive/v1/MetricPoint.js';
import type { MetricColumns as _tunehive_v1_MetricColumns, MetricColumns__Output as _tunehive_v1_MetricColumns__Output } from '../../tunehive/v1/MetricColumns.js';
import type { Long } from '@grpc/proto-loader';

export interface MetricBatch {
  'attempt'?: (number);
  'seq'?: (number | string | Long);
  'points'?: (_tunehive_v1_MetricPoint)[];
  'columns'?: (_tunehive_v1_MetricColumns | null);
}

export interface MetricBatch__Output {
  'attempt': (number);
  'seq': (number);
  'points': (_tunehive_v1_MetricPoint__Output)[];
  'columns': (_tunehive_v1_MetricColumns__Output | null);
}
