// Original file: proto/tunehive/v1/trials.proto

import type { Gpu as _tunehive_v1_Gpu, Gpu__Output as _tunehive_v1_Gpu__Output } from '../../tunehive/v1/Gpu.js';
import type { Long } from '@grpc/proto-loader';

export interface Hardware {
  'hostname'?: (string);
  'nodeName'?: (string);
  'gpus'?: (_tunehive_v1_Gpu)[];
  'driverVersion'?: (string);
  'cudaVersion'?: (string);
  'cpuCount'?: (number);
  'cpuModel'?: (string);
  'memoryBytes'?: (number | string | Long);
}

export interface Hardware__Output {
  'hostname': (string);
  'nodeName': (string);
  'gpus': (_tunehive_v1_Gpu__Output)[];
  'driverVersion': (string);
  'cudaVersion': (string);
  'cpuCount': (number);
  'cpuModel': (string);
  'memoryBytes': (number);
}
