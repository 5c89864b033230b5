/**
 * Redis MONITOR over a plain socket: the commands clients send, as the server sees them. Not
 * ioredis's monitor(), whose reply parser can fail with "Command queue state error" when
 * monitor lines arrive around the mode switch (seen in CI).
 */
import net from 'node:net';

export interface MonitoredCommand { args: string[]; source: string; /** The client's address (ip:port), as CLIENT LIST names it. */ addr?: string }

export interface RedisMonitor {
  readonly seen: MonitoredCommand[];
  close(): void;
}

/** Resolves once the server has confirmed MONITOR. */
export function monitorRedis(url: string): Promise<RedisMonitor> {
  const u = new URL(url);
  const seen: MonitoredCommand[] = [];
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port || 6379), u.hostname);
    let buffer = '';
    let oks = 0;
    const wanted = u.password ? 2 : 1;
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('connect', () => {
      const user = decodeURIComponent(u.username || 'default');
      if (u.password) socket.write(`AUTH ${user} ${decodeURIComponent(u.password)}\r\n`);
      socket.write('MONITOR\r\n');
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (line.startsWith('-')) return reject(new Error(`redis: ${line}`));
        if (line === '+OK' && oks < wanted) {
          if (++oks === wanted) resolve({ seen, close: () => socket.destroy() });
          continue;
        }
        // +<time> [<db> <client or "lua">] "cmd" "arg" ...
        const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
        if (!m) continue;
        const args = [...m[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1]!.replace(/\\(.)/g, '$1'));
        seen.push({ args, source: m[1] === 'lua' ? 'lua' : 'client', ...(m[1] === 'lua' ? {} : { addr: m[1]!.split(' ').pop()! }) });
      }
    });
  });
}
