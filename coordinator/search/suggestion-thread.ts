/**
 * Entry point of a suggestion worker thread (started by ThreadSuggestionService). It answers
 * each plain SuggestRequest with suggestNow's result, one at a time, so a heavy sampler's model
 * fitting never runs on the coordinator's event loop.
 */
import { parentPort } from 'node:worker_threads';
import { suggestNow } from './suggest.js';
import type { ThreadReply, ThreadRequest } from './suggestion-pool.js';

const port = parentPort;
if (!port) throw new Error('suggestion-thread must be started as a worker thread');

port.on('message', ({ id, req }: ThreadRequest) => {
  let reply: ThreadReply;
  try {
    reply = { id, ok: true, params: suggestNow(req) };
  } catch (err) {
    reply = { id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
