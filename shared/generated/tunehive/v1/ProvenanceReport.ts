// Original file: proto/tunehive/v1/trials.proto


export interface ProvenanceReport {
  'attempt'?: (number);
  'provenanceJson'?: (string);
}

export interface ProvenanceReport__Output {
  'attempt': (number);
  'provenanceJson': (string);
}
