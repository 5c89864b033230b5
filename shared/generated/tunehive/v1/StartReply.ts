// Original file: proto/tunehive/v1/trials.proto

import type { TrialTemplate as _tunehive_v1_TrialTemplate, TrialTemplate__Output as _tunehive_v1_TrialTemplate__Output } from '../../tunehive/v1/TrialTemplate.js';
import type { RerunCheck as _tunehive_v1_RerunCheck, RerunCheck__Output as _tunehive_v1_RerunCheck__Output } from '../../tunehive/v1/RerunCheck.js';
import type { Long } from '@grpc/proto-loader';

// Original file: proto/tunehive/v1/trials.proto

export const _tunehive_v1_StartReply_Action = {
  ACTION_UNSPECIFIED: 'ACTION_UNSPECIFIED',
  ACTION_RUN: 'ACTION_RUN',
  ACTION_SKIP: 'ACTION_SKIP',
} as const;

export type _tunehive_v1_StartReply_Action =
  | 'ACTION_UNSPECIFIED'
  | 0
  | 'ACTION_RUN'
  | 1
  | 'ACTION_SKIP'
  | 2

export type _tunehive_v1_StartReply_Action__Output = typeof _tunehive_v1_StartReply_Action[keyof typeof _tunehive_v1_StartReply_Action]

export interface StartReply {
  'action'?: (_tunehive_v1_StartReply_Action);
  'attempt'?: (number);
  'reason'?: (string);
  'checkpointId'?: (string);
  'checkpointStep'?: (number | string | Long);
  'budget'?: (number | string | Long);
  'attemptSecret'?: (string);
  'template'?: (_tunehive_v1_TrialTemplate | null);
  'paramsJson'?: (string);
  'seed'?: (number);
  'rerunCheck'?: (_tunehive_v1_RerunCheck | null);
  'mlflowTrackingUri'?: (string);
  'mlflowTrackingToken'?: (string);
  'mlflowRunId'?: (string);
  'mlflowExperimentId'?: (string);
  'packedMetrics'?: (boolean);
}

export interface StartReply__Output {
  'action': (_tunehive_v1_StartReply_Action__Output);
  'attempt': (number);
  'reason': (string);
  'checkpointId': (string);
  'checkpointStep': (number);
  'budget': (number);
  'attemptSecret': (string);
  'template': (_tunehive_v1_TrialTemplate__Output | null);
  'paramsJson': (string);
  'seed': (number);
  'rerunCheck': (_tunehive_v1_RerunCheck__Output | null);
  'mlflowTrackingUri': (string);
  'mlflowTrackingToken': (string);
  'mlflowRunId': (string);
  'mlflowExperimentId': (string);
  'packedMetrics': (boolean);
}
