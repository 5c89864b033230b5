// Original file: proto/tunehive/v1/trials.proto


export interface TagReport {
  'attempt'?: (number);
  'tags'?: ({[key: string]: string});
}

export interface TagReport__Output {
  'attempt': (number);
  'tags': ({[key: string]: string});
}
