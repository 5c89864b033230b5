// Original file: proto/tunehive/v1/trials.proto

import type { _tunehive_v1_TrialCommand_Action, _tunehive_v1_TrialCommand_Action__Output } from '../../tunehive/v1/TrialCommand.js';
import type { Long } from '@grpc/proto-loader';

// Original file: proto/tunehive/v1/trials.proto

export const _tunehive_v1_TrialFinished_Outcome = {
  OUTCOME_UNSPECIFIED: 'OUTCOME_UNSPECIFIED',
  OUTCOME_EXITED: 'OUTCOME_EXITED',
  OUTCOME_START_FAILED: 'OUTCOME_START_FAILED',
  OUTCOME_TIMED_OUT: 'OUTCOME_TIMED_OUT',
  OUTCOME_STOPPED: 'OUTCOME_STOPPED',
} as const;

export type _tunehive_v1_TrialFinished_Outcome =
  | 'OUTCOME_UNSPECIFIED'
  | 0
  | 'OUTCOME_EXITED'
  | 1
  | 'OUTCOME_START_FAILED'
  | 2
  | 'OUTCOME_TIMED_OUT'
  | 3
  | 'OUTCOME_STOPPED'
  | 4

export type _tunehive_v1_TrialFinished_Outcome__Output = typeof _tunehive_v1_TrialFinished_Outcome[keyof typeof _tunehive_v1_TrialFinished_Outcome]

export interface TrialFinished {
  'attempt'?: (number);
  'outcome'?: (_tunehive_v1_TrialFinished_Outcome);
  'exitCode'?: (number);
  'signal'?: (string);
  'reason'?: (string);
  'stderrTail'?: (string);
  'lastSeq'?: (number | string | Long);
  'stoppedBy'?: (_tunehive_v1_TrialCommand_Action);
  'stopLatencyMs'?: (number);
  'truncatedLines'?: (number | string | Long);
  'droppedBytes'?: (number | string | Long);
  'programStartedAtMs'?: (number | string | Long);
  'programExitedAtMs'?: (number | string | Long);
}

export interface TrialFinished__Output {
  'attempt': (number);
  'outcome': (_tunehive_v1_TrialFinished_Outcome__Output);
  'exitCode': (number);
  'signal': (string);
  'reason': (string);
  'stderrTail': (string);
  'lastSeq': (number);
  'stoppedBy': (_tunehive_v1_TrialCommand_Action__Output);
  'stopLatencyMs': (number);
  'truncatedLines': (number);
  'droppedBytes': (number);
  'programStartedAtMs': (number);
  'programExitedAtMs': (number);
}
