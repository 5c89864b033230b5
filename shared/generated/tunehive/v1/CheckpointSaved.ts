// Original file: proto/tunehive/v1/trials.proto


export interface CheckpointSaved {
  'accepted'?: (boolean);
  'checkpointId'?: (string);
  'reason'?: (string);
}

export interface CheckpointSaved__Output {
  'accepted': (boolean);
  'checkpointId': (string);
  'reason': (string);
}
