/**
 * TLS for the coordinator's two ports (HTTP and gRPC) and the worker's gRPC client, from PEM
 * files, and the rule that no server listens beyond loopback in the clear unless told to.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { TunehiveError } from './errors.js';

/** The coordinator's certificate and key; with `ca`, gRPC clients must present a certificate it signed. */
export interface ServerTls { cert: Buffer; key: Buffer; ca?: Buffer }
/** What a worker trusts (`ca`; system roots when absent) and the certificate it presents when asked. */
export interface ClientTls { ca?: Buffer; cert?: Buffer; key?: Buffer; serverName?: string }

function readPem(file: string, flag: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new TunehiveError('TH_ERR_CONFIG_TLS', `${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  if (!pem.toString('latin1').includes('-----BEGIN ')) throw new TunehiveError('TH_ERR_CONFIG_TLS', `${flag}: ${file} is not a PEM file (no -----BEGIN line)`);
  return pem;
}

export function readServerTls(f: { certFile?: string; keyFile?: string; caFile?: string }): ServerTls | undefined {
  if (!f.certFile && !f.keyFile) {
    if (f.caFile) throw new TunehiveError('TH_ERR_CONFIG_TLS', '--tls-ca (client certificates) needs --tls-cert and --tls-key too');
    return undefined;
  }
  if (!f.certFile || !f.keyFile) throw new TunehiveError('TH_ERR_CONFIG_TLS', 'TLS needs both --tls-cert FILE and --tls-key FILE');
  return { cert: readPem(f.certFile, '--tls-cert'), key: readPem(f.keyFile, '--tls-key'), ...(f.caFile ? { ca: readPem(f.caFile, '--tls-ca') } : {}) };
}

export function readClientTls(f: { tls?: boolean; caFile?: string; certFile?: string; keyFile?: string; serverName?: string }): ClientTls | undefined {
  if (!f.tls && !f.caFile && !f.certFile && !f.keyFile) return undefined;
  if (!!f.certFile !== !!f.keyFile) throw new TunehiveError('TH_ERR_CONFIG_TLS', 'a client certificate needs both --tls-cert FILE and --tls-key FILE');
  return {
    ...(f.caFile ? { ca: readPem(f.caFile, '--tls-ca') } : {}),
    ...(f.certFile && f.keyFile ? { cert: readPem(f.certFile, '--tls-cert'), key: readPem(f.keyFile, '--tls-key') } : {}),
    ...(f.serverName ? { serverName: f.serverName } : {}),
  };
}

export function grpcServerCredentials(tls: ServerTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.ca !== undefined);
}

export function grpcClientCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/** Channel options a client's TLS needs (a certificate issued for another name than the address). */
export function grpcClientOptions(tls: ClientTls | undefined): grpc.ChannelOptions {
  return tls?.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {};
}

/** 127.0.0.0/8, ::1 and localhost: what only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped ? mapped[1]!.startsWith('127.') : false;
}

/**
 * Refuses a clear-text server beyond loopback: tokens and worker credentials would cross the
 * network readable by anyone on it. `--insecure` is the operator saying a private network
 * (a Kubernetes NetworkPolicy, a VPN) protects it.
 */
export function checkBind(host: string, tls: ServerTls | undefined, insecure: boolean | undefined): void {
  if (tls || insecure || isLoopbackHost(host)) return;
  throw new TunehiveError('TH_ERR_CONFIG_INSECURE',
    `refusing to serve HTTP and gRPC without TLS on ${host}, which is not a loopback address: API tokens and worker credentials would cross the network in clear text. ` +
    'Give --tls-cert FILE --tls-key FILE (and --tls-ca FILE to require worker client certificates), bind --host 127.0.0.1, ' +
    'or pass --insecure if a private network you control (a Kubernetes NetworkPolicy, a VPN) protects these ports. See SECURITY.md.');
}
