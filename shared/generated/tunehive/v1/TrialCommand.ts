// Original file: proto/tunehive/v1/trials.proto


// Original file: proto/tunehive/v1/trials.proto

export const _tunehive_v1_TrialCommand_Action = {
  ACTION_UNSPECIFIED: 'ACTION_UNSPECIFIED',
  ACTION_STOP: 'ACTION_STOP',
  ACTION_PRUNE: 'ACTION_PRUNE',
  ACTION_PAUSE: 'ACTION_PAUSE',
} as const;

export type _tunehive_v1_TrialCommand_Action =
  | 'ACTION_UNSPECIFIED'
  | 0
  | 'ACTION_STOP'
  | 1
  | 'ACTION_PRUNE'
  | 2
  | 'ACTION_PAUSE'
  | 3

export type _tunehive_v1_TrialCommand_Action__Output = typeof _tunehive_v1_TrialCommand_Action[keyof typeof _tunehive_v1_TrialCommand_Action]

export interface TrialCommand {
  'action'?: (_tunehive_v1_TrialCommand_Action);
  'reason'?: (string);
}

export interface TrialCommand__Output {
  'action': (_tunehive_v1_TrialCommand_Action__Output);
  'reason': (string);
}
