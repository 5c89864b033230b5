// Original file: proto/tunehive/v1/trials.proto

import type { TrialStarted as _tunehive_v1_TrialStarted, TrialStarted__Output as _tunehive_v1_TrialStarted__Output } from '../../tunehive/v1/TrialStarted.js';
import type { MetricBatch as _tunehive_v1_MetricBatch, MetricBatch__Output as _tunehive_v1_MetricBatch__Output } from '../../tunehive/v1/MetricBatch.js';
import type { Heartbeat as _tunehive_v1_Heartbeat, Heartbeat__Output as _tunehive_v1_Heartbeat__Output } from '../../tunehive/v1/Heartbeat.js';
import type { TrialFinished as _tunehive_v1_TrialFinished, TrialFinished__Output as _tunehive_v1_TrialFinished__Output } from '../../tunehive/v1/TrialFinished.js';
import type { ProvenanceReport as _tunehive_v1_ProvenanceReport, ProvenanceReport__Output as _tunehive_v1_ProvenanceReport__Output } from '../../tunehive/v1/ProvenanceReport.js';
import type { TagReport as _tunehive_v1_TagReport, TagReport__Output as _tunehive_v1_TagReport__Output } from '../../tunehive/v1/TagReport.js';

export interface WorkerMessage {
  'started'?: (_tunehive_v1_TrialStarted | null);
  'metrics'?: (_tunehive_v1_MetricBatch | null);
  'heartbeat'?: (_tunehive_v1_Heartbeat | null);
  'finished'?: (_tunehive_v1_TrialFinished | null);
  'provenance'?: (_tunehive_v1_ProvenanceReport | null);
  'tags'?: (_tunehive_v1_TagReport | null);
  'body'?: "started"|"metrics"|"heartbeat"|"finished"|"provenance"|"tags";
}

export interface WorkerMessage__Output {
  'started'?: (_tunehive_v1_TrialStarted__Output | null);
  'metrics'?: (_tunehive_v1_MetricBatch__Output | null);
  'heartbeat'?: (_tunehive_v1_Heartbeat__Output | null);
  'finished'?: (_tunehive_v1_TrialFinished__Output | null);
  'provenance'?: (_tunehive_v1_ProvenanceReport__Output | null);
  'tags'?: (_tunehive_v1_TagReport__Output | null);
}
