/**
 * One HTTP request over a keep-alive agent, answered as status + text: what the HTTP benchmarks
 * (bench:auth, bench:mlflow) time, with no client library between them and the server.
 */
import http from 'node:http';

export function httpRequest(agent: http.Agent, base: string, method: string, url: string, o: { token?: string; body?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const req = http.request(`${base}${url}`, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}
