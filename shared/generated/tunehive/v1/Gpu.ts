// Original file: proto/tunehive/v1/trials.proto

import type { Long } from '@grpc/proto-loader';

export interface Gpu {
  'index'?: (number);
  'uuid'?: (string);
  'name'?: (string);
  'memoryMib'?: (number | string | Long);
}

export interface Gpu__Output {
  'index': (number);
  'uuid': (string);
  'name': (string);
  'memoryMib': (number);
}
