import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _tunehive_v1_Ack, Ack__Output as _tunehive_v1_Ack__Output } from './tunehive/v1/Ack.js';
import type { ArtifactChunk as _tunehive_v1_ArtifactChunk, ArtifactChunk__Output as _tunehive_v1_ArtifactChunk__Output } from './tunehive/v1/ArtifactChunk.js';
import type { ArtifactsSaved as _tunehive_v1_ArtifactsSaved, ArtifactsSaved__Output as _tunehive_v1_ArtifactsSaved__Output } from './tunehive/v1/ArtifactsSaved.js';
import type { CheckpointChunk as _tunehive_v1_CheckpointChunk, CheckpointChunk__Output as _tunehive_v1_CheckpointChunk__Output } from './tunehive/v1/CheckpointChunk.js';
import type { CheckpointFile as _tunehive_v1_CheckpointFile, CheckpointFile__Output as _tunehive_v1_CheckpointFile__Output } from './tunehive/v1/CheckpointFile.js';
import type { CheckpointRequest as _tunehive_v1_CheckpointRequest, CheckpointRequest__Output as _tunehive_v1_CheckpointRequest__Output } from './tunehive/v1/CheckpointRequest.js';
import type { CheckpointSaved as _tunehive_v1_CheckpointSaved, CheckpointSaved__Output as _tunehive_v1_CheckpointSaved__Output } from './tunehive/v1/CheckpointSaved.js';
import type { CoordinatorMessage as _tunehive_v1_CoordinatorMessage, CoordinatorMessage__Output as _tunehive_v1_CoordinatorMessage__Output } from './tunehive/v1/CoordinatorMessage.js';
import type { FinishAck as _tunehive_v1_FinishAck, FinishAck__Output as _tunehive_v1_FinishAck__Output } from './tunehive/v1/FinishAck.js';
import type { Gpu as _tunehive_v1_Gpu, Gpu__Output as _tunehive_v1_Gpu__Output } from './tunehive/v1/Gpu.js';
import type { Hardware as _tunehive_v1_Hardware, Hardware__Output as _tunehive_v1_Hardware__Output } from './tunehive/v1/Hardware.js';
import type { Heartbeat as _tunehive_v1_Heartbeat, Heartbeat__Output as _tunehive_v1_Heartbeat__Output } from './tunehive/v1/Heartbeat.js';
import type { JoinReply as _tunehive_v1_JoinReply, JoinReply__Output as _tunehive_v1_JoinReply__Output } from './tunehive/v1/JoinReply.js';
import type { JoinRequest as _tunehive_v1_JoinRequest, JoinRequest__Output as _tunehive_v1_JoinRequest__Output } from './tunehive/v1/JoinRequest.js';
import type { MetricBatch as _tunehive_v1_MetricBatch, MetricBatch__Output as _tunehive_v1_MetricBatch__Output } from './tunehive/v1/MetricBatch.js';
import type { MetricColumns as _tunehive_v1_MetricColumns, MetricColumns__Output as _tunehive_v1_MetricColumns__Output } from './tunehive/v1/MetricColumns.js';
import type { MetricPoint as _tunehive_v1_MetricPoint, MetricPoint__Output as _tunehive_v1_MetricPoint__Output } from './tunehive/v1/MetricPoint.js';
import type { MetricsCollector as _tunehive_v1_MetricsCollector, MetricsCollector__Output as _tunehive_v1_MetricsCollector__Output } from './tunehive/v1/MetricsCollector.js';
import type { ProvenanceReport as _tunehive_v1_ProvenanceReport, ProvenanceReport__Output as _tunehive_v1_ProvenanceReport__Output } from './tunehive/v1/ProvenanceReport.js';
import type { RerunCheck as _tunehive_v1_RerunCheck, RerunCheck__Output as _tunehive_v1_RerunCheck__Output } from './tunehive/v1/RerunCheck.js';
import type { StartReply as _tunehive_v1_StartReply, StartReply__Output as _tunehive_v1_StartReply__Output } from './tunehive/v1/StartReply.js';
import type { TagReport as _tunehive_v1_TagReport, TagReport__Output as _tunehive_v1_TagReport__Output } from './tunehive/v1/TagReport.js';
import type { TrialCommand as _tunehive_v1_TrialCommand, TrialCommand__Output as _tunehive_v1_TrialCommand__Output } from './tunehive/v1/TrialCommand.js';
import type { TrialFinished as _tunehive_v1_TrialFinished, TrialFinished__Output as _tunehive_v1_TrialFinished__Output } from './tunehive/v1/TrialFinished.js';
import type { TrialLimits as _tunehive_v1_TrialLimits, TrialLimits__Output as _tunehive_v1_TrialLimits__Output } from './tunehive/v1/TrialLimits.js';
import type { TrialServiceClient as _tunehive_v1_TrialServiceClient, TrialServiceDefinition as _tunehive_v1_TrialServiceDefinition } from './tunehive/v1/TrialService.js';
import type { TrialStarted as _tunehive_v1_TrialStarted, TrialStarted__Output as _tunehive_v1_TrialStarted__Output } from './tunehive/v1/TrialStarted.js';
import type { TrialTemplate as _tunehive_v1_TrialTemplate, TrialTemplate__Output as _tunehive_v1_TrialTemplate__Output } from './tunehive/v1/TrialTemplate.js';
import type { WorkerMessage as _tunehive_v1_WorkerMessage, WorkerMessage__Output as _tunehive_v1_WorkerMessage__Output } from './tunehive/v1/WorkerMessage.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  tunehive: {
    v1: {
      Ack: MessageTypeDefinition<_tunehive_v1_Ack, _tunehive_v1_Ack__Output>
      ArtifactChunk: MessageTypeDefinition<_tunehive_v1_ArtifactChunk, _tunehive_v1_ArtifactChunk__Output>
      ArtifactsSaved: MessageTypeDefinition<_tunehive_v1_ArtifactsSaved, _tunehive_v1_ArtifactsSaved__Output>
      CheckpointChunk: MessageTypeDefinition<_tunehive_v1_CheckpointChunk, _tunehive_v1_CheckpointChunk__Output>
      CheckpointFile: MessageTypeDefinition<_tunehive_v1_CheckpointFile, _tunehive_v1_CheckpointFile__Output>
      CheckpointRequest: MessageTypeDefinition<_tunehive_v1_CheckpointRequest, _tunehive_v1_CheckpointRequest__Output>
      CheckpointSaved: MessageTypeDefinition<_tunehive_v1_CheckpointSaved, _tunehive_v1_CheckpointSaved__Output>
      CoordinatorMessage: MessageTypeDefinition<_tunehive_v1_CoordinatorMessage, _tunehive_v1_CoordinatorMessage__Output>
      FinishAck: MessageTypeDefinition<_tunehive_v1_FinishAck, _tunehive_v1_FinishAck__Output>
      Gpu: MessageTypeDefinition<_tunehive_v1_Gpu, _tunehive_v1_Gpu__Output>
      Hardware: MessageTypeDefinition<_tunehive_v1_Hardware, _tunehive_v1_Hardware__Output>
      Heartbeat: MessageTypeDefinition<_tunehive_v1_Heartbeat, _tunehive_v1_Heartbeat__Output>
      JoinReply: MessageTypeDefinition<_tunehive_v1_JoinReply, _tunehive_v1_JoinReply__Output>
      JoinRequest: MessageTypeDefinition<_tunehive_v1_JoinRequest, _tunehive_v1_JoinRequest__Output>
      MetricBatch: MessageTypeDefinition<_tunehive_v1_MetricBatch, _tunehive_v1_MetricBatch__Output>
      MetricColumns: MessageTypeDefinition<_tunehive_v1_MetricColumns, _tunehive_v1_MetricColumns__Output>
      MetricPoint: MessageTypeDefinition<_tunehive_v1_MetricPoint, _tunehive_v1_MetricPoint__Output>
      MetricsCollector: MessageTypeDefinition<_tunehive_v1_MetricsCollector, _tunehive_v1_MetricsCollector__Output>
      ProvenanceReport: MessageTypeDefinition<_tunehive_v1_ProvenanceReport, _tunehive_v1_ProvenanceReport__Output>
      RerunCheck: MessageTypeDefinition<_tunehive_v1_RerunCheck, _tunehive_v1_RerunCheck__Output>
      StartReply: MessageTypeDefinition<_tunehive_v1_StartReply, _tunehive_v1_StartReply__Output>
      TagReport: MessageTypeDefinition<_tunehive_v1_TagReport, _tunehive_v1_TagReport__Output>
      TrialCommand: MessageTypeDefinition<_tunehive_v1_TrialCommand, _tunehive_v1_TrialCommand__Output>
      TrialFinished: MessageTypeDefinition<_tunehive_v1_TrialFinished, _tunehive_v1_TrialFinished__Output>
      TrialLimits: MessageTypeDefinition<_tunehive_v1_TrialLimits, _tunehive_v1_TrialLimits__Output>
      TrialService: SubtypeConstructor<typeof grpc.Client, _tunehive_v1_TrialServiceClient> & { service: _tunehive_v1_TrialServiceDefinition }
      TrialStarted: MessageTypeDefinition<_tunehive_v1_TrialStarted, _tunehive_v1_TrialStarted__Output>
      TrialTemplate: MessageTypeDefinition<_tunehive_v1_TrialTemplate, _tunehive_v1_TrialTemplate__Output>
      WorkerMessage: MessageTypeDefinition<_tunehive_v1_WorkerMessage, _tunehive_v1_WorkerMessage__Output>
    }
  }
}

