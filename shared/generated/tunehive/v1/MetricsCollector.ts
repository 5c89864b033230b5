// Original file: proto/tunehive/v1/trials.proto


export interface MetricsCollector {
  'kind'?: (string);
  'path'?: (string);
  'format'?: (string);
  'filters'?: (string)[];
  'metrics'?: (string)[];
}

export interface MetricsCollector__Output {
  'kind': (string);
  'path': (string);
  'format': (string);
  'filters': (string)[];
  'metrics': (string)[];
}
