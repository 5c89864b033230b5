// Original file: proto/tunehive/v1/trials.proto

import type { TrialLimits as _tunehive_v1_TrialLimits, TrialLimits__Output as _tunehive_v1_TrialLimits__Output } from '../../tunehive/v1/TrialLimits.js';
import type { MetricsCollector as _tunehive_v1_MetricsCollector, MetricsCollector__Output as _tunehive_v1_MetricsCollector__Output } from '../../tunehive/v1/MetricsCollector.js';

export interface TrialTemplate {
  'command'?: (string)[];
  'env'?: ({[key: string]: string});
  'timeoutSeconds'?: (number);
  'image'?: (string);
  'limits'?: (_tunehive_v1_TrialLimits | null);
  'codeVersion'?: (string);
  'dataFiles'?: (string)[];
  'metricsCollector'?: (_tunehive_v1_MetricsCollector | null);
}

export interface TrialTemplate__Output {
  'command': (string)[];
  'env': ({[key: string]: string});
  'timeoutSeconds': (number);
  'image': (string);
  'limits': (_tunehive_v1_TrialLimits__Output | null);
  'codeVersion': (string);
  'dataFiles': (string)[];
  'metricsCollector': (_tunehive_v1_MetricsCollector__Output | null);
}
