/** Certificates generated in the test (selfsigned), and a fetch that trusts a given CA. */
import https from 'node:https';
import { generate } from 'selfsigned';

export interface TestCert { cert: Buffer; key: Buffer; clientCert: Buffer; clientKey: Buffer }

/** A self-signed certificate for localhost and 127.0.0.1 (its own CA), with a client certificate it signed. */
export async function testCertificate(cn = 'localhost'): Promise<TestCert> {
  const r = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
    clientCertificate: { cn: 'tunehive-worker' },
  });
  return { cert: Buffer.from(r.cert), key: Buffer.from(r.private), clientCert: Buffer.from(r.clientcert!), clientKey: Buffer.from(r.clientprivate!) };
}

/** Enough of fetch for the test helpers (status and JSON), over HTTPS trusting `ca`. */
export function fetchTrusting(ca: Buffer): typeof fetch {
  return (async (url: string | URL, init: RequestInit = {}) => {
    const body = typeof init.body === 'string' ? init.body : undefined;
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(url, { method: init.method ?? 'GET', headers, ca }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    return { status, ok: status < 400, json: async () => JSON.parse(text), text: async () => text } as Response;
  }) as typeof fetch;
}
