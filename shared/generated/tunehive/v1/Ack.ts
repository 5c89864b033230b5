// Original file: proto/tunehive/v1/trials.proto

import type { Long } from '@grpc/proto-loader';

export interface Ack {
  'seq'?: (number | string | Long);
  'droppedPoints'?: (number | string | Long);
}

export interface Ack__Output {
  'seq': (number);
  'droppedPoints': (number);
}
