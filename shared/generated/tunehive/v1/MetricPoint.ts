// Original file: proto/tunehive/v1/trials.proto

import type { Long } from '@grpc/proto-loader';

export interface MetricPoint {
  'name'?: (string);
  'value'?: (number | string);
  'step'?: (number | string | Long);
  'timeMs'?: (number | string | Long);
}

export interface MetricPoint__Output {
  'name': (string);
  'value': (number);
  'step': (number);
  'timeMs': (number);
}
