// Original file: proto/tunehive/v1/trials.proto

import type { TrialLimits as _tunehive_v1_TrialLimits, TrialLimits__Output as _tunehive_v1_TrialLimits__Output } from '../../tunehive/v1/TrialLimits.js';

export interface TrialTemplate {
  'command'?: (string)[];
  'env'?: ({[key: string]: string});
  'timeoutSeconds'?: (number);
  'image'?: (string);
  'limits'?: (_tunehive_v1_TrialLimits | null);
  'codeVersion'?: (string);
  'dataFiles'?: (string)[];
}

export interface TrialTemplate__Output {
  'command': (string)[];
  'env': ({[key: string]: string});
  'timeoutSeconds': (number);
  'image': (string);
  'limits': (_tunehive_v1_TrialLimits__Output | null);
  'codeVersion': (string);
  'dataFiles': (string)[];
}
