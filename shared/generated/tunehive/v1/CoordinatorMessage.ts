// Original file: proto/tunehive/v1/trials.proto

import type { StartReply as _tunehive_v1_StartReply, StartReply__Output as _tunehive_v1_StartReply__Output } from '../../tunehive/v1/StartReply.js';
import type { Ack as _tunehive_v1_Ack, Ack__Output as _tunehive_v1_Ack__Output } from '../../tunehive/v1/Ack.js';
import type { TrialCommand as _tunehive_v1_TrialCommand, TrialCommand__Output as _tunehive_v1_TrialCommand__Output } from '../../tunehive/v1/TrialCommand.js';
import type { FinishAck as _tunehive_v1_FinishAck, FinishAck__Output as _tunehive_v1_FinishAck__Output } from '../../tunehive/v1/FinishAck.js';

export interface CoordinatorMessage {
  'startReply'?: (_tunehive_v1_StartReply | null);
  'ack'?: (_tunehive_v1_Ack | null);
  'command'?: (_tunehive_v1_TrialCommand | null);
  'finishAck'?: (_tunehive_v1_FinishAck | null);
  'body'?: "startReply"|"ack"|"command"|"finishAck";
}

export interface CoordinatorMessage__Output {
  'startReply'?: (_tunehive_v1_StartReply__Output | null);
  'ack'?: (_tunehive_v1_Ack__Output | null);
  'command'?: (_tunehive_v1_TrialCommand__Output | null);
  'finishAck'?: (_tunehive_v1_FinishAck__Output | null);
}
