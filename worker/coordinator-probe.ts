/**
 * Before taking trials, the agent checks that it and the coordinator agree on TLS, so a
 * certificate it does not trust (or TLS on one side only) stops it at start with the fix,
 * instead of every trial failing later with gRPC's "No connection established". A coordinator
 * that is not up yet is not an error: the agent waits for it as before.
 */
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { ClientTls } from '../shared/tls.js';

export type ProbeResult = { ok: true; tls: boolean } | { ok: false; fatal: boolean; reason: string };

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) return { host: address, port: 443 };
  return { host: m[1]!, port: Number(m[2]) };
}

function handshake(address: string, o: tls.ConnectionOptions, timeoutMs: number): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, ALPNProtocols: ['h2'], ...(isIP(host) ? {} : { servername: host }), ...o });
    const done = (r: { ok: true } | { ok: false; code: string; message: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, code: 'ETIMEDOUT', message: `no TLS handshake within ${timeoutMs} ms` }), timeoutMs);
    socket.once('secureConnect', () => done({ ok: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, code: err.code ?? 'ERROR', message: err.message }));
  });
}

export async function probeCoordinator(address: string, client: ClientTls | undefined, timeoutMs = 3000): Promise<ProbeResult> {
  if (!client) {
    // A plain HTTP/2 server answers a ClientHello with an error; a TLS one completes it.
    const r = await handshake(address, { rejectUnauthorized: false }, timeoutMs);
    if (r.ok) {
      return { ok: false, fatal: true, reason: `the coordinator at ${address} serves TLS, and this worker was started without it: give --tls-ca FILE (the CA certificate that signed the coordinator's certificate), or --tls to trust the system's CAs` };
    }
    return { ok: true, tls: false };
  }
  const r = await handshake(address, {
    rejectUnauthorized: true,
    ...(client.ca ? { ca: client.ca } : {}),
    ...(client.cert && client.key ? { cert: client.cert, key: client.key } : {}),
    ...(client.serverName ? { servername: client.serverName } : {}),
  }, timeoutMs);
  if (r.ok) return { ok: true, tls: true };
  if (UNREACHABLE.has(r.code)) return { ok: false, fatal: false, reason: `coordinator ${address} not reachable yet (${r.code})` };
  if (/WRONG_VERSION_NUMBER|EPROTO|ECONNRESET|socket disconnected|packet length too long/i.test(`${r.code} ${r.message}`)) {
    return { ok: false, fatal: true, reason: `the coordinator at ${address} does not complete a TLS handshake (${r.message}): it probably serves clear text; start it with --tls-cert/--tls-key, or start this worker without --tls/--tls-ca` };
  }
  return {
    ok: false, fatal: true,
    reason: `the coordinator's TLS certificate at ${address} is not trusted: ${r.message} (${r.code}). ` +
      `Give --tls-ca FILE with the CA certificate that signed it (for a self-signed certificate, the certificate itself)${client.serverName ? '' : ', and --tls-server-name NAME if it was issued for another name than the address'}.`,
  };
}
