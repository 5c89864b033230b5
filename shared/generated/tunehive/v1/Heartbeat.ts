// Original file: proto/tunehive/v1/trials.proto


export interface Heartbeat {
  'attempt'?: (number);
}

export interface Heartbeat__Output {
  'attempt': (number);
}
