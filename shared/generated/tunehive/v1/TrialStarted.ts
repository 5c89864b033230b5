// Original file: proto/tunehive/v1/trials.proto

import type { Hardware as _tunehive_v1_Hardware, Hardware__Output as _tunehive_v1_Hardware__Output } from '../../tunehive/v1/Hardware.js';

export interface TrialStarted {
  'trialId'?: (string);
  'workerId'?: (string);
  'resumeAttempt'?: (number);
  'hardware'?: (_tunehive_v1_Hardware | null);
  'deliveryId'?: (string);
  'jobId'?: (string);
  'jobToken'?: (string);
  'attemptSecret'?: (string);
}

export interface TrialStarted__Output {
  'trialId': (string);
  'workerId': (string);
  'resumeAttempt': (number);
  'hardware': (_tunehive_v1_Hardware__Output | null);
  'deliveryId': (string);
  'jobId': (string);
  'jobToken': (string);
  'attemptSecret': (string);
}
