// Original file: proto/tunehive/v1/trials.proto


export interface CheckpointRequest {
  'trialId'?: (string);
  'checkpointId'?: (string);
  'attempt'?: (number);
  'attemptSecret'?: (string);
}

export interface CheckpointRequest__Output {
  'trialId': (string);
  'checkpointId': (string);
  'attempt': (number);
  'attemptSecret': (string);
}
