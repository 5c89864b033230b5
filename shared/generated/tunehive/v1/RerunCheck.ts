// Original file: proto/tunehive/v1/trials.proto


export interface RerunCheck {
  'of'?: (string);
  'commit'?: (string);
  'dirty'?: (boolean);
  'codeVersion'?: (string);
  'dataVersion'?: (string);
  'dataSource'?: (string);
  'force'?: (boolean);
}

export interface RerunCheck__Output {
  'of': (string);
  'commit': (string);
  'dirty': (boolean);
  'codeVersion': (string);
  'dataVersion': (string);
  'dataSource': (string);
  'force': (boolean);
}
