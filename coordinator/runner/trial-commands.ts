/**
 * Commands to running trials (stop, prune, pause), delivered on the trial's open gRPC stream.
 * Streams register here while open. A trial whose stream is on another replica, or mid-reconnect,
 * learns the same thing from the reply to its next heartbeat, so no command depends on this map.
 */
import type { CommandAction } from '../../shared/proto.js';

export type CommandSink = (action: CommandAction, reason: string) => void;

export class TrialCommands {
  private readonly sinks = new Map<string, CommandSink>();

  register(trialId: string, sink: CommandSink): () => void {
    this.sinks.set(trialId, sink);
    return () => {
      if (this.sinks.get(trialId) === sink) this.sinks.delete(trialId);
    };
  }

  send(trialId: string, action: CommandAction, reason: string): boolean {
    const sink = this.sinks.get(trialId);
    sink?.(action, reason);
    return sink !== undefined;
  }

  /** Whether the trial's attempt has its stream open on this replica. */
  isOpen(trialId: string): boolean {
    return this.sinks.has(trialId);
  }

  get connected(): number {
    return this.sinks.size;
  }
}
