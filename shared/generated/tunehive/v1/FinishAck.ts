// Original file: proto/tunehive/v1/trials.proto


export interface FinishAck {
  'state'?: (string);
}

export interface FinishAck__Output {
  'state': (string);
}
