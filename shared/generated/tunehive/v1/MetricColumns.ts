// Original file: proto/tunehive/v1/trials.proto


export interface MetricColumns {
  'names'?: (string)[];
  'nameIndex'?: (number)[];
  'values'?: (number | string)[];
  'steps'?: (number | string)[];
  'timesMs'?: (number | string)[];
}

export interface MetricColumns__Output {
  'names': (string)[];
  'nameIndex': (number)[];
  'values': (number)[];
  'steps': (number)[];
  'timesMs': (number)[];
}
