// Original file: proto/tunehive/v1/trials.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ArtifactChunk as _tunehive_v1_ArtifactChunk, ArtifactChunk__Output as _tunehive_v1_ArtifactChunk__Output } from '../../tunehive/v1/ArtifactChunk.js';
import type { ArtifactsSaved as _tunehive_v1_ArtifactsSaved, ArtifactsSaved__Output as _tunehive_v1_ArtifactsSaved__Output } from '../../tunehive/v1/ArtifactsSaved.js';
import type { CheckpointChunk as _tunehive_v1_CheckpointChunk, CheckpointChunk__Output as _tunehive_v1_CheckpointChunk__Output } from '../../tunehive/v1/CheckpointChunk.js';
import type { CheckpointRequest as _tunehive_v1_CheckpointRequest, CheckpointRequest__Output as _tunehive_v1_CheckpointRequest__Output } from '../../tunehive/v1/CheckpointRequest.js';
import type { CheckpointSaved as _tunehive_v1_CheckpointSaved, CheckpointSaved__Output as _tunehive_v1_CheckpointSaved__Output } from '../../tunehive/v1/CheckpointSaved.js';
import type { CoordinatorMessage as _tunehive_v1_CoordinatorMessage, CoordinatorMessage__Output as _tunehive_v1_CoordinatorMessage__Output } from '../../tunehive/v1/CoordinatorMessage.js';
import type { JoinReply as _tunehive_v1_JoinReply, JoinReply__Output as _tunehive_v1_JoinReply__Output } from '../../tunehive/v1/JoinReply.js';
import type { JoinRequest as _tunehive_v1_JoinRequest, JoinRequest__Output as _tunehive_v1_JoinRequest__Output } from '../../tunehive/v1/JoinRequest.js';
import type { WorkerMessage as _tunehive_v1_WorkerMessage, WorkerMessage__Output as _tunehive_v1_WorkerMessage__Output } from '../../tunehive/v1/WorkerMessage.js';

export interface TrialServiceClient extends grpc.Client {
  DownloadCheckpoint(argument: _tunehive_v1_CheckpointRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_tunehive_v1_CheckpointChunk__Output>;
  DownloadCheckpoint(argument: _tunehive_v1_CheckpointRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_tunehive_v1_CheckpointChunk__Output>;
  downloadCheckpoint(argument: _tunehive_v1_CheckpointRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_tunehive_v1_CheckpointChunk__Output>;
  downloadCheckpoint(argument: _tunehive_v1_CheckpointRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_tunehive_v1_CheckpointChunk__Output>;
  
  Join(argument: _tunehive_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _tunehive_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _tunehive_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _tunehive_v1_JoinRequest, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _tunehive_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _tunehive_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _tunehive_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _tunehive_v1_JoinRequest, callback: grpc.requestCallback<_tunehive_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  
  RunTrial(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_tunehive_v1_WorkerMessage, _tunehive_v1_CoordinatorMessage__Output>;
  RunTrial(options?: grpc.CallOptions): grpc.ClientDuplexStream<_tunehive_v1_WorkerMessage, _tunehive_v1_CoordinatorMessage__Output>;
  runTrial(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_tunehive_v1_WorkerMessage, _tunehive_v1_CoordinatorMessage__Output>;
  runTrial(options?: grpc.CallOptions): grpc.ClientDuplexStream<_tunehive_v1_WorkerMessage, _tunehive_v1_CoordinatorMessage__Output>;
  
  UploadArtifacts(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  UploadArtifacts(metadata: grpc.Metadata, callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  UploadArtifacts(options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  UploadArtifacts(callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  uploadArtifacts(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  uploadArtifacts(metadata: grpc.Metadata, callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  uploadArtifacts(options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  uploadArtifacts(callback: grpc.requestCallback<_tunehive_v1_ArtifactsSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_ArtifactChunk>;
  
  UploadCheckpoint(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  UploadCheckpoint(metadata: grpc.Metadata, callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  UploadCheckpoint(options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  UploadCheckpoint(callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  uploadCheckpoint(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  uploadCheckpoint(metadata: grpc.Metadata, callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  uploadCheckpoint(options: grpc.CallOptions, callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  uploadCheckpoint(callback: grpc.requestCallback<_tunehive_v1_CheckpointSaved__Output>): grpc.ClientWritableStream<_tunehive_v1_CheckpointChunk>;
  
}

export interface TrialServiceHandlers extends grpc.UntypedServiceImplementation {
  DownloadCheckpoint: grpc.handleServerStreamingCall<_tunehive_v1_CheckpointRequest__Output, _tunehive_v1_CheckpointChunk>;
  
  Join: grpc.handleUnaryCall<_tunehive_v1_JoinRequest__Output, _tunehive_v1_JoinReply>;
  
  RunTrial: grpc.handleBidiStreamingCall<_tunehive_v1_WorkerMessage__Output, _tunehive_v1_CoordinatorMessage>;
  
  UploadArtifacts: grpc.handleClientStreamingCall<_tunehive_v1_ArtifactChunk__Output, _tunehive_v1_ArtifactsSaved>;
  
  UploadCheckpoint: grpc.handleClientStreamingCall<_tunehive_v1_CheckpointChunk__Output, _tunehive_v1_CheckpointSaved>;
  
}

export interface TrialServiceDefinition extends grpc.ServiceDefinition {
  DownloadCheckpoint: MethodDefinition<_tunehive_v1_CheckpointRequest, _tunehive_v1_CheckpointChunk, _tunehive_v1_CheckpointRequest__Output, _tunehive_v1_CheckpointChunk__Output>
  Join: MethodDefinition<_tunehive_v1_JoinRequest, _tunehive_v1_JoinReply, _tunehive_v1_JoinRequest__Output, _tunehive_v1_JoinReply__Output>
  RunTrial: MethodDefinition<_tunehive_v1_WorkerMessage, _tunehive_v1_CoordinatorMessage, _tunehive_v1_WorkerMessage__Output, _tunehive_v1_CoordinatorMessage__Output>
  UploadArtifacts: MethodDefinition<_tunehive_v1_ArtifactChunk, _tunehive_v1_ArtifactsSaved, _tunehive_v1_ArtifactChunk__Output, _tunehive_v1_ArtifactsSaved__Output>
  UploadCheckpoint: MethodDefinition<_tunehive_v1_CheckpointChunk, _tunehive_v1_CheckpointSaved, _tunehive_v1_CheckpointChunk__Output, _tunehive_v1_CheckpointSaved__Output>
}
