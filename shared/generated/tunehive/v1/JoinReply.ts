// Original file: proto/tunehive/v1/trials.proto


export interface JoinReply {
  'credential'?: (string);
  'workerId'?: (string);
  'projects'?: (string)[];
}

export interface JoinReply__Output {
  'credential': (string);
  'workerId': (string);
  'projects': (string)[];
}
