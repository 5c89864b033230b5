/**
 * Pulling an image through the engine. The pull endpoint answers 200 and then streams JSON
 * progress lines; a failure (unknown image, denied) arrives as an `error` line inside that 200,
 * so the whole stream has to be read to know whether the pull worked.
 */
import { type DockerEngineClient, EngineError, engineMessage } from './engine-client.js';

/** Splits a reference for ?fromImage=&tag=; an untagged pull would fetch every tag of the repository. */
export function splitImageRef(ref: string): { fromImage: string; tag: string | undefined } {
  if (ref.includes('@')) return { fromImage: ref, tag: undefined }; // a digest pins it already
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  // A colon before the last slash belongs to a registry port (localhost:5000/img).
  if (colon > slash) return { fromImage: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { fromImage: ref, tag: 'latest' };
}

export async function pullImage(engine: DockerEngineClient, ref: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const { fromImage, tag } = splitImageRef(ref);
  // Closing the connection is how a pull is cancelled (the engine stops when its client goes).
  const reply = await engine.call('POST', '/images/create', { query: { fromImage, tag }, timeoutMs, signal });
  if (reply.status !== 200) throw new EngineError(reply.status, engineMessage(reply.body) || `pull answered HTTP ${reply.status}`);
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let msg: { error?: unknown; errorDetail?: { message?: unknown } };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      continue; // progress lines only; a garbled one carries no verdict
    }
    const err = msg.errorDetail?.message ?? msg.error;
    if (typeof err === 'string' && err !== '') throw new EngineError(500, err);
  }
}
