// Original file: proto/tunehive/v1/trials.proto


export interface ArtifactsSaved {
  'accepted'?: (boolean);
  'saved'?: (string)[];
  'reason'?: (string);
}

export interface ArtifactsSaved__Output {
  'accepted': (boolean);
  'saved': (string)[];
  'reason': (string);
}
